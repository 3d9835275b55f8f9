import CoreMetrics
import OffloadCore
import Synchronization

/// The ``PoolObserver`` behind ``OffloadMetrics``: turns each pool's cumulative ``PoolReport`` into counter increments
/// (the difference with the largest counts seen so far, so a late report adds nothing), sets the gauges, records the
/// sampled durations, and counts worker exits by cause.
public final class MetricsPoolObserver: PoolObserver {
    private let factory: any MetricsFactory
    private let pools = Mutex<[String: PoolMetrics]>([:])

    /// Creates an observer writing to `factory`.
    /// - Parameter factory: the metrics backend.
    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
    }

    public func poolReport(_ report: PoolReport) {
        let metrics = self.metrics(report.pool, report.executor)
        let delta = metrics.advance(to: report)
        if delta.submitted > 0 { metrics.submitted.increment(by: delta.submitted) }
        if delta.completed > 0 { metrics.completed.increment(by: delta.completed) }
        if delta.failed > 0 { metrics.failed.increment(by: delta.failed) }
        if delta.cancelled > 0 { metrics.cancelled.increment(by: delta.cancelled) }
        if delta.replaced > 0 { metrics.replaced.increment(by: delta.replaced) }
        if delta.bytesSent > 0 { metrics.bytesSent.increment(by: delta.bytesSent) }
        if delta.bytesReceived > 0 { metrics.bytesReceived.increment(by: delta.bytesReceived) }
        if delta.busySeconds > 0 { metrics.busy.increment(by: delta.busySeconds) }
        if delta.isLatest {
            metrics.pending.record(report.stats.pending)
            metrics.running.record(report.stats.running)
            metrics.workers.record(report.stats.workers)
        }
        for duration in report.durations { metrics.duration.recordNanoseconds(duration.clampedNanoseconds) }
        for wait in report.queueWaits { metrics.queueWait.recordNanoseconds(wait.clampedNanoseconds) }
    }

    public func poolEvent(_ event: PoolEvent) {
        let metrics = self.metrics(event.pool, event.executor)
        switch event.kind {
        case .workerExited:
            metrics.exits(event.cause ?? .crashed, factory: factory).increment()
        case .poolStarted:
            metrics.workers.record(event.workers)
        case .poolShutDown:
            metrics.workers.record(0)
        case .workerStarted, .workerReplaced:
            break
        }
    }

    private func metrics(_ pool: String, _ executor: OffloadExecutorKind) -> PoolMetrics {
        let key = "\(executor.rawValue)/\(pool)"
        if let known = pools.withLock(self, { $0[key] }) { return known }
        let created = PoolMetrics(pool: pool, executor: executor, factory: factory)
        return pools.withLock(self) { pools in
            if let raced = pools[key] { return raced }
            pools[key] = created
            return created
        }
    }
}

/// One pool's metric objects and the largest counts reported so far.
private final class PoolMetrics: Sendable {
    let dimensions: [(String, String)]
    let submitted: Counter
    let completed: Counter
    let failed: Counter
    let cancelled: Counter
    let replaced: Counter
    let bytesSent: Counter
    let bytesReceived: Counter
    let busy: FloatingPointCounter
    let pending: Gauge
    let running: Gauge
    let workers: Gauge
    let duration: Timer
    let queueWait: Timer
    private let seen = Mutex(Seen())
    private let exitCounters = Mutex<[PoolEvent.Cause: Counter]>([:])

    struct Seen {
        var submitted = 0, completed = 0, failed = 0, cancelled = 0, replaced = 0
        var bytesSent = 0, bytesReceived = 0
        var busyNanoseconds: Int64 = 0
    }

    struct Delta {
        var submitted = 0, completed = 0, failed = 0, cancelled = 0, replaced = 0
        var bytesSent = 0, bytesReceived = 0
        var busySeconds = 0.0
        /// No count went backwards: this report is the newest, so its gauges are current.
        var isLatest = true
    }

    init(pool: String, executor: OffloadExecutorKind, factory: any MetricsFactory) {
        let dimensions = [("pool", pool), ("executor", executor.rawValue)]
        self.dimensions = dimensions
        submitted = Counter(label: MetricName.submitted, dimensions: dimensions, factory: factory)
        completed = Counter(label: MetricName.tasks, dimensions: dimensions + [("outcome", "completed")], factory: factory)
        failed = Counter(label: MetricName.tasks, dimensions: dimensions + [("outcome", "failed")], factory: factory)
        cancelled = Counter(label: MetricName.tasks, dimensions: dimensions + [("outcome", "cancelled")], factory: factory)
        replaced = Counter(label: MetricName.workersReplaced, dimensions: dimensions, factory: factory)
        bytesSent = Counter(label: MetricName.wireBytes, dimensions: dimensions + [("direction", "sent")], factory: factory)
        bytesReceived = Counter(
            label: MetricName.wireBytes,
            dimensions: dimensions + [("direction", "received")],
            factory: factory
        )
        busy = FloatingPointCounter(label: MetricName.busy, dimensions: dimensions, factory: factory)
        pending = Gauge(label: MetricName.pending, dimensions: dimensions, factory: factory)
        running = Gauge(label: MetricName.running, dimensions: dimensions, factory: factory)
        workers = Gauge(label: MetricName.workers, dimensions: dimensions, factory: factory)
        duration = Timer(label: MetricName.taskDuration, dimensions: dimensions, factory: factory)
        queueWait = Timer(label: MetricName.queueWait, dimensions: dimensions, factory: factory)
    }

    /// Moves the largest counts seen to `report`'s and returns by how much each grew.
    func advance(to report: PoolReport) -> Delta {
        let stats = report.stats
        let busyNanoseconds = stats.busyTime.reduce(Int64(0)) { $0 &+ $1.clampedNanoseconds }
        return seen.withLock(self) { seen in
            var delta = Delta()
            func grow(_ value: Int, _ field: inout Int) -> Int {
                guard value > field else {
                    if value < field { delta.isLatest = false }
                    return 0
                }
                defer { field = value }
                return value - field
            }
            delta.submitted = grow(stats.submitted, &seen.submitted)
            delta.completed = grow(stats.completed, &seen.completed)
            delta.failed = grow(stats.failed, &seen.failed)
            delta.cancelled = grow(stats.cancelled, &seen.cancelled)
            delta.replaced = grow(stats.workersReplaced, &seen.replaced)
            delta.bytesSent = grow(report.bytesSent, &seen.bytesSent)
            delta.bytesReceived = grow(report.bytesReceived, &seen.bytesReceived)
            if busyNanoseconds > seen.busyNanoseconds {
                delta.busySeconds = Double(busyNanoseconds - seen.busyNanoseconds) / 1e9
                seen.busyNanoseconds = busyNanoseconds
            }
            return delta
        }
    }

    func exits(_ cause: PoolEvent.Cause, factory: any MetricsFactory) -> Counter {
        exitCounters.withLock(self) { counters in
            if let counter = counters[cause] { return counter }
            let counter = Counter(
                label: MetricName.workerExits,
                dimensions: dimensions + [("cause", cause.rawValue)],
                factory: factory
            )
            counters[cause] = counter
            return counter
        }
    }
}

extension Duration {
    var clampedNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return scaled &+ attoseconds / 1_000_000_000
    }
}
