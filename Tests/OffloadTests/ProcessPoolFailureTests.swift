import Offload
import OffloadTestJobs
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Faults in a worker: each ends in a typed error for the task concerned only; the pool goes on.
@Suite(.serialized, .timeLimit(.minutes(1)))
struct ProcessPoolFailureTests {
    @Test("a job that throws reports the error's type and message, and its worker stays")
    func throwingJobKeepsWorker() async throws {
        try await withProcessPool(configuration: TestWorker.configuration(workers: 1)) { pool async throws in
            let before = try await pool.run(WorkerPID())
            let error = await #expect(throws: OffloadError.self) { try await pool.run(Fail("bad input 42")) }
            #expect(error?.code == .jobFailed)
            #expect(error?.remoteErrorType?.hasSuffix("TestJobError") == true)
            #expect(error?.message.contains("bad input 42") == true)
            #expect(try await pool.run(WorkerPID()) == before)
            #expect(pool.stats.workersReplaced == 0)
        }
    }

    @Test(
        "a worker dying mid-task fails only that task, with how it died and its last stderr lines",
        arguments: Die.Mode.allCases, TestWorker.transports
    )
    func workerDeathFailsOnlyItsTask(mode: Die.Mode, transport: ProcessPool.Transport) async throws {
        // Keep enough lines that a stack trace printed after "Fatal error" (as the runtime does when the backtracer
        // is off, e.g. under ThreadSanitizer) cannot push the line this test looks for out of the tail.
        let pool = try ProcessPool(
            configuration: TestWorker.configuration(transport: transport) { $0.stderrLinesKept = 200 }
        )
        let before = try (0..<20).map { try pool.submit(Square($0)) }
        let dying = try pool.submit(Die(mode, lastWords: "last words \(mode)"))
        let after = try (20..<40).map { try pool.submit(Square($0)) }
        let error = await #expect(throws: OffloadError.self) { try await dying.value }
        #expect(error?.code == .workerCrashed)
        #expect(error?.job?.contains("Die") == true)
        #expect(error?.workerPID != nil)
        // fatalError's backtrace can push the job's own line out of the kept tail; its "Fatal error" line stays.
        let marker = mode == .fatalError ? "Fatal error" : "last words \(mode)"
        #expect(error?.workerStderr.contains { $0.contains(marker) } == true, "\(error?.workerStderr ?? [])")
        switch mode {
        case .exit: #expect(error?.termination == .exited(7))
        case .sigkill: #expect(error?.termination == .signaled(SIGKILL))
        case .sigsegv: #expect(error?.termination == TestWorker.segfaultTermination)
        case .fatalError:
            if case .signaled = error?.termination {} else { Issue.record("fatalError should end by a signal") }
        }
        for (index, handle) in (before + after).enumerated() { #expect(try await handle.value == index * index) }
        #expect(try await pool.run(Square(3)) == 9)
        await pool.shutdown()
        let stats = pool.stats
        #expect(stats.completed == 41 && stats.failed == 1 && stats.isConsistent)
        #expect(stats.workersReplaced >= 1)
    }

    @Test("a task over its timeout is stopped: its worker is killed and replaced")
    func timeoutKillsAndReplaces() async throws {
        let configuration = TestWorker.configuration(workers: 1) { $0.taskTimeout = .milliseconds(300) }
        try await withProcessPool(configuration: configuration) { pool async throws in
            let before = try await pool.run(WorkerPID())
            let error = await #expect(throws: OffloadError.self) { try await pool.run(Sleep(milliseconds: 30_000)) }
            #expect(error?.code == .taskTimedOut)
            #expect(error?.termination == .signaled(SIGKILL))
            #expect(try await pool.run(WorkerPID()) != before)
            #expect(pool.stats.workersReplaced == 1)
        }
    }

    @Test("a worker over its memory limit fails like a crash, with the reason")
    func memoryLimitExceeded() async throws {
        let configuration = TestWorker.configuration(workers: 1) { $0.memoryLimitBytes = 96 << 20 }
        try await withProcessPool(configuration: configuration) { pool async throws in
            let error = await #expect(throws: OffloadError.self) { try await pool.run(Allocate(megabytes: 512)) }
            #expect(error?.code == .memoryLimitExceeded)
            #expect(error?.message.contains("VmRSS") == true)
            #expect(try await pool.run(Square(5)) == 25)
        }
    }

    @Test("an unregistered job type is a typed error, not a hang")
    func unregisteredJob() async throws {
        try await withProcessPool(configuration: TestWorker.configuration(workers: 1)) { pool async throws in
            let error = await #expect(throws: OffloadError.self) { try await pool.run(Unregistered()) }
            #expect(error?.code == .unregisteredJob)
            #expect(error?.message.contains("Unregistered") == true)
            #expect(try await pool.run(Square(2)) == 4)
        }
    }

    static let matrix: [(Misbehave.Step, Misbehave.Mode)] = Misbehave.Step.allCases.flatMap { step in
        Misbehave.Mode.allCases.compactMap { mode in
            // Exiting or crashing in the parent ends the parent: only throwing is survivable there.
            let parentSide = step == .encodeJob || step == .decodeResultInParent
            return parentSide && mode != .throw ? nil : (step, mode)
        }
    }

    @Test(
        "failure matrix: every step × {throw, exit, crash} ends in a typed error, on each transport and start method",
        arguments: matrix, TestWorker.variants
    )
    func failureMatrix(cell: (Misbehave.Step, Misbehave.Mode), variant: TestWorker.Variant) async throws {
        let (step, mode) = cell
        let configuration = TestWorker.configuration(workers: 1, transport: variant.transport) {
            $0.startMethod = variant.startMethod
        }
        try await withProcessPool(configuration: configuration) { pool async throws in
            let expected: OffloadError.Code
            switch (step, mode) {
            case (.encodeJob, _): expected = .encodingFailed
            case (.decodeJobInWorker, .throw), (.decodeResultInParent, _): expected = .decodingFailed
            case (.run, .throw): expected = .jobFailed
            case (.encodeResult, .throw): expected = .encodingFailed
            default: expected = .workerCrashed
            }
            let error = await #expect(throws: OffloadError.self) {
                try await pool.run(Misbehave(step: step, mode: mode))
            }
            #expect(error?.code == expected, "\(step) × \(mode): \(String(describing: error))")
            #expect(try await pool.run(Square(6)) == 36)
            #expect(pool.stats.isConsistent)
        }
    }

