import OffloadSystem
import OffloadTestJobs
import Testing

@testable import Offload

#if canImport(Glibc)
    import Glibc
#endif

extension ProcessPoolForkServerTests {
    /// Blocks until `pid`, a child of this process, has stopped (`waitid(WSTOPPED | WNOWAIT)`: the stop is reported
    /// and left for anyone else to see). True if it stopped; false if it cannot be waited for or exited.
    static func awaitStop(_ pid: Int32) -> Bool {
        var info = siginfo_t()
        guard waitid(P_PID, id_t(pid), &info, WSTOPPED | WNOWAIT) == 0 else { return false }
        return info.si_code == CLD_STOPPED
    }

    @Test("a fork server stopped with SIGSTOP is killed after a short wait; the worker is spawned and no task is lost")
    func stoppedServerIsKilled() async throws {
        // A start timeout far above the suite's one-minute time limit: a manager that waits on the stopped server
        // for `startTimeout` (as it once did) fails the test, whatever the machine's speed.
        let configuration = Self.configuration(workers: 1) {
            $0.retries = 1
            $0.startTimeout = .seconds(600)
        }
        var servers: [Int32] = []
        try await withProcessPool(configuration: configuration) { pool async throws in
            #expect(try await pool.run(Square(3)) == 9)
            let server = try #require(pool.forkServerPID)
            servers.append(server)
            #expect(kill(server, SIGSTOP) == 0)
            #expect(Self.awaitStop(server))

            // The worker crashes; its replacement must not wait for the stopped server, and the job is retried on it.
            let counter = try SharedCounter()
            #expect(try await pool.run(CrashOnce(counter: counter.handle)) == 42)
            // The pool killed and reaped the stopped server: no such process any more, not even a zombie.
            #expect(kill(server, 0) == -1 && errno == ESRCH)
            let status = pool.startMethodStatus
            #expect(status.fallbackReason?.contains("did not answer") == true, "\(String(describing: status.fallbackReason))")
            #expect(status.workersForked == 1, "the replacement was spawned")
            #expect(status.serverStarts == 1)
            #expect(status.current == .forkServer, "a server that had forked is started again")
            #expect(pool.forkServerPID == nil)

            // The next replacement comes from a new server.
            let again = try SharedCounter()
            #expect(try await pool.run(CrashOnce(counter: again.handle)) == 42)
            let later = pool.startMethodStatus
            #expect(later.serverStarts == 2)
            #expect(later.workersForked == 2)
            let restarted = try #require(pool.forkServerPID)
            servers.append(restarted)
            #expect(try await pool.map((0..<10).map { Square($0) }, chunkSize: 2) == (0..<10).map { $0 * $0 })
            #expect(pool.stats.workersReplaced == 2)
            #expect(pool.stats.isConsistent)
        }
        // Shut down (within the time limit): both servers are gone, reaped.
        #expect(servers.count == 2)
        for server in servers { #expect(kill(server, 0) == -1 && errno == ESRCH) }
    }
}

extension ProcessPoolForkServerTests {
    @Test("a forked worker that announces itself after the pool stopped waiting for it exits instead of serving")
    func lateAnnouncementExits() async throws {
        // The server dies right after its fork, unanswered; its worker holds its PID back until the pool, having
        // waited `startTimeout` for it, has closed the PID pipe and spawned a worker on the same descriptors. That
        // forked worker must then exit: it used to serve next to the spawned one, unknown to the pool.
        let fifo = "/tmp/offload-late-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        #expect(mkfifo(fifo, 0o600) == 0)
        defer { unlink(fifo) }
        let reader = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        #expect(reader >= 0)
        defer { close(reader) }
        let configuration = Self.configuration(workers: 1) {
            $0.arguments = ["--fork-server-dies-after-clone", "--forked-worker-announces-late=\(fifo)"]
            $0.startTimeout = .seconds(2)
        }
        try await withProcessPool(configuration: configuration) { pool async throws in
            #expect(try await pool.map((0..<20).map { Square($0) }, chunkSize: 2) == (0..<20).map { $0 * $0 })
            // The forked worker says who it is once the pool stopped waiting for it.
            let late = try #require(await Task.detached { Self.readPID(reader) }.value)
            #expect(!pool.workerPIDs.contains(late))
            // It exits without serving: a child of this process (CLONE_PARENT) nobody else reaps.
            let exited = await TestWorker.waitUntilGone(late)
            #expect(exited, "the late worker is still running next to the spawned one")
            var status: Int32 = 0
            if !exited { kill(late, SIGKILL) }
            #expect(waitpid(late, &status, 0) == late)
            #expect(exited && status & 0x7f == 0 && (status >> 8) & 0xff == 71, "status \(status)")

            #expect(try await pool.map((0..<20).map { Square($0) }, chunkSize: 2) == (0..<20).map { $0 * $0 })
            let startMethod = pool.startMethodStatus
            #expect(startMethod.workersForked == 0)
            #expect(startMethod.current == .spawn, "a server that died before its first fork is not restarted")
            #expect(pool.stats.workersReplaced == 0)
            #expect(pool.stats.isConsistent)
        }
    }

    /// The decimal PID a late worker writes to the FIFO behind `reader` (non-blocking): waits up to ten seconds.
    static func readPID(_ reader: Int32) -> Int32? {
        var text: [UInt8] = []
        let deadline = ContinuousClock.now + .seconds(10)
        while !text.contains(UInt8(ascii: "\n")), ContinuousClock.now < deadline {
            var entries = [Syscalls.PollEntry(fd: reader)]
            Syscalls.poll(&entries, timeoutMilliseconds: 10_000)
            var buffer = [UInt8](repeating: 0, count: 32)
            let count = read(reader, &buffer, buffer.count)
            if count > 0 { text += buffer[..<count] }
        }
        return Int32(String(decoding: text.prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self))
    }
}
