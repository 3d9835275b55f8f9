import Offload
import OffloadSystem
import OffloadTestJobs
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension String {
    /// The whole content of `fd` (closed afterwards), decoded as UTF-8.
    init(contentsOfFileDescriptor fd: Int32) throws {
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = read(fd, &chunk, chunk.count)
            if count <= 0 { break }
            bytes += chunk[..<count]
        }
        self = String(decoding: bytes, as: UTF8.self)
    }
}

/// Leaks and orphans, checked in isolated processes (exit tests) so that other suites' pools do not disturb counts.
@Suite(.serialized, .timeLimit(.minutes(1)))
struct LeakTests {
    @Test("after shutdown: no leaked descriptors, no child processes, no zombies — even after crashes and timeouts")
    func noLeaksAfterShutdown() async {
        await #expect(processExitsWith: .success) {
            // Warm up once: the runtime and Dispatch open descriptors lazily on first use; they are not leaks.
            try await withProcessPool(configuration: TestWorker.configuration(workers: 1)) { pool in _ = try await pool.run(Square(1))
            }
            let descriptorsBefore = TestWorker.openDescriptorCount()
            for _ in 0..<3 {
                let configuration = TestWorker.configuration(workers: 2) { $0.taskTimeout = .milliseconds(500) }
                let pool = try ProcessPool(configuration: configuration)
                _ = try await pool.map((0..<100).map(Square.init))
                _ = try? await pool.run(Die(.sigsegv))
                _ = try? await pool.run(Sleep(milliseconds: 10_000))
                _ = try? await pool.run(BigOutput(bytes: 1 << 20, dieAfterWriting: 70_000))
                await pool.shutdown()
            }
            let descriptorsAfter = TestWorker.openDescriptorCount()
            guard descriptorsAfter == descriptorsBefore else {
                print("descriptors before \(descriptorsBefore), after \(descriptorsAfter)")
                system("ls -l /proc/\(getpid())/fd")
                exit(10)
            }
            guard TestWorker.childPIDs().isEmpty else { exit(11) }
            // Every worker's progress journal (a memfd mapping) is unmapped.
            let maps = try String(contentsOfFileDescriptor: open("/proc/self/maps", O_RDONLY))
            guard !maps.contains("offload-journal") else { exit(12) }
        }
    }

    @Test("a parent killed with SIGKILL leaves no worker behind")
    func parentSIGKILLKillsWorkers() throws {
        var pipe: [Int32] = [-1, -1]
        #expect(Glibc.pipe(&pipe) == 0)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipe[1], 1)
        posix_spawn_file_actions_addclose(&actions, pipe[0])
        var pid: pid_t = 0
        let path = TestWorker.path
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup(path), strdup("parent"), nil]
        defer { for pointer in argv { free(pointer) } }
        #expect(posix_spawn(&pid, path, &actions, nil, argv, environ) == 0)
        close(pipe[1])
        // Read "pids <a> <b>\n" from the child parent.
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while read(pipe[0], &byte, 1) == 1, byte != UInt8(ascii: "\n") { line.append(byte) }
        close(pipe[0])
        let fields = String(decoding: line, as: UTF8.self).split(separator: " ")
        let workers = fields.dropFirst().compactMap { Int32($0) }
        #expect(fields.first == "pids" && workers.count == 2)
        #expect(workers.allSatisfy { !TestWorker.isGone($0) })
        // A pidfd of any process becomes readable when it exits, child or not: open them while the workers live.
        let pidfds = workers.map { Syscalls.pidfdOpen($0) }
        defer { for fd in pidfds { Syscalls.close(fd) } }
        #expect(pidfds.allSatisfy { $0 >= 0 })

        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        var exits = pidfds.map { Syscalls.PollEntry(fd: $0) }
        let deadline = ContinuousClock.now + .seconds(10)
        while !exits.allSatisfy(\.ready), ContinuousClock.now < deadline {
            var waiting = exits.filter { !$0.ready }
            Syscalls.poll(&waiting, timeoutMilliseconds: 10_000)
            for entry in waiting where entry.ready {
                if let index = exits.firstIndex(where: { $0.fd == entry.fd }) { exits[index].ready = true }
            }
        }
        #expect(exits.allSatisfy { $0.ready })
        #expect(workers.allSatisfy(TestWorker.isGone))
    }
}
