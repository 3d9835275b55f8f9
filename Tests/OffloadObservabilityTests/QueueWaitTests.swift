import CoreMetrics
import Dispatch
import MetricsTestKit
@testable import Offload
import OffloadMetrics
import OffloadTestJobs
import Synchronization
import Testing

/// Queue waits (`offload_task_queue_wait_seconds`) of the in-process pools, read back through MetricsTestKit: a task
/// held back behind a blocking task shows a wait at least as long as it was held back. The hold is timed by the test
/// and released through a gate; nothing waits on a sleep to know that something happened.
@Suite(.serialized, .timeLimit(.minutes(1)))
struct QueueWaitTests {
    /// How long the second task is kept waiting (a duration to measure, not a synchronisation).
    static let hold = Duration.milliseconds(30)

    /// A signal sent once from any thread and awaited without blocking a thread.
    final class Signal: Sendable {
        private let stream: AsyncStream<Void>
        private let continuation: AsyncStream<Void>.Continuation
        init() { (stream, continuation) = AsyncStream.makeStream(of: Void.self) }
        func fire() { continuation.finish() }
        func wait() async { for await _ in stream {} }
    }

    /// A gate the first task waits at: blocking on a pool thread, or suspending in an async task (which must not
    /// block a thread of the cooperative pool).
    final class Gate: Sendable {
        private let semaphore = DispatchSemaphore(value: 0)
        private let signal = Signal()
        func open() {
            semaphore.signal()
            signal.fire()
        }
        func block() { semaphore.wait() }
        func passed() async { await signal.wait() }
    }

    /// Runs the held-back scenario on one pool: `submit` queues a closure; the first one blocks until the gate opens,
    /// the second one waits in the queue meanwhile. Returns the queue waits recorded for `pool` and how long the
    /// second task was held back at least (from its submission returning to the gate opening).
    static func heldBack(
        pool name: String,
        submitBlocking: (_ started: Signal, _ gate: Gate) throws -> TaskHandle<Int>,
        submitSecond: () throws -> TaskHandle<Int>,
        shutdown: () async -> Void
    ) async throws -> (waits: [Int64], heldBack: Int64) {
        let metrics = TestMetrics()
        let token = OffloadMetrics.bootstrap(factory: metrics)
        defer { PoolObservation.remove(token) }
        let started = Signal()
        let gate = Gate()
        let first = try submitBlocking(started, gate)
        await started.wait()  // the only worker is busy from here on
        let submitted = ContinuousClock.now
        let second = try submitSecond()
        try await Task.sleep(for: hold)
        let held = ContinuousClock.now - submitted
        gate.open()
        #expect(try await first.value == 1)
        #expect(try await second.value == 2)
        await shutdown()
        let waits = metrics.timers
            .filter { $0.label == MetricName.queueWait && $0.dimensions.contains { $0 == ("pool", name) } }
            .flatMap(\.values)
        return (waits, held.nanosecondsClamped64)
    }

    @Test("ThreadPool: the task queued behind a blocking one reports at least the time it was held back")
    func threadPool() async throws {
        let name = uniquePoolName("wait-threads")
        let pool = try ThreadPool(workers: 1, name: name)
        let (waits, held) = try await Self.heldBack(
            pool: name,
            submitBlocking: { started, gate in try pool.submit { started.fire(); gate.block(); return 1 } },
            submitSecond: { try pool.submit { 2 } },
            shutdown: { await pool.shutdown() }
        )
        #expect(waits.count == 2, "one wait per task: \(waits)")
        #expect((waits.max() ?? 0) >= held, "waits \(waits) ns, held back \(held) ns")
        #expect(waits.allSatisfy { $0 >= 0 && $0 < 60_000_000_000 })
    }

    @Test("IsolatedPool: the same, under the executor label `isolated`")
    func isolatedPool() async throws {
        let name = uniquePoolName("wait-isolated")
        let metrics = TestMetrics()
        let token = OffloadMetrics.bootstrap(factory: metrics)
        defer { PoolObservation.remove(token) }
        let pool = try IsolatedPool<Int>(workers: 1, name: name) { 0 }
        let (waits, held) = try await Self.heldBack(
            pool: name,
            submitBlocking: { started, gate in
                try pool.submit(()) { _, _ in
                    started.fire()
                    gate.block()
                    return 1
                }
            },
            submitSecond: { try pool.submit(()) { _, _ in 2 } },
            shutdown: { await pool.shutdown() }
        )
        #expect((waits.max() ?? 0) >= held, "waits \(waits) ns, held back \(held) ns")
        let labelled = metrics.timers.filter { timer in
            timer.label == MetricName.queueWait && timer.dimensions.contains { $0 == ("pool", name) }
        }
        #expect(labelled.allSatisfy { $0.dimensions.contains { $0 == ("executor", "isolated") } })
    }

