import Glibc
import OffloadSystem

/// A test-worker process started as a pool's parent ("parent" and its variants in the fixture's `main.swift`), for the
/// tests that SIGKILL a parent and check what it leaves behind.
struct OrphanMaker {
    /// The parent's PID.
    let pid: pid_t
    /// The first lines the parent printed (the first is "pids <a> <b>").
    let lines: [String]

    /// The worker PIDs the parent announced.
    var workers: [Int32] { lines.first.map { $0.split(separator: " ").dropFirst().compactMap { Int32($0) } } ?? [] }

    /// The fork server's PID, when the parent's pool has one it did not count among the workers (`server=<pid>` on
    /// the first line: a pool on the fork server only because `OFFLOAD_TEST_START_METHOD=forkserver` said so).
    var forkServer: Int32? {
        lines.first?.split(separator: " ").lazy.compactMap { $0.hasPrefix("server=") ? Int32($0.dropFirst(7)) : nil }
            .first
    }

    /// Starts the fixture with `arguments` and reads `lines` lines of its standard output.
    init(_ arguments: [String], lines count: Int = 1) {
        var pipe: [Int32] = [-1, -1]
        precondition(Glibc.pipe(&pipe) == 0, "pipe")
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipe[1], 1)
        posix_spawn_file_actions_addclose(&actions, pipe[0])
        var pid: pid_t = 0
        let path = TestWorker.path
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        precondition(posix_spawn(&pid, path, &actions, nil, argv, environ) == 0, "posix_spawn \(path)")
        close(pipe[1])
        var text: [UInt8] = []
        var byte: UInt8 = 0
        while text.filter({ $0 == UInt8(ascii: "\n") }).count < count, read(pipe[0], &byte, 1) == 1 { text.append(byte) }
        close(pipe[0])
        self.pid = pid
        self.lines = String(decoding: text, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    /// SIGKILLs the parent, reaps it, and waits (up to ten seconds) for every worker's exit — and the fork server's,
    /// if any — on its pidfd; a pidfd of any process becomes readable when it exits, child or not. Returns whether
    /// they are all gone.
    func killParentAndAwaitWorkers() -> Bool {
        let everyPID = workers + (forkServer.map { [$0] } ?? [])
        let pidfds = everyPID.map { Syscalls.pidfdOpen($0) }
        defer { for fd in pidfds { Syscalls.close(fd) } }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        // A worker already gone has no pidfd (ESRCH): nothing to wait for.
        var waiting = pidfds.filter { $0 >= 0 }.map { Syscalls.PollEntry(fd: $0) }
        let deadline = ContinuousClock.now + .seconds(10)
        while !waiting.isEmpty, ContinuousClock.now < deadline {
            Syscalls.poll(&waiting, timeoutMilliseconds: 10_000)
            waiting.removeAll { $0.ready }
        }
        return everyPID.allSatisfy { TestWorker.isGone($0) }
    }
}
