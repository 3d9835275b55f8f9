import Glibc
import Offload
import OffloadTestJobs
import Synchronization
import Testing

/// What every ``JobExecutor`` does the same way: one behaviour, every executor.
@Suite(.serialized, .timeLimit(.minutes(1)))
struct ExecutorConformanceTests {
    @Test("run returns the job's output and throws its failure", arguments: ExecutorKind.allCases)
    func runReturnsOrThrows(kind: ExecutorKind) async throws {
        let pool = try kind.make()
        #expect(try await pool.run(Square(12)) == 144)
        let error = await #expect(throws: (any Error).self) { try await pool.run(Fail("no")) }
        if kind.isRemote {
            #expect((error as? OffloadError)?.code == .jobFailed)
        } else {
            #expect((error as? TestJobError)?.description == "no")
        }
        await pool.shutdown(cancelPending: false)
        #expect(pool.stats.completed == 1 && pool.stats.failed == 1 && pool.stats.isConsistent)
    }

    @Test("map returns outputs in input order from any sequence", arguments: ExecutorKind.allCases)
    func mapIsOrderedOverAnySequence(kind: ExecutorKind) async throws {
        let pool = try kind.make()
        let lazy = (0..<3_000).lazy.map { @Sendable in Square($0) }
        #expect(try await pool.map(lazy) == (0..<3_000).map { $0 * $0 })
        #expect(try await pool.map([Square]()) == [])
        await pool.shutdown(cancelPending: false)
        #expect(pool.stats.isConsistent && pool.stats.failed == 0)
    }