    @Test("WorkerPool in .io mode (the async runner): the same, under the executor label `async`")
    func asyncRunner() async throws {
        let pool = try WorkerPool(mode: .io(maxConcurrency: 1), name: uniquePoolName("wait-io"))
        let name = try #require(
            { if case .async(let runner) = pool.engine { return runner.name } else { return nil } }())
        let (waits, held) = try await Self.heldBack(
            pool: name,
            submitBlocking: { started, gate in
                try pool.submit { () async -> Int in
                    started.fire()
                    await gate.passed()
                    return 1
                }
            },
            submitSecond: { try pool.submit { 2 } },
            shutdown: { await pool.shutdown() }
        )
        #expect(waits.count == 2, "one wait per task: \(waits)")
        #expect((waits.max() ?? 0) >= held, "waits \(waits) ns, held back \(held) ns")
    }

    @Test("the async runner's tasks are counted in batches: exact totals, at most one report per idle turn")
    func asyncRunnerCounters() async throws {
        let metrics = TestMetrics()
        let token = OffloadMetrics.bootstrap(factory: metrics)
        defer { PoolObservation.remove(token) }
        let pool = try WorkerPool(mode: .io(maxConcurrency: 4), name: uniquePoolName("count-io"))
        guard case .async(let runner) = pool.engine else {
            Issue.record("not the async runner")
            return
        }
        let handles = try (0..<200).map { index in
            try pool.submit { () async throws -> Int in
                if index % 20 == 0 { throw TestJobError("bad \(index)") }
                return index
            }
        }
        for handle in handles { _ = try? await handle.value }
        await pool.shutdown()
        #expect(MetricsTests.total(metrics, MetricName.submitted, pool: runner.name) == 200)
        #expect(MetricsTests.total(metrics, MetricName.tasks, pool: runner.name, ("outcome", "completed")) == 190)
        #expect(MetricsTests.total(metrics, MetricName.tasks, pool: runner.name, ("outcome", "failed")) == 10)
        #expect(MetricsTests.lastGauge(metrics, MetricName.workers, pool: runner.name) == 0)  // shut down
        let durations = MetricsTests.timerValues(metrics, MetricName.taskDuration, pool: runner.name)
        #expect(!durations.isEmpty && durations.count <= 200)
    }
}

/// When the async runner reports, without tasks: the machine is fed events and clock readings by hand.
struct AsyncRunnerReportTests {
    typealias Machine = AsyncRunnerStateMachine<String, Int>
    static let millisecond: UInt64 = 1_000_000

    @Test("a runner going idle reports its batch, but at most once a millisecond; a busy one every 100 ms")
    func reportsPerBatch() throws {
        var machine = Machine(limit: 2)
        // Nothing observed yet: nothing to report.
        let early = machine.takeReport(now: 50 * Self.millisecond)
        #expect(early == nil)
        _ = machine.submit("a")
        machine.started(waited: 1_500)
        machine.finished(succeeded: true, nanoseconds: 700, observed: true)
        // Going idle (the ending task holds the only slot in use, nothing queued) 50 ms after the start: due.
        let firstReport = machine.takeReport(now: 50 * Self.millisecond)
        let first = try #require(firstReport)
        #expect(first.tally.unreported == 1 && first.tally.waits == [.nanoseconds(1_500)])
        #expect(first.tally.durations == [.nanoseconds(700)] && first.stats.completed == 1)
        _ = machine.release()
        // Idle again a tenth of a millisecond later: held back, then forced out (shutdown).
        _ = machine.submit("b")
        machine.started(waited: 10)
        machine.finished(succeeded: false, nanoseconds: 5, observed: true)
        let tooSoon = machine.takeReport(now: 50 * Self.millisecond + 100_000)
        #expect(tooSoon == nil)
        let forcedReport = machine.takeReport(now: 50 * Self.millisecond + 200_000, force: true)
        let forced = try #require(forcedReport)
        #expect(forced.tally.unreported == 1 && forced.stats.failed == 1 && forced.stats.completed == 1)
        _ = machine.release()
        // Busy (every slot taken, more queued): nothing until 100 ms after the last report.
        for name in ["c", "d", "e"] { _ = machine.submit(name) }
        machine.started()
        machine.finished(succeeded: true, nanoseconds: 1, observed: true)
        let busyEarly = machine.takeReport(now: 100 * Self.millisecond)
        #expect(busyEarly == nil)
        let busyDue = machine.takeReport(now: 151 * Self.millisecond)
        #expect(busyDue != nil)
    }

    @Test("samples stop at the report's limit; the counts do not")
    func samplesAreBounded() throws {
        var machine = Machine(limit: 1)
        for index in 0..<100 {
            _ = machine.submit("\(index)")
            machine.started(waited: UInt64(index))
            machine.finished(succeeded: true, nanoseconds: index, observed: true)
        }
        let taken = machine.takeReport(now: 0, force: true)
        let report = try #require(taken)
        #expect(report.tally.unreported == 100 && report.stats.completed == 100)
        #expect(report.tally.waits.count == PoolReport.sampleLimit)
        #expect(report.tally.durations.count == PoolReport.sampleLimit)
    }
}

extension Duration {
    fileprivate var nanosecondsClamped64: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
