import OffloadTestJobs
import Testing

@testable import Offload

#if canImport(Glibc)
    import Glibc
#endif

/// What a user relies on: per-item outcomes through batches, per-job timeouts, cancellation that stops work, fair
/// start, cheap crashes and precise failure attribution. Real worker processes throughout.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct ProcessPoolSemanticsTests {
    // MARK: Per-item outcomes

    @Test(
        "a 10,000-input mapResults with faults of every kind: every good result present, every bad one names its input"
    )
    func faultSoakThroughAutomaticBatches() async throws {
        let faults: [Int: FaultMix.Fault] = [
            17: .throw, 2_500: .fatalError, 5_001: .sigsegv, 7_777: .exit, 9_999: .throw,
        ]
        let inputs = (0..<10_000).map { FaultMix(index: $0, fault: faults[$0] ?? .none) }
        let pool = try ProcessPool(configuration: TestWorker.configuration(workers: 2))
        let results = try await pool.mapResults(inputs)
        expectOutcomes(results, of: inputs, faults: faults)
        await pool.shutdown()
        #expect(pool.stats.isConsistent && pool.stats.workersReplaced >= 3)
    }

    @Test(
        "one-job chunks keep per-item outcomes (a throw, a crash, an exit fail only their input) and report run time"
    )
    func oneJobChunksKeepPerItemOutcomes() async throws {
        let faults: [Int: FaultMix.Fault] = [3: .throw, 40: .fatalError, 77: .sigsegv, 150: .exit]
        let inputs = (0..<200).map { FaultMix(index: $0, fault: faults[$0] ?? .none) }
        let pool = try ProcessPool(configuration: TestWorker.configuration(workers: 2))
        let results = try await pool.mapResults(inputs, chunkSize: 1)
        expectOutcomes(results, of: inputs, faults: faults)
        // The worker's run time comes back with every batch, of one job or more (maps size their chunks by it).
        let alone = try await pool.submitBatch([FaultMix(index: 5, fault: .none)], options: .default).value
        #expect(alone.values == [10] && alone.runDuration != nil)
        let pair = try await pool.submitBatch(
            [FaultMix(index: 5, fault: .none), FaultMix(index: 6, fault: .none)],
            options: .default
        ).value
        #expect(pair.values == [10, 12] && pair.runDuration != nil)
        await pool.shutdown()
        #expect(pool.stats.isConsistent && pool.stats.workersReplaced >= 3)
        #expect(pool.stats.failed == faults.count)
    }

    @Test(
        "a crash inside a batch fails only the item running; the items after it run on the replacement, idempotent or not"
    )
    func crashInsideBatchFailsOnlyItsItem() async throws {
        let pool = try ProcessPool(configuration: TestWorker.configuration(workers: 1))
        let jobs = (0..<50).map { FaultMix(index: $0, fault: $0 == 20 ? .sigsegv : .none) }
        let results = try await pool.submitBatch(jobs, options: .default).value
        #expect(results.count == 50)
        for index in 0..<50 where index != 20 { #expect((try? results[index].get()) == index * 2) }
        guard case .failure(let error) = results[20] else {
            Issue.record("item 20 should have failed")
            return
        }
        #expect(error.code == .workerCrashed && error.index == 20 && error.workerPID != nil)
        #expect(error.termination == TestWorker.segfaultTermination)
        #expect(results.firstFailure?.offset == 20)
        await pool.shutdown()
        #expect(pool.stats.workersReplaced == 1 && pool.stats.isConsistent)
    }

    @Test("an item that throws inside a batch fails alone; the batch goes on in the same worker")
    func throwInsideBatch() async throws {
        try await withProcessPool(configuration: TestWorker.configuration(workers: 1)) { pool async throws in
            let jobs = (0..<10).map { FaultMix(index: $0, fault: $0 % 3 == 1 ? .throw : .none) }
            let results = try await pool.submitBatch(jobs, options: .default).value
            for (index, result) in results.enumerated() {
                if index % 3 == 1 {
                    guard case .failure(let error) = result else { Issue.record("\(index)"); continue }
                    #expect(
                        error.code == .jobFailed && error.index == index
                            && error.message.contains("input \(index) is bad")
                    )
                    #expect(error.remoteErrorType?.hasSuffix("TestJobError") == true)
                } else {
                    #expect((try? result.get()) == index * 2)
                }
            }
            #expect(pool.stats.workersReplaced == 0)
        }
    }

    // MARK: Timeouts

    @Test(
        "a batch whose jobs each stay under the timeout succeeds although the batch exceeds it; a hung job times out alone"
    )
    func perJobTimeoutInsideBatch() async throws {
        try await withProcessPool(configuration: TestWorker.configuration(workers: 1)) { pool async throws in
            let naps = (0..<8).map { _ in NapPID(milliseconds: 50) }
            let results = try await pool.submitBatch(naps, options: JobOptions(timeout: .milliseconds(200))).value
            #expect(results.values?.count == 8, "400 ms of 50 ms jobs under a 200 ms per-job timeout")

            let jobs = (0..<6).map { FaultMix(index: $0, fault: $0 == 2 ? .hang : .none) }
            let mixed = try await pool.submitBatch(jobs, options: JobOptions(timeout: .milliseconds(300))).value
            guard case .failure(let error) = mixed[2] else {
                Issue.record("the hung job should have timed out")
                return
            }
            #expect(error.code == .taskTimedOut && error.index == 2 && error.termination == .signaled(SIGKILL))
            for index in [0, 1, 3, 4, 5] { #expect((try? mixed[index].get()) == index * 2) }
        }
    }

    @Test("JobOptions.timeout overrides the pool's taskTimeout per call")
    func perCallTimeoutOverride() async throws {
        let configuration = TestWorker.configuration(workers: 1) { $0.taskTimeout = .milliseconds(100) }
        try await withProcessPool(configuration: configuration) { pool async throws in
            let longer = try await pool.run(Sleep(milliseconds: 300), options: JobOptions(timeout: .seconds(5)))
            #expect(longer == 300)
            let error = await #expect(throws: OffloadError.self) { try await pool.run(Sleep(milliseconds: 5_000)) }
            #expect(error?.code == .taskTimedOut)
            let invalid = #expect(throws: OffloadError.self) {
                _ = try pool.submit(Square(1), options: JobOptions(timeout: .zero))
            }
            #expect(invalid?.code == .invalidArgument)
        }
    }

    // MARK: Cancellation

    @Test("cancel(mode: .stopRunning) on a running job ends it at once and replaces its worker")
    func stopRunningKillsTheWorker() async throws {
        let gate = try FIFOGate()
        let pool = try ProcessPool(configuration: TestWorker.configuration(workers: 1))
        let handle = try pool.submit(Announce(fifoPath: gate.path, milliseconds: 30_000))
        gate.waitForByte()
        let started = ContinuousClock.now
        #expect(handle.cancel(mode: .stopRunning))
        await #expect(throws: CancellationError.self) { try await handle.value }
        #expect(ContinuousClock.now - started < .seconds(5), "stopping must not wait for the 30 s job")
        #expect(try await pool.run(Square(4)) == 16)
        await pool.shutdown()
        let stats = pool.stats
        #expect(stats.cancelled == 1 && stats.completed == 1 && stats.workersReplaced == 1 && stats.isConsistent)
    }

    @Test("cancel(mode: .finishRunning) on a running job ends the handle at once; the worker finishes and stays")
    func finishRunningKeepsTheWorker() async throws {
        let gate = try FIFOGate()
        let pool = try ProcessPool(configuration: TestWorker.configuration(workers: 1))
        let handle = try pool.submit(Announce(fifoPath: gate.path, milliseconds: 200))
        gate.waitForByte()
        #expect(handle.cancel(mode: .finishRunning))
        await #expect(throws: CancellationError.self) { try await handle.value }
        let pid = try await pool.run(WorkerPID())
        #expect(pool.workerPIDs == [pid])
        await pool.shutdown()
        #expect(pool.stats.workersReplaced == 0 && pool.stats.cancelled == 1 && pool.stats.isConsistent)
    }

    @Test("jobs a worker prefetched are withdrawn by cancellation: the worker skips them")
    func prefetchedJobsAreWithdrawn() async throws {
        let pool = try ProcessPool(
            configuration: TestWorker.configuration(workers: 1) { $0.prefetchWindow = .seconds(1) }
        )
        let warmCounter = try SharedCounter()
        let warmGate = try FIFOGate()
        warmGate.open()
        // Teach the pool that both job types are short, so it prefetches them behind each other.
        _ = try await pool.run(WaitForGate(fifoPath: warmGate.path, value: 0))
        _ = try await pool.run(Tally(counter: warmCounter.handle))
        let gate = try FIFOGate()
        let blocker = try pool.submit(WaitForGate(fifoPath: gate.path, value: 7))
        let counter = try SharedCounter()
        let queued = try (0..<5).map { _ in try pool.submit(Tally(counter: counter.handle)) }
        #expect(pool.stats.pending == 0, "the tallies were prefetched by the worker")
        for handle in queued { #expect(handle.cancel(mode: .finishRunning)) }
        gate.open()
        #expect(try await blocker.value == 7)
        for handle in queued { await #expect(throws: CancellationError.self) { try await handle.value } }
        #expect(try await pool.run(Square(3)) == 9)
        await pool.shutdown()
        #expect(counter.load() == 0, "no cancelled job ran")
        #expect(pool.stats.cancelled == 5 && pool.stats.isConsistent)
    }

    @Test("cancelling the task awaiting run honours the pool's stop mode")
    func cancellingRunStops() async throws {
        let gate = try FIFOGate()
        let configuration = TestWorker.configuration(workers: 1) { $0.cancellationMode = .stopRunning }
        let pool = try ProcessPool(configuration: configuration)
        let task = Task { try await pool.run(Announce(fifoPath: gate.path, milliseconds: 30_000)) }
        gate.waitForByte()
        let started = ContinuousClock.now
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(try await pool.run(Square(2)) == 4)
        await pool.shutdown()
        #expect(pool.stats.workersReplaced == 1 && pool.stats.cancelled == 1)
    }

    @Test("cancelling the task awaiting map in stop mode returns promptly and leaves no worker busy")
    func cancellingMapStops() async throws {
        let gate = try FIFOGate()
        let configuration = TestWorker.configuration(workers: 2) { $0.cancellationMode = .stopRunning }
        let pool = try ProcessPool(configuration: configuration)
        try await pool.waitUntilReady()
        let jobs = (0..<6).map { _ in Announce(fifoPath: gate.path, milliseconds: 30_000) }
        let task = Task { try await pool.map(jobs, chunkSize: 1) }
        gate.waitForByte()
        gate.waitForByte()
        let started = ContinuousClock.now
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(try await pool.run(Square(2)) == 4, "a worker is free at once")
        // Both workers running the map's 30 s jobs were killed: the job above ran on a replacement, and shutdown
        // (which drains running work) ends at once. Whether the second replacement is spawned before shutdown
        // begins depends on when its predecessor is reaped: one or two replacements, never more.
        let stopping = ContinuousClock.now
        await pool.shutdown()
        #expect(ContinuousClock.now - stopping < .seconds(5), "no worker was left running a cancelled job")
        #expect(pool.stats.isConsistent && (1...2).contains(pool.stats.workersReplaced), "\(pool.stats)")
    }

    // MARK: Fair start

    @Test("two slow jobs submitted to a fresh pool run on different workers")
    func fairStartSpreadsJobs() async throws {
        for _ in 0..<3 {
            let pool = try ProcessPool(configuration: TestWorker.configuration(workers: 2))
            let handles = try (0..<2).map { _ in try pool.submit(NapPID(milliseconds: 300)) }
            let pids = [try await handles[0].value, try await handles[1].value]
            #expect(Set(pids).count == 2, "\(pids)")
            await pool.shutdown()
        }
    }

    @Test("waitUntilReady returns once every worker said hello, and throws the reason a pool cannot start")
    func waitUntilReady() async throws {
        let pool = try ProcessPool(configuration: TestWorker.configuration(workers: 2))
        try await pool.waitUntilReady()
        #expect(pool.workerPIDs.count == 2)
        await pool.shutdown()

        let broken = try ProcessPool(
            configuration: TestWorker.configuration(workers: 1) { $0.arguments = ["--skip-entry"] }
        )
        let error = await #expect(throws: OffloadError.self) { try await broken.waitUntilReady() }
        #expect(error?.code == .workerEntryPointMissing)
        await broken.shutdown()
    }

    // MARK: Cheap crashes

    @Test("workers run with Swift's backtracer off unless asked; overrides add to the inherited environment")
    func workerEnvironmentSettings() async throws {
        setenv("OFFLOAD_TEST_INHERITED", "inherited", 1)
        defer { unsetenv("OFFLOAD_TEST_INHERITED") }
        let configuration = TestWorker.configuration(workers: 1) {
            $0.environmentOverrides = ["OFFLOAD_TEST_VALUE": "added"]
        }
        try await withProcessPool(configuration: configuration) { pool async throws in
            #expect(try await pool.run(Environment(key: "SWIFT_BACKTRACE"))[0] == "enable=no")
            #expect(try await pool.run(Environment(key: "OFFLOAD_TEST_VALUE"))[0] == "added")
            #expect(try await pool.run(Environment(key: "OFFLOAD_TEST_INHERITED"))[0] == "inherited")
        }
        let full = TestWorker.configuration(workers: 1) {
            $0.fullBacktraces = true
            $0.environmentOverrides = ["SWIFT_BACKTRACE": "enable=yes,interactive=no"]
        }
        try await withProcessPool(configuration: full) { pool async throws in
            #expect(try await pool.run(Environment(key: "SWIFT_BACKTRACE"))[0] == "enable=yes,interactive=no")
        }
    }

    @Test("a fatalError's error keeps the runtime's message in its stderr tail")
    func crashTailIsUseful() async throws {
        try await withProcessPool(configuration: TestWorker.configuration(workers: 1)) { pool async throws in
            let error = await #expect(throws: OffloadError.self) {
                try await pool.run(FaultMix(index: 3, fault: .fatalError))
            }
            #expect(error?.code == .workerCrashed)
            #expect(
                error?.workerStderr.contains { $0.contains("input 3 is fatal") } == true,
                "\(error?.workerStderr ?? [])"
            )
            #expect((error?.workerStderr.count ?? 99) <= 20)
        }
    }

    // MARK: Attribution

    @Test(
        "garbage from a worker before its hello is workerStartFailed, not a SIGKILL spawn failure",
        arguments: TestWorker.transports
    )
    func garbageBeforeHello(transport: ProcessPool.Transport) async throws {
        // Spawned workers: the garbage is written by `main` before the entry point, which each spawned worker runs
        // but a forked one does not (only its fork server did, onto its socket, and the pool treats that as a lost
        // server, keeping a worker the server may have forked already: the job then succeeds).
        let pool = try ProcessPool(
            configuration: TestWorker.configuration(workers: 1, transport: transport) {
                $0.arguments = ["--garbage-before-hello"]
                $0.startMethod = .spawn
            }
        )
        let error = await #expect(throws: OffloadError.self) { try await pool.run(Square(1)) }
        #expect(error?.code == .workerStartFailed, "\(String(describing: error))")
        #expect(error?.termination == nil, "the SIGKILL was the pool's own")
        #expect((error?.cause as? OffloadError)?.code == .protocolViolation)
        await pool.shutdown()
    }

    @Test("a worker that crashes before its hello is workerStartFailed with the signal")
    func crashBeforeHello() async throws {
        let pool = try ProcessPool(
            configuration: TestWorker.configuration(workers: 1) { $0.arguments = ["--crash-before-hello"] }
        )
        let error = await #expect(throws: OffloadError.self) { try await pool.run(Square(1)) }
        if TestWorker.segfaultTermination == .exited(66) {
            // TSan's runtime turns the SIGSEGV into an exit: an exit before hello.
            #expect(error?.code == .workerEntryPointMissing && error?.termination == .exited(66))
        } else {
            #expect(error?.code == .workerStartFailed)
            #expect(error?.termination == .signaled(SIGSEGV))
        }
        await pool.shutdown()
    }

    @Test("an output the parent cannot decode names the job and the worker, and is not a remote error")
    func undecodableResultAttribution() async throws {
        try await withProcessPool(configuration: TestWorker.configuration(workers: 1)) { pool async throws in
            let error = await #expect(throws: OffloadError.self) {
                try await pool.run(Misbehave(step: .decodeResultInParent, mode: .throw))
            }
            #expect(error?.code == .decodingFailed)
            #expect(error?.job?.contains("Misbehave") == true, "\(String(describing: error))")
            #expect(error?.workerPID != nil)
            #expect(error?.remoteErrorType == nil)
            #expect(error?.cause != nil)
        }
    }

    /// Every good input's result is present and right; every faulty one failed with its own index, job and cause.
    private func expectOutcomes(
        _ results: [Result<Int, OffloadError>],
        of inputs: [FaultMix],
        faults: [Int: FaultMix.Fault],
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(results.count == inputs.count, sourceLocation: sourceLocation)
        for (index, result) in results.enumerated() {
            switch (result, faults[index]) {
            case (.success(let value), nil):
                #expect(value == index * 2, sourceLocation: sourceLocation)
            case (.failure(let error), let fault?):
                #expect(error.index == index, "\(fault) at \(index): \(error)", sourceLocation: sourceLocation)
                #expect(error.job?.contains("index: \(index),") == true, "\(error)", sourceLocation: sourceLocation)
                #expect(
                    error.code == (fault == .throw ? .jobFailed : .workerCrashed),
                    "\(error)",
                    sourceLocation: sourceLocation
                )
            default:
                Issue.record("input \(index): \(result)", sourceLocation: sourceLocation)
            }
        }
    }
}

