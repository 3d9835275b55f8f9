import CoreMetrics
import MetricsTestKit
import Offload
import OffloadMetrics
import OffloadTestJobs
import Testing

/// The swift-metrics view of the pools, read back through MetricsTestKit: exact counts, gauges, sampled timers.
@Suite(.serialized, .timeLimit(.minutes(1)))
struct MetricsTests {
    /// The counter `label` of pool `pool` with the extra dimension `extra`, summed over its increments.
    static func total(_ metrics: TestMetrics, _ label: String, pool: String, _ extra: (String, String)? = nil) -> Int64 {
        metrics.counters
            .filter { counter in
                counter.label == label && counter.dimensions.contains { $0 == ("pool", pool) }
                    && (extra.map { wanted in counter.dimensions.contains { $0 == wanted } } ?? true)
            }
            .reduce(0) { $0 + $1.totalValue }
    }

    static func timerValues(_ metrics: TestMetrics, _ label: String, pool: String) -> [Int64] {
        metrics.timers.filter { $0.label == label && $0.dimensions.contains { $0 == ("pool", pool) } }
            .flatMap(\.values)
    }

    static func lastGauge(_ metrics: TestMetrics, _ label: String, pool: String) -> Double? {
        metrics.recorders.first { $0.label == label && $0.dimensions.contains { $0 == ("pool", pool) } }?.lastValue
    }

    @Test("a thread pool's tasks are counted exactly by outcome, with sampled durations and gauges")
    func threadPoolCounters() async throws {
        let metrics = TestMetrics()
        let token = OffloadMetrics.bootstrap(factory: metrics)
        defer { PoolObservation.remove(token) }
        let name = uniquePoolName("metrics-threads")
        let pool = try ThreadPool(workers: 2, name: name)
        let handles = try (0..<300).map { index in
            try pool.submit { () throws -> Int in
                if index % 10 == 0 { throw TestJobError("bad \(index)") }
                return index
            }
        }
        for handle in handles { _ = try? await handle.value }
        _ = try await pool.map(0..<1_000, chunkSize: 100) { $0 + 1 }  // 10 more tasks, one per chunk
        await pool.shutdown()

        #expect(Self.total(metrics, MetricName.submitted, pool: name) == 310)
        #expect(Self.total(metrics, MetricName.tasks, pool: name, ("outcome", "completed")) == 280)
        #expect(Self.total(metrics, MetricName.tasks, pool: name, ("outcome", "failed")) == 30)
        #expect(Self.total(metrics, MetricName.tasks, pool: name, ("outcome", "cancelled")) == 0)
        let durations = Self.timerValues(metrics, MetricName.taskDuration, pool: name)
        #expect(!durations.isEmpty && durations.count <= 310 && durations.allSatisfy { $0 >= 0 })
        #expect(Self.lastGauge(metrics, MetricName.pending, pool: name) == 0)
        #expect(Self.lastGauge(metrics, MetricName.running, pool: name) == 0)
        #expect(Self.lastGauge(metrics, MetricName.workers, pool: name) == 0)  // set to 0 once shut down
    }

    @Test("a process pool reports crashes by cause, replacements, wire bytes and queue waits")
    func processPoolCounters() async throws {
        let metrics = TestMetrics()
        let token = OffloadMetrics.bootstrap(factory: metrics)
        defer { PoolObservation.remove(token) }
        let name = uniquePoolName("metrics-processes")
        let pool = try ProcessPool(configuration: TestWorker.configuration(workers: 1, name: name))
        #expect(try await pool.map((0..<50).map { Square($0) }, chunkSize: 10).count == 50)
        await #expect(throws: OffloadError.self) { try await pool.run(Die(.sigkill)) }
        #expect(try await pool.run(Square(3)) == 9)
        await pool.shutdown()
        let stats = pool.stats

        #expect(Self.total(metrics, MetricName.submitted, pool: name) == Int64(stats.submitted))
        #expect(Self.total(metrics, MetricName.tasks, pool: name, ("outcome", "completed")) == 6)
        #expect(Self.total(metrics, MetricName.tasks, pool: name, ("outcome", "failed")) == 1)
        #expect(Self.total(metrics, MetricName.workerExits, pool: name, ("cause", "crashed")) == 1)
        #expect(Self.total(metrics, MetricName.workerExits, pool: name, ("cause", "shutdown")) == 1)
        #expect(Self.total(metrics, MetricName.workersReplaced, pool: name) == 1)
        #expect(Self.total(metrics, MetricName.wireBytes, pool: name, ("direction", "sent")) > 50)
        #expect(Self.total(metrics, MetricName.wireBytes, pool: name, ("direction", "received")) > 50)
        #expect(!Self.timerValues(metrics, MetricName.queueWait, pool: name).isEmpty)
        #expect(!Self.timerValues(metrics, MetricName.taskDuration, pool: name).isEmpty)
    }

    @Test("a late report with smaller counts adds nothing: counters never run backwards")
    func lateReportsAddNothing() {
        let metrics = TestMetrics()
        let observer = MetricsPoolObserver(factory: metrics)
        let name = uniquePoolName("metrics-order")
        func report(_ completed: Int, pending: Int) -> PoolReport {
            PoolReport(
                pool: name,
                executor: .threads,
                stats: PoolStats(workers: 2, submitted: completed + pending, completed: completed, pending: pending)
            )
        }
        observer.poolReport(report(10, pending: 5))
        observer.poolReport(report(25, pending: 0))
        observer.poolReport(report(12, pending: 9))  // older, delivered late
        #expect(Self.total(metrics, MetricName.tasks, pool: name, ("outcome", "completed")) == 25)
        #expect(Self.total(metrics, MetricName.submitted, pool: name) == 25)
        #expect(Self.lastGauge(metrics, MetricName.pending, pool: name) == 0)
    }

    @Test("the duration buckets run from a microsecond to ten minutes, ascending")
    func bucketsSpanMicrosecondsToMinutes() {
        let buckets = OffloadMetrics.durationBuckets
        #expect(buckets.first == .microseconds(1) && buckets.last == .seconds(600))
        #expect(zip(buckets, buckets.dropFirst()).allSatisfy { $0 < $1 })
        #expect(OffloadMetrics.histogramBuckets[MetricName.taskDuration] == buckets)
    }
}
