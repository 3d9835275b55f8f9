import Offload
import OffloadTestJobs
import Synchronization
import Testing

/// Progress of every map on every executor: exact item counts, the finished snapshot, rate limiting, and a job's own
/// fraction relayed from wherever it runs.
@Suite(.serialized, .timeLimit(.minutes(1)))
struct ProgressTests {
    /// Collects every snapshot a monitor delivers to its callback.
    final class Recorder: Sendable {
        let snapshots = Mutex<[ProgressSnapshot]>([])
        func append(_ snapshot: ProgressSnapshot) { snapshots.withLock { $0.append(snapshot) } }
        var all: [ProgressSnapshot] { snapshots.withLock { $0 } }
    }

    @Test("map's last snapshot counts every item once, with the total, on every executor", arguments: ExecutorKind.allCases)
    func mapCountsEveryItem(kind: ExecutorKind) async throws {
        let pool = try kind.make()
        let progress = ProgressMonitor()
        let outputs = try await pool.map((0..<1_000).map { Square($0) }, progress: progress)
        #expect(outputs.count == 1_000)
        var last: ProgressSnapshot?
        for await snapshot in progress.updates { last = snapshot }  // the stream ends after the finished snapshot
        #expect(last?.isFinished == true)
        #expect(last?.completed == 1_000 && last?.failed == 0 && last?.total == 1_000)
        #expect(last?.fractionCompleted == 1 && last?.estimatedTimeRemaining == .zero)
        await pool.shutdown(cancelPending: false)
    }

    @Test("mapResults counts failed items apart from completed ones", arguments: ExecutorKind.allCases)
    func mapResultsCountsFailures(kind: ExecutorKind) async throws {
        let pool = try kind.make()
        let failing: Set<Int> = [0, 7, 499, 999]
        let progress = ProgressMonitor()
        let jobs = (0..<1_000).map { Check($0, fails: failing.contains($0)) }
        _ = try await pool.mapResults(jobs, progress: progress)
        let last = progress.snapshot
        #expect(last.isFinished && last.completed == 996 && last.failed == 4 && last.total == 1_000)
        await pool.shutdown(cancelPending: false)
    }

    @Test("mapUnorderedResults over a lazy input learns the total when the input ends", arguments: ExecutorKind.allCases)
    func unorderedLearnsTotal(kind: ExecutorKind) async throws {
        let pool = try kind.make()
        let progress = ProgressMonitor()
        let lazy = (0..<300).lazy.map { @Sendable in Check($0, fails: $0 % 100 == 0) }
        var seen = 0
        for try await _ in try pool.mapUnorderedResults(lazy, progress: progress) { seen += 1 }
        #expect(seen == 300)
        let last = progress.snapshot
        #expect(last.isFinished && last.completed == 297 && last.failed == 3 && last.total == 300)
        await pool.shutdown(cancelPending: false)
    }

    @Test("a worker that crashes on an item counts that item failed once; the rest complete")
    func crashesCountOnce() async throws {
        let pool = try ProcessPool(configuration: TestWorker.configuration(workers: 2))
        let progress = ProgressMonitor()
        let jobs = (0..<40).map { FaultMix(index: $0, fault: $0 == 5 || $0 == 30 ? .sigsegv : .none) }
        let results = try await pool.mapResults(jobs, chunkSize: 8, progress: progress)
        #expect(results.filter { (try? $0.get()) == nil }.count == 2)
        let last = progress.snapshot
        #expect(last.isFinished && last.completed == 38 && last.failed == 2)
        #expect(pool.stats.workersReplaced >= 2)
        await pool.shutdown(cancelPending: false)
    }

    @Test("an idempotent job retried after a crash counts once, as completed")
    func retriesCountOnce() async throws {
        let pool = try ProcessPool(configuration: TestWorker.configuration(workers: 1) { $0.retries = 1 })
        let counter = try SharedCounter()
        let progress = ProgressMonitor()
        let outputs = try await pool.map([CrashOnce(counter: counter.handle)], progress: progress)
        #expect(outputs == [42])
        let last = progress.snapshot
        #expect(last.isFinished && last.completed == 1 && last.failed == 0 && last.total == 1)
        await pool.shutdown(cancelPending: false)
    }

