import OffloadSystem
import OffloadTestJobs
import Testing

@testable import Offload

#if canImport(Glibc)
    import Glibc
#endif

/// ``ProcessPool/StartMethod/forkServer``: workers forked by a fork server (`clone(CLONE_PARENT)`), their
/// replacement after crashes, and every fallback to spawning.
@Suite(
    .serialized, .timeLimit(.minutes(1)),
    .disabled(if: ThreadSanitizer.isActive, "under ThreadSanitizer pools spawn their workers (it cannot follow a clone)"),
    .enabled(if: TestWorker.forkServerTestsEnabled, "OFFLOAD_TEST_FORK_SERVER=0 skips the fork-server tests")
)
struct ProcessPoolForkServerTests {
    static func configuration(
        workers: Int = 2,
        transport: ProcessPool.Transport = .automatic,
        _ adjust: (inout ProcessPool.Configuration) -> Void = { _ in }
    ) -> ProcessPool.Configuration {
        TestWorker.configuration(workers: workers, transport: transport) {
            $0.startMethod = .forkServer
            adjust(&$0)
        }
    }

    /// Waits on a pidfd until `pid` has exited (a zombie counts); true if it did within ten seconds.
    static func awaitExit(_ pid: Int32) -> Bool {
        let pidfd = Syscalls.pidfdOpen(pid)
        guard pidfd >= 0 else { return true }  // already reaped
        defer { Syscalls.close(pidfd) }
        var entries = [Syscalls.PollEntry(fd: pidfd)]
        Syscalls.poll(&entries, timeoutMilliseconds: 10_000)
        return entries[0].ready
    }

    @Test("forked workers run jobs, are children of the pool and get the spawned workers' descriptors", arguments: TestWorker.transports)
    func forkedWorkersRunJobs(transport: ProcessPool.Transport) async throws {
        try await withProcessPool(configuration: Self.configuration(transport: transport)) { pool async throws in
            let squares = try await pool.map((0..<50).map { Square($0) }, chunkSize: 3)
            #expect(squares == (0..<50).map { $0 * $0 })
            let lineage = try await pool.run(WorkerLineage())
            let status = pool.startMethodStatus
            #expect(status.configured == .forkServer)
            #expect(status.current == .forkServer)
            #expect(status.fallbackReason == nil)
            #expect(status.workersForked == 2)
            #expect(status.serverStarts == 1)
            let server = try #require(pool.forkServerPID)
            #expect(lineage.parent == getpid())
            #expect(lineage.pid != server)
            #expect(pool.workerPIDs.contains(lineage.pid))
            // 0 /dev/null, 1 stdout, 2 stderr pipe, 3 commands, 4 results (the journal, 5, is mapped and closed);
            // nothing of the server's.
            #expect(lineage.descriptors == [0, 1, 2, 3, 4])
        }
    }

    @Test("a spawned worker has the same descriptors as a forked one")
    func spawnedWorkerDescriptors() async throws {
        let configuration = TestWorker.configuration(workers: 1) { $0.startMethod = .spawn }
        try await withProcessPool(configuration: configuration) { pool async throws in
            let lineage = try await pool.run(WorkerLineage())
            #expect(lineage.descriptors == [0, 1, 2, 3, 4])
            #expect(lineage.parent == getpid())
            #expect(pool.startMethodStatus.configured == .spawn)
            #expect(pool.startMethodStatus.workersForked == 0)
        }
    }

    @Test("a crashed worker is replaced through the fork server and the pool keeps its tasks", arguments: TestWorker.transports)
    func crashedWorkerReplacedThroughServer(transport: ProcessPool.Transport) async throws {
        let configuration = Self.configuration(workers: 1, transport: transport) { $0.retries = 1 }
        try await withProcessPool(configuration: configuration) { pool async throws in
            let first = try await pool.run(WorkerPID())
            let counter = try SharedCounter()
            // Crashes its worker once; retried on the replacement, forked by the same server.
            #expect(try await pool.run(CrashOnce(counter: counter.handle)) == 42)
            let error = await #expect(throws: OffloadError.self) { try await pool.run(Die(.sigkill)) }
            #expect(error?.code == .workerCrashed)
            let last = try await pool.run(WorkerPID())
            #expect(last != first)
            let status = pool.startMethodStatus
            #expect(status.workersForked == 3)
            #expect(status.serverStarts == 1)
            #expect(status.fallbackReason == nil)
            #expect(pool.stats.isConsistent)
        }
    }

