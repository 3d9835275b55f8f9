import Offload
import OffloadCore

extension PostgresWorker {
    /// Where a worker runs the jobs it claims.
    public enum Execution: Sendable {
        /// In a local ``ProcessPool`` (the default): a job that crashes, hangs past its timeout or exhausts memory
        /// costs its attempt, with the signal and stderr recorded, and never the worker. The executable must call
        /// ``PostgresWorker/runLocalWorkerIfRequested(registry:)`` first in `main`.
        case processes(ProcessPool.Configuration)
        /// On a ``ThreadPool`` of this many threads (`nil`: one per available core): cheaper per job, but a crashing
        /// job takes the worker down, and a timed-out job is abandoned rather than stopped.
        case threads(workers: Int?)
    }

    /// Exponential backoff with jitter between attempts of a failed job.
    public struct Backoff: Sendable, Hashable {
        /// The delay after the first failed attempt (before jitter).
        public var base: Duration
        /// The longest delay.
        public var maximum: Duration
        /// The fraction of the delay that is random: the delay is `d × (1 − jitter + jitter × r)` for `r` in 0..<1.
        public var jitter: Double

        /// Creates a policy.
        /// - Parameters:
        ///   - base: the delay after the first failure.
        ///   - maximum: the cap.
        ///   - jitter: the random fraction, from 0 to 1.
        public init(base: Duration = .seconds(1), maximum: Duration = .seconds(600), jitter: Double = 0.5) {
            self.base = base
            self.maximum = maximum
            self.jitter = jitter
        }

        /// The delay before the next attempt after `attempt` (1-based) failed.
        /// - Parameters:
        ///   - attempt: the attempt that failed.
        ///   - random: a value in 0..<1.
        /// - Returns: milliseconds.
        public func delayMilliseconds(afterAttempt attempt: Int, random: Double) -> Int64 {
            let base = Double(max(0, self.base.milliseconds))
            let cap = Double(max(0, maximum.milliseconds))
            let exponential = min(cap, base * Double(1 << min(max(0, attempt - 1), 30)))
            let jitter = min(1, max(0, self.jitter))
            return Int64(exponential * (1 - jitter + jitter * min(1, max(0, random))))
        }
    }

    /// Everything a worker can be told. Every property but ``settings`` has a default.
    ///
    /// Sizing: a dead worker's jobs run again within ``lease`` plus ``pollInterval``. Shorter leases recover faster
    /// but cost more heartbeats and risk a rescue of a live worker stalled longer than the lease (its late results
    /// are then rejected, and the job runs again). Keep ``heartbeatInterval`` at most a third of ``lease``.
    public struct Configuration: Sendable {
        /// The server, the schema and how to connect.
        public var settings: PostgresSettings
        /// The queues this worker serves.
        public var queues: [String]
        /// Where jobs run.
        public var execution: Execution
        /// How long a claimed job stays this worker's without a heartbeat. Default 30 s.
        public var lease: Duration
        /// How often leases are renewed (one statement for all held jobs). Default 10 s.
        public var heartbeatInterval: Duration
        /// The fallback poll when no notification arrives, and the interval of the sweep that rescues jobs of dead
        /// workers. Default 1 s: an idle worker costs about one statement per second.
        public var pollInterval: Duration
        /// The most jobs claimed per statement. Default 100.
        public var claimBatch: Int
        /// The most claimed jobs held at once (running or waiting in the local pool); `nil`: twice ``claimBatch``.
        public var maxHeld: Int?
        /// The most jobs sent to the local pool as one task (one frame, one result). Default 1: the local pool
        /// pipelines single jobs well, and a batch's results all wait for its slowest job. Raise it for very short
        /// jobs on a thread-backed worker.
        public var localBatch: Int
        /// The delay between attempts of a failed job.
        public var backoff: Backoff
        /// After a shutdown request (``PostgresWorker/shutdown()`` or SIGTERM): how long held jobs may take to
        /// finish; the rest are handed back to the queue (their attempt does not count) and their processes killed.
        public var shutdownGracePeriod: Duration
        /// Stop gracefully on SIGTERM (and SIGINT), as container orchestrators expect. Default `true`.
        public var handlesTerminationSignals: Bool
        /// The worker's name in the `workers` table and in error messages; `nil`: `host:pid:random`.
        public var name: String?
        /// How long finished jobs (`completed`, `failed`, `cancelled`) stay in the table, for results to be read and
        /// for inspection; older ones are deleted. `nil` keeps them for ever. Default 24 hours. Awaiting a deleted
        /// job with ``PostgresQueue/handle(for:as:)`` fails with ``OffloadError/Code/jobNotFound``.
        public var retention: Duration?
        /// How often finished jobs past ``retention`` are deleted, counted across all workers of the schema: whichever
        /// worker finds the interval elapsed deletes them (in batches of a few thousand rows), the others skip it.
        /// Default 60 s.
        public var cleanupInterval: Duration
        /// Receives the worker's counts for metrics (``PostgresObserver``): claims, outcomes and rejected late
        /// completions per statement, lost leases per rescue sweep, and the queue depth every
        /// ``heartbeatInterval``. `nil` (the default) costs nothing: no statement, no call. The `OffloadPostgresMetrics`
        /// product's `PostgresMetricsObserver` turns them into swift-metrics counters and gauges.
        public var observer: (any PostgresObserver)?

