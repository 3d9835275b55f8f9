import OffloadCore

/// How one job is queued: its queue, priority, delay, attempts, timeout and uniqueness key.
///
/// ```swift
/// var options = PostgresJobOptions(queue: "mail", maxAttempts: 5)
/// options.uniqueKey = "welcome-mail:\(user.id)"
/// let job = try await queue.enqueue(SendWelcomeMail(user: user.id), options: options)
/// ```
public struct PostgresJobOptions: Sendable, Hashable {
    /// The queue; workers serve the queues they are configured with. A queue can have a concurrency limit across
    /// all workers (``PostgresQueue/setConcurrencyLimit(_:forQueue:)``).
    public var queue: String
    /// Higher runs first among jobs that are due; equal priorities run in order of run-at time, then submission.
    public var priority: Int
    /// How long after submission the job becomes due (Python: Celery's `countdown`; River's `ScheduledAt`).
    public var delay: Duration
    /// How many times the job may be started: a failed attempt (the job threw, its process crashed or timed out,
    /// its worker died) is retried after an exponential backoff with jitter until this many attempts have been made;
    /// then the job is `failed` with the last error. Defaults to 3.
    public var maxAttempts: Int
    /// An attempt running longer than this fails with ``OffloadError/Code/taskTimedOut`` (and is retried if
    /// attempts remain). With the default process-backed worker the job's process is killed; on a thread-backed
    /// worker the attempt is abandoned and its result discarded. `nil`: no limit.
    public var timeout: Duration?
    /// While a job with this key is queued or running, submitting another job with the same key returns the existing
    /// job instead of inserting a second one. Finished jobs do not block the key.
    public var uniqueKey: String?

    /// Creates options.
    /// - Parameters:
    ///   - queue: the queue name.
    ///   - priority: higher first.
    ///   - delay: how long until the job is due.
    ///   - maxAttempts: the most starts of the job.
    ///   - timeout: the limit for one attempt.
    ///   - uniqueKey: deduplicates unfinished jobs.
    public init(
        queue: String = "default",
        priority: Int = 0,
        delay: Duration = .zero,
        maxAttempts: Int = 3,
        timeout: Duration? = nil,
        uniqueKey: String? = nil
    ) {
        self.queue = queue
        self.priority = priority
        self.delay = delay
        self.maxAttempts = maxAttempts
        self.timeout = timeout
        self.uniqueKey = uniqueKey
    }

    func validate() throws(OffloadError) {
        if queue.isEmpty || queue.utf8.count > 128 {
            throw OffloadError(.invalidArgument, "queue name must be 1 to 128 bytes, got '\(queue)'")
        }
        if maxAttempts < 1 || maxAttempts > 10_000 {
            throw OffloadError(.invalidArgument, "maxAttempts must be from 1 to 10000, got \(maxAttempts)")
        }
        if priority < Int(Int32.min) || priority > Int(Int32.max) {
            throw OffloadError(.invalidArgument, "priority must fit in 32 bits, got \(priority)")
        }
        if delay < .zero { throw OffloadError(.invalidArgument, "delay must not be negative, got \(delay)") }
        if let timeout, timeout <= .zero {
            throw OffloadError(.invalidArgument, "timeout must be positive, got \(timeout)")
        }
        if let uniqueKey, uniqueKey.isEmpty {
            throw OffloadError(.invalidArgument, "uniqueKey must not be empty (use nil for no key)")
        }
    }

    var delayMilliseconds: Int64 { delay.milliseconds }
    var timeoutMilliseconds: Int64 { timeout.map { max(1, $0.milliseconds) } ?? -1 }
}

extension Duration {
    /// Whole milliseconds, saturating.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000)
        if overflow { return seconds < 0 ? .min : .max }
        return scaled &+ attoseconds / 1_000_000_000_000_000
    }
}