    @Test("a map that throws ends its progress: finished, with what had an outcome, never more than the total")
    func failedMapFinishes() async throws {
        let pool = try ThreadPool(workers: 2)
        let progress = ProgressMonitor()
        await #expect(throws: TestJobError.self) {
            _ = try await pool.map(0..<10_000, chunkSize: 10, progress: progress) { (n: Int) -> Int in
                if n == 5_000 { throw TestJobError("stop") }
                return n
            }
        }
        let last = progress.snapshot
        #expect(last.isFinished && last.failed == 10 && last.total == 10_000)
        #expect(last.completed + last.failed <= 10_000 && last.completed % 10 == 0)
        await pool.shutdown(cancelPending: false)
    }

    @Test("updates are rate-limited: with a long interval only the first and the finished snapshot arrive")
    func rateLimited() async throws {
        let recorder = Recorder()
        let progress = ProgressMonitor(interval: .seconds(3_600)) { recorder.append($0) }
        let pool = try ThreadPool(workers: 2)
        _ = try await pool.map(0..<5_000, chunkSize: 10, progress: progress) { $0 &* 3 }
        let snapshots = recorder.all
        #expect(snapshots.count == 2)
        #expect(snapshots.last?.isFinished == true && snapshots.last?.completed == 5_000)
        #expect(snapshots.first?.isFinished == false)
        await pool.shutdown(cancelPending: false)
    }

    @Test("every in-process map takes a monitor", arguments: [1, 2, 3, 4, 5])
    func everyInProcessMap(variant: Int) async throws {
        let progress = ProgressMonitor()
        let items = Array(0..<500)
        switch variant {
        case 1:
            try await withThreadPool(workers: 2) { pool in
                _ = try await pool.mapResults(items, progress: progress) { n in
                    if n == 3 { throw TestJobError("3") }
                    return n
                }
            }
        case 2:
            try await withThreadPool(workers: 2) { pool in
                for try await _ in try pool.mapUnordered(items, progress: progress, { $0 + 1 }) {}
            }
        case 3:
            _ = try await parallelMap(items, mode: .isolated(workers: 2), progress: progress, makeState: { 0 }) {
                state, n in
                state += 1
                return n
            }
        case 4:
            _ = try await parallelMap(items, mode: .io(maxConcurrency: 4), progress: progress) { $0 }
        default:
            try await withIsolatedPool(workers: 2, makeState: { 0 }) { pool in
                for try await _ in try pool.mapUnordered(items, progress: progress, { _, n in n }) {}
            }
        }
        let last = progress.snapshot
        #expect(last.isFinished && last.done == 500 && last.failed == (variant == 1 ? 1 : 0) && last.total == 500)
    }

    @Test("a job's own fraction reaches the caller while it runs, in-process and from a worker process",
          arguments: [ExecutorKind.threadPool, .processPool, .workerPoolProcesses])
    func jobFractionRelayed(kind: ExecutorKind) async throws {
        let pool = try kind.make()
        let gate = try FIFOGate()
        let progress = ProgressMonitor(interval: .zero)
        let map = Task {
            try await pool.mapResults(
                [ReportThenWait(fraction: 0.25, fifoPath: gate.path, value: 7)],
                progress: progress
            )
        }
        var running: ProgressSnapshot?
        for await snapshot in progress.updates where snapshot.runningFraction > 0 {
            running = snapshot
            break
        }
        #expect(running?.runningFraction == 0.25 && running?.completed == 0)
        #expect(running?.fractionCompleted == 0.25)
        gate.open()
        let results = try await map.value
        #expect((try? results[0].get()) == 7)
        let last = progress.snapshot
        #expect(last.isFinished && last.completed == 1 && last.runningFraction == 0)
        await pool.shutdown(cancelPending: false)
    }

    @Test("in-process jobs that report keep their fractions in items: a report counts the chunk's items before it")
    func reportsCountEarlierItemsOfTheChunk() async throws {
        let recorder = Recorder()
        let progress = ProgressMonitor(interval: .zero) { recorder.append($0) }
        let pool = try ThreadPool(workers: 1)
        _ = try await pool.map(0..<12, chunkSize: 4, progress: progress) { (n: Int) -> Int in
            JobProgress.report(fractionCompleted: 0.5)
            return n
        }
        // One worker runs the chunks one after another; within a chunk the fourth item's report says 3.5 items.
        let fractions = Set(recorder.all.map(\.runningFraction))
        #expect(fractions.isSuperset(of: [0.5, 1.5, 2.5, 3.5]))
        #expect(progress.tracksItems)
        await pool.shutdown(cancelPending: false)
    }

    @Test("a map whose jobs do not report stops counting items within chunks once a chunk has ended")
    func silentJobsAreNotCountedWithinChunks() async throws {
        let progress = ProgressMonitor()
        #expect(progress.tracksItems)  // nothing ended yet: the first chunks count, in case their jobs report
        let pool = try ThreadPool(workers: 2)
        _ = try await pool.map(0..<1_000, chunkSize: 10, progress: progress) { $0 &* 3 }
        #expect(!progress.tracksItems)
        #expect(progress.snapshot.completed == 1_000)
        await pool.shutdown(cancelPending: false)
    }

    @Test("a job sees whether anyone watches its progress", arguments: [ExecutorKind.threadPool, .processPool])
    func jobSeesWhetherObserved(kind: ExecutorKind) async throws {
        let pool = try kind.make()
        #expect(try await pool.map([IsProgressObserved()]) == [0])
        #expect(try await pool.map([IsProgressObserved()], progress: ProgressMonitor()) == [1])
        await pool.shutdown(cancelPending: false)
    }

    @Test("snapshot arithmetic: fraction, rate and time left")
    func snapshotArithmetic() {
        let snapshot = ProgressSnapshot(completed: 30, failed: 10, total: 100, runningFraction: 0, elapsed: .seconds(4))
        #expect(snapshot.done == 40 && snapshot.fractionCompleted == 0.4)
        #expect(snapshot.itemsPerSecond == 10)
        #expect(snapshot.estimatedTimeRemaining == .seconds(6))
        #expect(ProgressSnapshot(completed: 3).fractionCompleted == nil)
        #expect(ProgressSnapshot(completed: 3).estimatedTimeRemaining == nil)
    }

    @Test("the bar renders fraction, counts, rate, time left and failures in one line")
    func barRendering() {
        let bar = ProgressBar(width: 10)
        let running = ProgressSnapshot(completed: 40, failed: 5, total: 100, elapsed: .seconds(3))
        #expect(bar.render(running) == "[####------]   45%  45/100  15/s  3s left  5 failed")
        let unknown = ProgressSnapshot(completed: 20_000, elapsed: .seconds(1))
        #expect(bar.render(unknown) == "20000 done  20.0k/s")
        let done = ProgressSnapshot(completed: 100, total: 100, elapsed: .seconds(125), isFinished: true)
        #expect(bar.render(done) == "[##########]  100%  100/100  0.8/s  in 2m05s")
    }
}
