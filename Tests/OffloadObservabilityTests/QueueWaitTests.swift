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

extension Duration {
    fileprivate var nanosecondsClamped64: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
