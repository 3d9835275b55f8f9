/// Receives a ``PostgresWorker``'s counts, for metrics: once per statement (a claim, a batch of completions, a rescue
/// sweep) and never per job, so observing costs the same at 10 or 100,000 jobs a second. Labels are bounded: the
/// queue names the worker serves and a fixed set of outcomes and states, never a job ID.
///
/// Set ``PostgresWorker/Configuration/observer``; the `OffloadPostgresMetrics` product's `PostgresMetricsObserver`
/// writes swift-metrics counters and gauges. Calls come from the worker's loops, concurrently; return quickly.
/// Every method has an empty default implementation.
public protocol PostgresObserver: Sendable {
    /// One claim statement took `jobs` jobs of `queue` (attempts started).
    func jobsClaimed(queue: String, jobs: Int)

    /// One completion statement recorded these outcomes of `queue`'s jobs.
    /// - Parameter outcomes: completed, retried and failed attempts, and completions the database rejected because
    ///   the attempt was no longer this worker's (a late completion fenced out after its lease was lost, or a
    ///   cancelled job).
    func jobsRecorded(queue: String, outcomes: PostgresOutcomeCounts)

    /// This worker's rescue sweep took back `jobs` jobs of `queue` whose lease had expired: their worker died,
    /// stalled or lost its connection (the lost leases).
    func leasesLost(queue: String, jobs: Int)

    /// Jobs waiting (`available`, due or not) and `running`, for each queue this worker serves; sampled every
    /// ``PostgresWorker/Configuration/heartbeatInterval``. Queues with no such jobs are reported with 0.
    func queueDepth(_ depths: [PostgresQueueDepth])
}

extension PostgresObserver {
    public func jobsClaimed(queue: String, jobs: Int) {}
    public func jobsRecorded(queue: String, outcomes: PostgresOutcomeCounts) {}
    public func leasesLost(queue: String, jobs: Int) {}
    public func queueDepth(_ depths: [PostgresQueueDepth]) {}
}

/// What one completion statement recorded for one queue (``PostgresObserver/jobsRecorded(queue:outcomes:)``).
public struct PostgresOutcomeCounts: Sendable, Hashable {
    /// Attempts recorded as completed.
    public var completed = 0
    /// Attempts recorded as failed and queued again.
    public var retried = 0
    /// Attempts recorded as the job's final failure.
    public var failed = 0
    /// Completions rejected by the attempt fence.
    public var rejected = 0

    /// Creates counts.
    public init(completed: Int = 0, retried: Int = 0, failed: Int = 0, rejected: Int = 0) {
        self.completed = completed
        self.retried = retried
        self.failed = failed
        self.rejected = rejected
    }
}

/// The number of jobs of one queue in one state (``PostgresObserver/queueDepth(_:)``).
public struct PostgresQueueDepth: Sendable, Hashable {
    /// The queue.
    public var queue: String
    /// `available` or `running`.
    public var state: String
    /// How many jobs.
    public var jobs: Int

    /// Creates a depth.
    public init(queue: String, state: String, jobs: Int) {
        self.queue = queue
        self.state = state
        self.jobs = jobs
    }
}
