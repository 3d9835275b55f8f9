import CoreMetrics
import OffloadCore
import OffloadPostgres
import Synchronization

/// A ``PostgresObserver`` that writes a ``PostgresWorker``'s counts as swift-metrics counters and gauges:
///
/// ```swift
/// var configuration = PostgresWorker.Configuration(settings: settings)
/// configuration.observer = PostgresMetricsObserver()   // after MetricsSystem.bootstrap(…)
/// ```
///
/// | metric | type | dimensions |
/// |---|---|---|
/// | `offload_postgres_claimed_total` | counter | `queue` |
/// | `offload_postgres_jobs_total` | counter | `queue`, `outcome` (`completed`, `retried`, `failed`) |
/// | `offload_postgres_rejected_completions_total` | counter | `queue` |
/// | `offload_postgres_lost_leases_total` | counter | `queue` |
/// | `offload_postgres_queue_depth` | gauge | `queue`, `state` (`available`, `running`) |
///
/// Rejected completions are late results of an attempt that was no longer the worker's (its lease expired and the
/// job was rescued, or it was cancelled), fenced out by the database; lost leases are jobs this worker's rescue sweep
/// took back from a worker that died, stalled or lost its connection. Counters move once per statement, never per
/// job; dimensions are the served queues and fixed words, never a job ID. How long jobs run is measured where they
/// run: give the worker's local `ProcessPool` an `OffloadMetrics` observer for durations and worker exits.
///
/// A separate product so that `OffloadPostgres` never links swift-metrics and `OffloadMetrics` never links
/// postgres-nio.
public final class PostgresMetricsObserver: PostgresObserver {
    private let factory: any MetricsFactory
    private let counters = Mutex<[String: Counter]>([:])
    private let gauges = Mutex<[String: Gauge]>([:])

    /// Creates an observer writing to `factory`.
    /// - Parameter factory: the metrics backend (by default the one `MetricsSystem.bootstrap` installed).
    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
    }

    public func jobsClaimed(queue: String, jobs: Int) {
        counter("offload_postgres_claimed_total", [("queue", queue)]).increment(by: jobs)
    }

    public func jobsRecorded(queue: String, outcomes: PostgresOutcomeCounts) {
        for (outcome, count) in [
            ("completed", outcomes.completed), ("retried", outcomes.retried), ("failed", outcomes.failed),
        ] where count > 0 {
            counter("offload_postgres_jobs_total", [("queue", queue), ("outcome", outcome)]).increment(by: count)
        }
        if outcomes.rejected > 0 {
            counter("offload_postgres_rejected_completions_total", [("queue", queue)]).increment(by: outcomes.rejected)
        }
    }

    public func leasesLost(queue: String, jobs: Int) {
        counter("offload_postgres_lost_leases_total", [("queue", queue)]).increment(by: jobs)
    }

    public func queueDepth(_ depths: [PostgresQueueDepth]) {
        for depth in depths {
            gauge("offload_postgres_queue_depth", [("queue", depth.queue), ("state", depth.state)])
                .record(depth.jobs)
        }
    }

    private func counter(_ label: String, _ dimensions: [(String, String)]) -> Counter {
        let key = Self.key(label, dimensions)
        return counters.withLock(self) { known in
            if let counter = known[key] { return counter }
            let counter = Counter(label: label, dimensions: dimensions, factory: factory)
            known[key] = counter
            return counter
        }
    }

    private func gauge(_ label: String, _ dimensions: [(String, String)]) -> Gauge {
        let key = Self.key(label, dimensions)
        return gauges.withLock(self) { known in
            if let gauge = known[key] { return gauge }
            let gauge = Gauge(label: label, dimensions: dimensions, factory: factory)
            known[key] = gauge
            return gauge
        }
    }

    private static func key(_ label: String, _ dimensions: [(String, String)]) -> String {
        ([label] + dimensions.map { "\($0.0)=\($0.1)" }).joined(separator: "\u{0}")
    }
}