    @Test("map, mapResults and mapUnordered iterate a lazy input on the caller's actor, never on a pool or global thread")
    func mapsIterateTheirInputOnTheCallersActor() async {
        // The main actor is not tied to one thread on Linux (the main queue is drained by whichever thread is free),
        // so the check is the runtime's own: a transform isolated to the main actor traps when it runs anywhere else,
        // which ends the child process with a signal instead of success.
        await #expect(processExitsWith: .success) {
            try await mapEveryExecutorOverAMainActorInput()
        }
    }

    @Test("map throws the first failure in input order, naming its input", arguments: ExecutorKind.allCases)
    func mapNamesTheFailingInput(kind: ExecutorKind) async throws {
        let pool = try kind.make()
        let jobs = (0..<200).map { Check($0, fails: $0 == 137 || $0 == 150) }
        let error = await #expect(throws: OffloadError.self) { _ = try await pool.map(jobs) }
        #expect(error?.index == 137)
        #expect(error?.job?.contains("Check(137, fails)") == true)
        await pool.shutdown(cancelPending: false)
        #expect(pool.stats.isConsistent)
    }

    @Test("mapResults keeps going past failures and names each failing input", arguments: ExecutorKind.allCases)
    func mapResultsKeepsGoing(kind: ExecutorKind) async throws {
        let pool = try kind.make()
        let failing: Set<Int> = [0, 3, 999, 1_500]
        let jobs = (0..<2_000).map { Check($0, fails: failing.contains($0)) }
        let results = try await pool.mapResults(jobs)
        #expect(results.count == 2_000)
        for (index, result) in results.enumerated() {
            switch result {
            case .success: #expect(!failing.contains(index))
            case .failure(let error):
                #expect(failing.contains(index) && error.index == index && error.code == .jobFailed)
                #expect(error.job?.contains("Check(\(index), fails)") == true)
            }
        }
        await pool.shutdown(cancelPending: false)
        #expect(pool.stats.isConsistent)
    }

    @Test("mapUnordered yields every input once, with its index", arguments: ExecutorKind.allCases)
    func mapUnorderedYieldsEveryInputOnce(kind: ExecutorKind) async throws {
        let pool = try kind.make()
        var seen = [Int: Int]()
        for try await (index, value) in try pool.mapUnordered((0..<2_500).map(Square.init)) {
            #expect(seen.updateValue(value, forKey: index) == nil)
        }
        #expect(seen.count == 2_500 && seen.allSatisfy { $0.value == $0.key * $0.key })
        var outcomes = 0
        var failures = 0
        let jobs = (0..<100).map { Check($0, fails: $0 % 10 == 0) }
        for try await (index, result) in try pool.mapUnorderedResults(jobs) {
            outcomes += 1
            if case .failure(let error) = result {
                failures += 1
                #expect(error.index == index && index % 10 == 0)
            }
        }
        #expect(outcomes == 100 && failures == 10)
        await pool.shutdown(cancelPending: false)
        #expect(pool.stats.isConsistent)
    }

    @Test("ending a mapUnordered loop early cancels the chunks not yet started", arguments: ExecutorKind.allCases)
    func breakingOutCancelsTheRest(kind: ExecutorKind) async throws {
        let pool = try kind.make()
        for try await _ in try pool.mapUnordered((0..<400).map { _ in Sleep(milliseconds: 5) }, chunkSize: 1) {
            break
        }
        await pool.shutdown(cancelPending: false)
        let stats = pool.stats
        #expect(stats.cancelled > 0 && stats.completed < 400 && stats.isConsistent)
    }

    @Test("cancelling the task awaiting map cancels its queued chunks", arguments: ExecutorKind.allCases)
    func cancellingTheAwaitingTaskCancelsMap(kind: ExecutorKind) async throws {
        let pool = try kind.make()
        let started = Mutex(false)
        let mapping = Task {
            try await pool.map((0..<200).map { _ in Sleep(milliseconds: 10) }, chunkSize: 1)
        }
        // Cancel once the whole window (16 chunks) is submitted and running: then most chunks are still queued, and
        // cancelling must withdraw them. (A cancel that lands while the map is still submitting stops it from
        // submitting more, and may then find nothing queued to withdraw.)
        while pool.stats.running == 0 || pool.stats.submitted < 16 { await Task.yield() }
        started.withLock { $0 = true }
        mapping.cancel()
        await #expect(throws: CancellationError.self) { _ = try await mapping.value }
        await pool.shutdown(cancelPending: false)
        let stats = pool.stats
        #expect(started.withLock { $0 } && stats.cancelled > 0 && stats.completed < 200 && stats.isConsistent)
    }

    @Test("a scoped pool is shut down when its body throws, cancelling what is queued")
    func scopedPoolShutsDownWhenTheBodyThrows() async throws {
        let escaped = Mutex<ThreadPool?>(nil)
        await #expect(throws: TestJobError.self) {
            try await withThreadPool(workers: 1) { pool in
                escaped.withLock { $0 = pool }
                _ = try pool.submit(Sleep(milliseconds: 50))
                _ = try (0..<20).map { _ in try pool.submit(Sleep(milliseconds: 50)) }
                throw TestJobError("body failed")
            }
        }
        let pool = try #require(escaped.withLock { $0 })
        #expect(throws: OffloadError.self) { _ = try pool.submit(Square(1)) }
        #expect(pool.stats.cancelled >= 19 && pool.stats.pending == 0 && pool.stats.isConsistent)
    }

    @Test("a pool released without shutdown still runs what it accepted and leaves no worker behind")
    func releasedPoolFinishesItsWork() async throws {
        var pool: ProcessPool? = try ProcessPool(configuration: TestWorker.configuration(workers: 2))
        let handle = try pool!.submit(Square(9))
        while pool!.workerPIDs.count < 2 { await Task.yield() }
        let pids = pool!.workerPIDs
        pool = nil
        #expect(try await handle.value == 81)
        for pid in pids { #expect(await TestWorker.waitUntilGone(pid)) }
    }

    @Test("running work sees its cancellation through OffloadTask.isCancelled")
    func runningWorkSeesCancellation() async throws {
        try await withThreadPool(workers: 1) { pool in
            let gate = Gate()
            let handle = try pool.submit { () -> Bool in
                gate.wait()
                return OffloadTask.isCancelled
            }
            while pool.stats.running == 0 { await Task.yield() }
            #expect(handle.cancel() == false)  // already running: not withdrawn
            gate.open()
            #expect(try await handle.value == true)
        }
    }
}

/// Runs every executor's ordered, per-item and unordered maps over a lazy input whose transform is isolated to the
/// main actor (it mutates main-actor state), as a `lazy.map` written in `main.swift` is.
@MainActor
private func mapEveryExecutorOverAMainActorInput() async throws {
    for kind in ExecutorKind.allCases {
        let pool = try kind.make()
        var transformed = 0
        let lazy = (0..<2_000).lazy.map { index in
            transformed += 1
            return Square(index)
        }
        #expect(try await pool.map(lazy).count == 2_000)
        #expect(try await pool.mapResults(lazy).count == 2_000)
        var streamed = 0
        for try await _ in try pool.mapUnordered(lazy) { streamed += 1 }
        #expect(streamed == 2_000)
        #expect(transformed == 6_000)
        await pool.shutdown(cancelPending: false)
    }
}