    @Test(
        "a worker that breaks the framing is killed and replaced; its task fails with protocolViolation",
        arguments: TestWorker.transports
    )
    func garbageFromWorker(transport: ProcessPool.Transport) async throws {
        let configuration = TestWorker.configuration(workers: 1, transport: transport)
        try await withProcessPool(configuration: configuration) { pool async throws in
            let error = await #expect(throws: OffloadError.self) { try await pool.run(Garbage()) }
            #expect(error?.code == .protocolViolation)
            #expect(error?.termination == .signaled(SIGKILL))
            #expect(try await pool.run(Square(8)) == 64)
            #expect(pool.stats.workersReplaced == 1)
        }
    }

    @Test("a result larger than the pipe buffer arrives whole", arguments: TestWorker.transports)
    func bigResultArrives(transport: ProcessPool.Transport) async throws {
        let configuration = TestWorker.configuration(workers: 1, transport: transport)
        try await withProcessPool(configuration: configuration) { pool async throws in
            let output = try await pool.run(BigOutput(bytes: 8 << 20))
            #expect(output.count == 8 << 20 && output.allSatisfy { $0 == 7 })
        }
    }

    @Test(
        "a worker dying while writing a payload larger than the pipe buffer is a crash, not a hang",
        arguments: TestWorker.transports
    )
    func deathWhileWritingBigPayload(transport: ProcessPool.Transport) async throws {
        let configuration = TestWorker.configuration(workers: 1, transport: transport)
        try await withProcessPool(configuration: configuration) { pool async throws in
            let error = await #expect(throws: OffloadError.self) {
                try await pool.run(BigOutput(bytes: 4 << 20, dieAfterWriting: 200_000))
            }
            #expect(error?.code == .workerCrashed)
            #expect(error?.termination == .signaled(SIGKILL))
            #expect(try await pool.run(Square(7)) == 49)
        }
    }

    @Test(
        "an idempotent job is retried after its worker crashed; a non-idempotent one is not",
        arguments: TestWorker.transports
    )
    func retriesOnlyIdempotentJobs(transport: ProcessPool.Transport) async throws {
        let configuration = TestWorker.configuration(workers: 1, transport: transport) { $0.retries = 1 }
        try await withProcessPool(configuration: configuration) { pool async throws in
            let first = try SharedCounter()
            #expect(try await pool.run(CrashOnce(counter: first.handle)) == 42)
            #expect(first.load() == 2)
            let second = try SharedCounter()
            let error = await #expect(throws: OffloadError.self) {
                try await pool.run(CrashOnceNotIdempotent(counter: second.handle))
            }
            #expect(error?.code == .workerCrashed)
            #expect(second.load() == 1)
        }
    }
}
