import CoreMetrics
import OffloadCore

/// Every Offload pool's counters as swift-metrics metrics: one line after `MetricsSystem.bootstrap(...)`, whichever
/// backend you chose (Prometheus, OpenTelemetry, StatsD).
///
/// ```swift
/// MetricsSystem.bootstrap(PrometheusMetricsFactory())
/// OffloadMetrics.bootstrap()
/// ```
///
/// | metric | kind | labels |
/// |---|---|---|
/// | `offload_tasks_submitted_total` | counter | `pool`, `executor` |
/// | `offload_tasks_total` | counter | `pool`, `executor`, `outcome` (`completed`, `failed`, `cancelled`) |
/// | `offload_tasks_pending`, `offload_tasks_running` | gauge | `pool`, `executor` |
/// | `offload_workers` | gauge | `pool`, `executor` |
/// | `offload_task_duration_seconds` | timer (histogram) | `pool`, `executor` |
/// | `offload_task_queue_wait_seconds` | timer (histogram) | `pool`, `executor` |
/// | `offload_busy_seconds_total` | floating-point counter | `pool`, `executor` |
/// | `offload_worker_exits_total` | counter | `pool`, `executor`, `cause` (``PoolEvent/Cause``) |
/// | `offload_workers_replaced_total` | counter | `pool`, `executor` |
/// | `offload_wire_bytes_total` | counter | `pool`, `executor`, `direction` (`sent`, `received`) |
///
/// Labels are bounded: the pool's name, the kind of executor, and fixed sets of values; never a job, an input or a
/// process ID. A task is one `submit`/`run`, or one chunk of a map. Counters move once per batch of finished tasks
/// (see ``PoolReport``); the duration and queue-wait timers record a sample of at most ``PoolReport/sampleLimit``
/// tasks per report.
///
/// The queue wait is the time from submission to the start of a task, for every executor: `threads` (``ThreadPool``,
/// ``WorkerPool`` jobs), `isolated` (`IsolatedPool`), `async` (``WorkerPool``'s closures and `.io` mode) and
/// `processes` (until the task is sent to a worker). The in-process pools stamp at most a few dozen submissions
/// between two reports (reading the clock for every tiny task would cost more than the task), so the sampled waits
/// are those of the first tasks queued after each report. Give the timers buckets from microseconds to minutes with ``durationBuckets`` (for
/// swift-prometheus: `factory.durationHistogramBuckets = OffloadMetrics.histogramBuckets`).
public enum OffloadMetrics {
    /// Starts reporting every pool to `factory` (by default the one `MetricsSystem.bootstrap` installed).
    /// - Parameter factory: the metrics backend.
    /// - Returns: a token to stop with ``PoolObservation/remove(_:)``.
    @discardableResult
    public static func bootstrap(factory: any MetricsFactory = MetricsSystem.factory) -> PoolObservation.Token {
        PoolObservation.add(MetricsPoolObserver(factory: factory))
    }

    /// Histogram buckets for durations, from 1 µs to 10 minutes: 1, 2 and 5 of each decade, then 10 minutes.
    public static let durationBuckets: [Duration] = {
        var buckets: [Duration] = []
        var nanoseconds: Int64 = 1_000
        while nanoseconds <= 600_000_000_000 {
            for step: Int64 in [1, 2, 5] where nanoseconds * step <= 600_000_000_000 {
                buckets.append(.nanoseconds(nanoseconds * step))
            }
            nanoseconds *= 10
        }
        buckets.append(.seconds(600))
        return buckets
    }()

    /// ``durationBuckets`` for each timer's name, in the shape of swift-prometheus's
    /// `PrometheusMetricsFactory.durationHistogramBuckets`.
    public static var histogramBuckets: [String: [Duration]] {
        [MetricName.taskDuration: durationBuckets, MetricName.queueWait: durationBuckets]
    }
}

/// The metric names (also the Prometheus names).
public enum MetricName {
    public static let submitted = "offload_tasks_submitted_total"
    public static let tasks = "offload_tasks_total"
    public static let pending = "offload_tasks_pending"
    public static let running = "offload_tasks_running"
    public static let workers = "offload_workers"
    public static let taskDuration = "offload_task_duration_seconds"
    public static let queueWait = "offload_task_queue_wait_seconds"
    public static let busy = "offload_busy_seconds_total"
    public static let workerExits = "offload_worker_exits_total"
    public static let workersReplaced = "offload_workers_replaced_total"
    public static let wireBytes = "offload_wire_bytes_total"
}