        /// Creates a configuration.
        /// - Parameters:
        ///   - settings: the server, schema and connection settings.
        ///   - queues: the queues to serve.
        ///   - execution: where jobs run.
        public init(settings: PostgresSettings, queues: [String] = ["default"], execution: Execution = .processes(.init()))
        {
            self.settings = settings
            self.queues = queues
            self.execution = execution
            lease = .seconds(30)
            heartbeatInterval = .seconds(10)
            pollInterval = .seconds(1)
            claimBatch = 100
            maxHeld = nil
            localBatch = 1
            backoff = Backoff()
            shutdownGracePeriod = .seconds(20)
            handlesTerminationSignals = true
            name = nil
            retention = .seconds(24 * 3_600)
            cleanupInterval = .seconds(60)
            observer = nil
        }

        func validate() throws(OffloadError) {
            try settings.validate()
            if queues.isEmpty { throw OffloadError(.invalidArgument, "a worker needs at least one queue") }
            if lease < .seconds(1) { throw OffloadError(.invalidArgument, "lease must be at least 1 s, got \(lease)") }
            if heartbeatInterval <= .zero || heartbeatInterval * 2 > lease {
                throw OffloadError(
                    .invalidArgument,
                    "heartbeatInterval (\(heartbeatInterval)) must be positive and at most half the lease (\(lease))"
                )
            }
            if pollInterval <= .zero || pollInterval > .seconds(60) {
                throw OffloadError(.invalidArgument, "pollInterval must be from 0 to 60 s, got \(pollInterval)")
            }
            if let retention, retention < .zero {
                throw OffloadError(.invalidArgument, "retention must not be negative, got \(retention)")
            }
            if cleanupInterval < .milliseconds(10) {
                throw OffloadError(.invalidArgument, "cleanupInterval must be at least 10 ms, got \(cleanupInterval)")
            }
            if claimBatch < 1 || localBatch < 1 || (maxHeld ?? 1) < 1 {
                throw OffloadError(.invalidArgument, "claimBatch, localBatch and maxHeld must be at least 1")
            }
        }
    }

    /// What a worker has done since it started.
    public struct Statistics: Sendable, Hashable {
        /// Jobs claimed (attempts started).
        public var claimed = 0
        /// Attempts recorded as completed.
        public var completed = 0
        /// Attempts recorded as failed and queued again.
        public var retried = 0
        /// Attempts recorded as the job's final failure.
        public var failed = 0
        /// Results the database rejected because the attempt was no longer this worker's (its lease expired and the
        /// job was rescued, or it was cancelled).
        public var rejected = 0
        /// Results dropped because the job was cancelled or its lease lost before it finished.
        public var abandoned = 0
        /// Running jobs stopped because they were cancelled or their lease was lost (a process-backed worker kills
        /// the local process running the job; a thread-backed one cannot stop a job and only drops its result).
        public var stopped = 0
        /// Jobs handed back at shutdown.
        public var released = 0
        /// Connections re-established after a failure.
        public var reconnects = 0
        /// Cleanups of finished jobs this worker ran (see ``Configuration/retention``).
        public var cleanups = 0
        /// Finished jobs this worker deleted after their retention.
        public var deleted = 0
        /// Jobs whose lease had expired (their worker died, stalled or lost its connection) that this worker's rescue
        /// sweep made available again or failed: the lost leases.
        public var rescued = 0
    }
}
