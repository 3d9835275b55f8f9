/// Which kind of executor a pool is: a bounded label for metrics and logs.
public enum OffloadExecutorKind: String, Sendable, Hashable, CaseIterable {
    /// ``ThreadPool`` (and ``WorkerPool`` in thread modes).
    case threads
    /// `IsolatedPool`.
    case isolated
    /// `ProcessPool` (and ``WorkerPool`` in `.processes` mode).
    case processes
    /// ``WorkerPool``'s async runner (`.io` mode).
    case async
    /// The PostgreSQL executor.
    case postgres
}

/// Something that happened to a pool or one of its workers: the pool's life cycle, for logs and metrics.
public struct PoolEvent: Sendable, Hashable {
    /// What happened.
    public enum Kind: Sendable, Hashable {
        /// The pool started its workers.
        case poolStarted
        /// A worker process is up (it said hello).
        case workerStarted
        /// A worker process ended; ``PoolEvent/cause`` says why.
        case workerExited
        /// A worker process was started in place of one that ended.
        case workerReplaced
        /// The pool stopped: every worker has ended.
        case poolShutDown
    }

    /// Why a worker process ended: a bounded label.
    public enum Cause: String, Sendable, Hashable, CaseIterable {
        /// It died on its own: a signal (``PoolEvent/signal``) or a non-zero exit status (``PoolEvent/exitStatus``).
        case crashed
        /// A job ran longer than its timeout; the worker was killed.
        case timedOut = "timed_out"
        /// Its resident memory passed the limit; it was killed.
        case memoryLimit = "memory_limit"
        /// It served `maxTasksPerWorker` tasks and was retired (Python's `max_tasks_per_child`).
        case recycled
        /// Cancelling a running task with `.stopRunning` killed it.
        case cancelled
        /// It did not start: failed to start, or too slow to say hello.
        case startFailed = "start_failed"
        /// It broke the wire protocol and was killed.
        case protocolViolation = "protocol_violation"
        /// The pool shut down.
        case shutdown
    }

    /// The pool's name.
    public var pool: String
    /// The kind of pool.
    public var executor: OffloadExecutorKind
    /// What happened.
    public var kind: Kind
    /// For ``Kind/workerExited``: why.
    public var cause: Cause?
    /// The worker's process ID, for worker events.
    public var workerPID: Int32?
    /// The worker's position in the pool (0 ..< workers), for worker events.
    public var workerIndex: Int?
    /// The signal that ended the worker (`"SIGSEGV"`), when one did.
    public var signal: String?
    /// The worker's exit status, when it exited.
    public var exitStatus: Int32?
    /// The last lines the worker wrote to its standard error, for a worker that ended.
    public var stderrTail: [String]
    /// The number of workers the pool runs.
    public var workers: Int

    /// Creates an event.
    /// - Parameters:
    ///   - pool: the pool's name.
    ///   - executor: the kind of pool.
    ///   - kind: what happened.
    ///   - cause: why a worker ended.
    ///   - workerPID: the worker's process ID.
    ///   - workerIndex: the worker's position.
    ///   - signal: the signal that ended it.
    ///   - exitStatus: its exit status.
    ///   - stderrTail: its last standard-error lines.
    ///   - workers: the pool's worker count.
    public init(
        pool: String,
        executor: OffloadExecutorKind,
        kind: Kind,
        cause: Cause? = nil,
        workerPID: Int32? = nil,
        workerIndex: Int? = nil,
        signal: String? = nil,
        exitStatus: Int32? = nil,
        stderrTail: [String] = [],
        workers: Int
    ) {
        self.pool = pool
        self.executor = executor
        self.kind = kind
        self.cause = cause
        self.workerPID = workerPID
        self.workerIndex = workerIndex
        self.signal = signal
        self.exitStatus = exitStatus
        self.stderrTail = stderrTail
        self.workers = workers
    }
}

/// A pool's counters, reported after a batch of finished tasks (and when it shuts down).
///
/// Counts are cumulative since the pool started (its ``PoolStats``), so an observer turns them into counter
/// increments by taking the difference with the last report of the same pool; a report that arrives late (two
/// threads reported at once) has smaller counts and adds nothing. Durations are a sample: at most
/// ``PoolReport/sampleLimit`` per report, so that a pool running millions of tiny tasks records a few thousand
/// durations a second, not millions; the counts stay exact.
public struct PoolReport: Sendable, Hashable {
    /// The most durations one report carries.
    public static let sampleLimit = 32

    /// The pool's name.
    public var pool: String
    /// The kind of pool.
    public var executor: OffloadExecutorKind
    /// The pool's counters (cumulative).
    public var stats: PoolStats
    /// Run times of some of the tasks that finished since the last report.
    public var durations: [Duration]
    /// How long some of the tasks started since the last report had waited in the queue.
    public var queueWaits: [Duration]
    /// Bytes written to worker processes (cumulative; process pools).
    public var bytesSent: Int
    /// Bytes read from worker processes (cumulative; process pools).
    public var bytesReceived: Int

    /// Creates a report.
    /// - Parameters:
    ///   - pool: the pool's name.
    ///   - executor: the kind of pool.
    ///   - stats: its cumulative counters.
    ///   - durations: sampled run times.
    ///   - queueWaits: sampled queue waits.
    ///   - bytesSent: bytes sent to workers so far.
    ///   - bytesReceived: bytes received from workers so far.
    public init(
        pool: String,
        executor: OffloadExecutorKind,
        stats: PoolStats,
        durations: [Duration] = [],
        queueWaits: [Duration] = [],
        bytesSent: Int = 0,
        bytesReceived: Int = 0
    ) {
        self.pool = pool
        self.executor = executor
        self.stats = stats
        self.durations = durations
        self.queueWaits = queueWaits
        self.bytesSent = bytesSent
        self.bytesReceived = bytesReceived
    }
}