    @Test("recycled workers (maxTasksPerWorker) come from the fork server")
    func recycledWorkersForked() async throws {
        let configuration = Self.configuration(workers: 1) { $0.maxTasksPerWorker = 1 }
        try await withProcessPool(configuration: configuration) { pool async throws in
            var pids: Set<Int32> = []
            for _ in 0..<6 { pids.insert(try await pool.run(WorkerPID())) }
            #expect(pids.count == 6)
            #expect(pool.startMethodStatus.workersForked >= 6)
            #expect(pool.startMethodStatus.fallbackReason == nil)
        }
    }

    @Test("killing the fork server mid-run falls back to spawning, restarts it, and loses no task")
    func killedServerFallsBack() async throws {
        // One worker: each crash's retry waits for its replacement, so the status is read after the replacement.
        let configuration = Self.configuration(workers: 1) { $0.retries = 2 }
        try await withProcessPool(configuration: configuration) { pool async throws in
            _ = try await pool.map((0..<4).map { Square($0) }, chunkSize: 1)
            let server = try #require(pool.forkServerPID)
            let handles = try (0..<40).map { try pool.submit(Square($0)) }
            #expect(kill(server, SIGKILL) == 0)
            #expect(Self.awaitExit(server))
            // Worker crashes while the server is dead: their replacements must still come.
            let counter = try SharedCounter()
            let crashed = try pool.submit(CrashOnce(counter: counter.handle))
            for (index, handle) in handles.enumerated() { #expect(try await handle.value == index * index) }
            #expect(try await crashed.value == 42)
            let status = pool.startMethodStatus
            #expect(status.fallbackReason?.contains("fork server") == true)
            // The crash's replacement was spawned; the server is started again for the next one.
            let again = try SharedCounter()
            #expect(try await pool.run(CrashOnce(counter: again.handle)) == 42)
            let later = pool.startMethodStatus
            #expect(later.serverStarts == 2)
            #expect(later.current == .forkServer)
            #expect(later.workersForked == status.workersForked + 1)
            #expect(pool.forkServerPID != server)
            #expect(try await pool.map((0..<10).map { Square($0) }, chunkSize: 2) == (0..<10).map { $0 * $0 })
            #expect(pool.stats.isConsistent)
        }
    }

    @Test("a worker forked by a server that died before replying is kept, not doubled by a spawned one")
    func serverDiesBetweenForkAndReply() async throws {
        // The server forks the first worker, then is killed before it replies: the pool learns that worker's PID
        // from the worker itself and keeps it. (It used to spawn a second worker on the same descriptors: two
        // hellos, the spawned one killed, the forked one running unknown to the pool and never reaped.)
        let configuration = Self.configuration(workers: 1) { $0.arguments = ["--fork-server-dies-after-clone"] }
        let pool = try ProcessPool(configuration: configuration)
        let lineage = try await pool.run(WorkerLineage())
        #expect(lineage.parent == getpid())
        #expect(pool.workerPIDs == [lineage.pid])
        #expect(try await pool.map((0..<20).map { Square($0) }, chunkSize: 2) == (0..<20).map { $0 * $0 })
        let status = pool.startMethodStatus
        #expect(status.workersForked == 1)
        #expect(status.serverStarts == 1)
        #expect(status.fallbackReason?.contains("fork server") == true, "\(String(describing: status.fallbackReason))")
        #expect(pool.stats.workersReplaced == 0)
        #expect(pool.forkServerPID == nil)
        await pool.shutdown()
        // The kept worker was reaped by the pool like any other: no such process any more, not even a zombie.
        #expect(kill(lineage.pid, 0) == -1 && errno == ESRCH)
        #expect(pool.stats.isConsistent)
    }

    @Test("a fork server with a second thread refuses to fork; the pool spawns its workers and says why")
    func multithreadedServerRefuses() async throws {
        let configuration = Self.configuration(workers: 2) { $0.arguments = ["--thread-before-entry"] }
        try await withProcessPool(configuration: configuration) { pool async throws in
            #expect(try await pool.map((0..<8).map { Square($0) }, chunkSize: 1) == (0..<8).map { $0 * $0 })
            let status = pool.startMethodStatus
            #expect(status.current == .spawn)
            #expect(status.workersForked == 0)
            #expect(status.fallbackReason?.contains("threads, not one") == true)
            #expect(pool.forkServerPID == nil)
        }
    }

    @Test("a Mutex the program locked before the entry point works contended in forked workers")
    func mutexLockedBeforeEntry() async throws {
        let configuration = Self.configuration(workers: 1) {
            $0.arguments = ["--mutex-before-entry"]
            // A broken hand-over hangs or crashes the worker: either ends the job with an error.
            $0.taskTimeout = .seconds(10)
        }
        try await withProcessPool(configuration: configuration) { pool async throws in
            for _ in 0..<3 { #expect(try await pool.run(ContendEntryMutex()) == 2) }
            #expect(pool.startMethodStatus.workersForked == 1)
        }
    }

    @Test("a program that forgot the entry point is still reported, with a fork server")
    func missingEntryPoint() async throws {
        let configuration = Self.configuration(workers: 1) { $0.arguments = ["--skip-entry"] }
        let pool = try ProcessPool(configuration: configuration)
        let error = await #expect(throws: OffloadError.self) { try await pool.run(Square(1)) }
        #expect(error?.code == .workerEntryPointMissing)
        let status = pool.startMethodStatus
        #expect(status.fallbackReason?.contains("fork server") == true, "\(String(describing: status.fallbackReason))")
        #expect(status.current == .spawn)
        #expect(status.serverStarts == 1)
        await pool.shutdown()
        #expect(pool.stats.isConsistent)
    }

    @Test("shutdown stops and reaps the fork server")
    func shutdownReapsServer() async throws {
        let pool = try ProcessPool(configuration: Self.configuration(workers: 1))
        _ = try await pool.run(Square(3))
        let server = try #require(pool.forkServerPID)
        await pool.shutdown()
        // Reaped by the pool: no such process any more (not even a zombie).
        #expect(kill(server, 0) == -1 && errno == ESRCH)
        #expect(pool.forkServerPID == nil)
    }

    @Test("a SIGKILLed pool leaves neither its forked workers nor its fork server behind", arguments: ["pipes", "sharedMemory"])
    func killedPoolLeavesNothing(transport: String) throws {
        let parent = OrphanMaker(["parent", transport, "forkserver"])
        // Two workers and the server.
        #expect(parent.workers.count == 3)
        #expect(parent.killParentAndAwaitWorkers())
    }

    @Test("the policy starts the server, restarts one that had forked after a loss, and gives up after three starts")
    func policy() {
        var policy = ForkServerPolicy()
        #expect(policy.beforeStart() == .start)
        policy.started()
        #expect(policy.beforeStart() == .ask)
        policy.forked()
        for round in 2...ForkServerPolicy.maxStarts {
            policy.serverLost("gone \(round)")
            #expect(policy.phase == .notStarted)
            #expect(policy.beforeStart() == .start)
            policy.started()
            policy.forked()
        }
        policy.serverLost("gone again")
        #expect(policy.phase == .disabled)
        #expect(policy.beforeStart() == .spawn)
        #expect(policy.starts == ForkServerPolicy.maxStarts)
        #expect(policy.workersForked == ForkServerPolicy.maxStarts)
        #expect(policy.fallbackReason == "gone again")

        // A server that dies before its first fork (the program cannot be one) is not started again.
        var stillborn = ForkServerPolicy()
        #expect(stillborn.beforeStart() == .start)
        stillborn.started()
        stillborn.serverLost("exited")
        #expect(stillborn.beforeStart() == .spawn)
        #expect(stillborn.starts == 1)

        var refusing = ForkServerPolicy()
        #expect(refusing.beforeStart() == .start)
        refusing.started()
        refusing.refused("two threads")
        #expect(refusing.beforeStart() == .spawn)
        #expect(refusing.fallbackReason == "two threads")
    }
}

/// Under ThreadSanitizer (`swift test --sanitize=thread`) the fork server is never started: its runtime cannot follow
/// a cloned worker. Runs only there.
@Suite(.timeLimit(.minutes(1)))
struct ForkServerUnderThreadSanitizerTests {
    @Test(
        "under ThreadSanitizer a fork-server pool spawns its workers and says why",
        .enabled(if: ThreadSanitizer.isActive, "runs only under ThreadSanitizer")
    )
    func spawnsUnderThreadSanitizer() async throws {
        try await withProcessPool(configuration: ProcessPoolForkServerTests.configuration()) { pool async throws in
            #expect(try await pool.map((0..<20).map { Square($0) }) == (0..<20).map { $0 * $0 })
            let status = pool.startMethodStatus
            #expect(status.configured == .forkServer)
            #expect(status.current == .spawn)
            #expect(status.workersForked == 0)
            #expect(status.fallbackReason?.contains("ThreadSanitizer") == true, "\(String(describing: status.fallbackReason))")
            #expect(pool.forkServerPID == nil)
        }
    }
}