@Suite struct WorkerStderrTests {
    @Test("forwarding passes a burst, then counts what exceeds the rate and announces it once")
    func forwardingIsRateLimited() {
        var forwarder = StderrForwarder(linesPerSecond: 10)
        let burst = forwarder.admit((0..<25).map { "line \($0)" }, now: 1_000_000_000)
        #expect(burst.split(separator: "\n").count == 10)
        #expect(forwarder.suppressed == 15)
        let later = forwarder.admit(["after a second"], now: 2_000_000_000)
        #expect(later.hasPrefix("offload: 15 lines of worker stderr not shown"))
        #expect(later.hasSuffix("after a second\n"))
        #expect(forwarder.suppressed == 0)
    }

    @Test("the tail kept for an error ends where a stack trace begins, so the fatal error line stays")
    func tailStopsAtTheTrace() {
        var tail = StderrTail(keep: 3)
        let text =
            "job output\nmain.swift:1: Fatal error: boom\nCurrent stack trace:\n"
            + (0..<40).map { "\($0) frame" }.joined(separator: "\n") + "\n"
        var bytes = Array(text.utf8)
        _ = bytes.withUnsafeMutableBytes { tail.append(UnsafeRawBufferPointer($0)) }
        #expect(tail.summary(keep: 3) == ["job output", "main.swift:1: Fatal error: boom", "Current stack trace:"])
    }
}
