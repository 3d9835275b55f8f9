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
