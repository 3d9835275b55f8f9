import Offload
import OffloadTestJobs
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Start-up, options, cancellation and shutdown.
@Suite(.serialized, .timeLimit(.minutes(1)))
struct ProcessPoolLifecycleTests {
    @Test("a worker executable that forgot the entry point is reported at once, not a fork bomb")
    func missingEntryPointCreatingPool() async throws {
        let configuration = TestWorker.configuration(workers: 2) { $0.arguments = ["--skip-entry"] }
        let pool = try ProcessPool(configuration: configuration)
        let error = await #expect(throws: OffloadError.self) { try await pool.run(Square(1)) }
        #expect(error?.code == .workerEntryPointMissing)
        #expect(error?.termination == .exited(78))
        #expect(error?.message.contains("runWorkerIfRequested") == true)
        #expect(error?.workerStderr.contains { $0.contains("refusing to start workers") } == true)
        // The pool is broken: later submissions fail immediately with the same explanation.
        #expect(throws: OffloadError.self) { _ = try pool.submit(Square(2)) }
        await pool.shutdown()
        #expect(pool.stats.isConsistent)
    }

    @Test("a worker executable that never answers is reported after the start-up deadline")
    func missingEntryPointIdle() async throws {
        let configuration = TestWorker.configuration(workers: 1) {
            $0.arguments = ["--idle-without-entry"]
            $0.startTimeout = .milliseconds(300)
        }
        try await withProcessPool(configuration: configuration) { pool async throws in
            let error = await #expect(throws: OffloadError.self) { try await pool.run(Square(1)) }
            #expect(error?.code == .workerEntryPointMissing)
        }
    }

    @Test("a missing worker executable is a spawnFailed error at init")
    func missingExecutable() {
        let error = #expect(throws: OffloadError.self) {
            _ = try ProcessPool(configuration: ProcessPool.Configuration(workers: 1, executable: "/nonexistent/worker"))
        }
        #expect(error?.code == .spawnFailed)
        #expect(error?.underlyingErrno == ENOENT)
    }

    @Test("invalid configuration values are rejected with invalidArgument")
    func invalidConfiguration() {
        for adjust: (inout ProcessPool.Configuration) -> Void in [
            { $0.workers = 0 }, { $0.taskTimeout = .zero }, { $0.maxTasksPerWorker = 0 }, { $0.retries = -1 },
            { $0.maxPrefetch = 0 },
        ] {
            let error = #expect(throws: OffloadError.self) {
                _ = try ProcessPool(configuration: TestWorker.configuration(adjust))
            }
            #expect(error?.code == .invalidArgument)
        }
    }

    @Test("the initializer runs once in each worker before its first job")
    func initializerRuns() async throws {
        let configuration = TestWorker.configuration(workers: 2) {
            $0.initializer = MarkInitialized(mark: "42")
        }
        try await withProcessPool(configuration: configuration) { pool async throws in
            let states = try await pool.map(Array(repeating: InitializerState(), count: 8), chunkSize: 1)
            #expect(states.allSatisfy { $0 == "initialized with 42" })
        }
    }

    @Test("a failing initializer breaks the pool with workerInitializationFailed")
    func initializerFailure() async throws {
        let configuration = TestWorker.configuration(workers: 1) { $0.initializer = RefuseToInitialize() }
        try await withProcessPool(configuration: configuration) { pool async throws in
            let error = await #expect(throws: OffloadError.self) { try await pool.run(Square(1)) }
            #expect(error?.code == .workerInitializationFailed)
            #expect(error?.message.contains("initializer refuses") == true)
        }
    }

    @Test("an initializer type the worker's registry lacks breaks the pool with a message naming the type")
    func unregisteredInitializer() async throws {
        let configuration = TestWorker.configuration(workers: 1) { $0.initializer = UnknownInitializer() }
        try await withProcessPool(configuration: configuration) { pool async throws in
            let error = await #expect(throws: OffloadError.self) { try await pool.run(Square(1)) }
            #expect(error?.code == .workerInitializationFailed)
            #expect(error?.message.contains(UnknownInitializer.initializerName) == true)
            #expect(error?.message.contains("register(initializer:)") == true)
        }
    }

    @Test("an initializer that cannot be encoded fails the pool's creation, before any worker starts")
    func unencodableInitializer() {
        let error = #expect(throws: OffloadError.self) {
            _ = try ProcessPool(configuration: TestWorker.configuration(workers: 1) {
                $0.initializer = UnencodableInitializer()
            })
        }
        #expect(error?.code == .encodingFailed)
        #expect(error?.message.contains("cannot be encoded") == true)
    }

    @Test("workers are recycled after maxTasksPerWorker tasks")
    func recycling() async throws {
        let configuration = TestWorker.configuration(workers: 1) { $0.maxTasksPerWorker = 2 }
        try await withProcessPool(configuration: configuration) { pool async throws in
            var pids: [Int32] = []
            for _ in 0..<6 { pids.append(try await pool.run(WorkerPID())) }
            #expect(Set(pids).count == 3)
            #expect(pids[0] == pids[1] && pids[2] == pids[3] && pids[4] == pids[5])
            #expect(pool.stats.workersReplaced >= 2)
        }
    }

    @Test("environment and working directory reach the workers")
    func environmentAndDirectory() async throws {
        let configuration = TestWorker.configuration(workers: 1) {
            $0.environment = ["OFFLOAD_TEST_VALUE": "from the parent"]
            $0.workingDirectory = "/tmp"
        }
        try await withProcessPool(configuration: configuration) { pool async throws in
            let values = try await pool.run(Environment(key: "OFFLOAD_TEST_VALUE"))
            #expect(values == ["from the parent", "/tmp"])
        }
    }

    @Test("cancelling withdraws queued tasks; the ones a worker holds finish; stats add up")
    func cancellationWithdrawsPending() async throws {
        let gate = try FIFOGate()
        let pool = try ProcessPool(configuration: TestWorker.configuration(workers: 1) { $0.maxPrefetch = 1 })
        let blocker = try pool.submit(WaitForGate(fifoPath: gate.path, value: 99))
        let queued = try (0..<10).map { try pool.submit(Square($0)) }
        let withdrawn = queued.filter { $0.cancel() }.count
        #expect(withdrawn == 10)
        gate.open()
        #expect(try await blocker.value == 99)
        for handle in queued {
            await #expect(throws: CancellationError.self) { try await handle.value }
        }
        await pool.shutdown()
        let stats = pool.stats
        #expect(stats.cancelled == 10 && stats.completed == 1 && stats.isConsistent)
    }

    @Test("shutdown drains queued work by default, cancels it on request, and is idempotent")
    func shutdownModes() async throws {
        let gate = try FIFOGate()
        let pool = try ProcessPool(configuration: TestWorker.configuration(workers: 1) { $0.maxPrefetch = 1 })
        _ = try await pool.run(Square(0))  // the worker is up and idle: the next submit goes straight to it
        let blocker = try pool.submit(Announce(fifoPath: gate.path, milliseconds: 200))
        let queued = try (0..<5).map { try pool.submit(Square($0)) }
        gate.waitForByte()  // the blocker runs: shutdown lets it finish
        await pool.shutdown(cancelPending: true)
        await pool.shutdown()
        #expect(try await blocker.value > 0)
        let finished = await withTaskGroup(of: Bool.self) { group in
            for handle in queued { group.addTask { (try? await handle.value) != nil } }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        let stats = pool.stats
        #expect(stats.cancelled + finished == 5)
        #expect(stats.completed == 2 + finished)
        #expect(stats.isConsistent && stats.pending == 0 && stats.running == 0)
        #expect(pool.workerPIDs.isEmpty)
        let error = #expect(throws: OffloadError.self) { _ = try pool.submit(Square(1)) }
        #expect(error?.code == .poolShutDown)

        let draining = try ProcessPool(configuration: TestWorker.configuration(workers: 2))
        let all = try (0..<100).map { try draining.submit(Square($0)) }
        await draining.shutdown()
        for (index, handle) in all.enumerated() { #expect(try await handle.value == index * index) }
    }

    @Test("a ProcessPool released without shutdown still stops its workers")
    func deinitStopsWorkers() async throws {
        var pids: [Int32] = []
        do {
            let pool = try ProcessPool(configuration: TestWorker.configuration(workers: 2))
            _ = try await pool.map([Square(1), Square(2), Square(3)], chunkSize: 1)
            pids = pool.workerPIDs
        }
        #expect(pids.count == 2)
        let deadline = ContinuousClock.now + .seconds(10)
        while !pids.allSatisfy(TestWorker.isGone), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))  // polling for an external process's exit, with a deadline
        }
        #expect(pids.allSatisfy(TestWorker.isGone))
    }
}

/// A named pipe that a job blocks on until the test writes a byte: a gate between processes. The gate holds the
/// FIFO open (O_RDWR never blocks) from creation, so the byte stays buffered even if the job opens it later.
final class FIFOGate: Sendable {
    let path: String
    let fd: Int32

    init() throws {
        path = "/tmp/offload-gate-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        guard mkfifo(path, 0o600) == 0 else { throw OffloadError(.systemCallFailed, "mkfifo \(path)") }
        fd = Glibc.open(path, O_RDWR | O_CLOEXEC)
    }

    func open() {
        var byte: UInt8 = 1
        _ = write(fd, &byte, 1)
    }

    /// Blocks until a job wrote a byte (an ``Announce`` job started).
    func waitForByte() {
        var byte: UInt8 = 0
        while read(fd, &byte, 1) < 0 && errno == EINTR {}
    }

    deinit {
        close(fd)
        unlink(path)
    }
}
