/// A consistent snapshot of a pool's counters.
///
/// All counters are read under the pool's lock, so they always add up:
/// `submitted == completed + failed + cancelled + pending + running` (see ``isConsistent``).
///
/// Python mapping: the `stats()` dictionary of a Python `WorkerPool`, extended with `cancelled`, `running` and per-worker
/// busy time.
public struct PoolStats: Sendable, Hashable, CustomStringConvertible {
    /// Number of workers (threads or processes) the pool runs.
    public var workers: Int
    /// Tasks accepted by `submit`, `run` or `map` (a chunk of `map` counts as one task).
    public var submitted: Int
    /// Tasks that returned a value.
    public var completed: Int
    /// Tasks that threw, or whose worker crashed or timed out.
    public var failed: Int
    /// Tasks cancelled before a worker started them.
    public var cancelled: Int
    /// Tasks queued and not yet started.
    public var pending: Int
    /// Tasks a worker is running now.
    public var running: Int
    /// For each worker, the total time it spent running tasks.
    public var busyTime: [Duration]
    /// Worker processes replaced after a crash, timeout, memory limit or recycling (process pools only).
    public var workersReplaced: Int

    public init(
        workers: Int,
        submitted: Int = 0,
        completed: Int = 0,
        failed: Int = 0,
        cancelled: Int = 0,
        pending: Int = 0,
        running: Int = 0,
        busyTime: [Duration] = [],
        workersReplaced: Int = 0
    ) {
        self.workers = workers
        self.submitted = submitted
        self.completed = completed
        self.failed = failed
        self.cancelled = cancelled
        self.pending = pending
        self.running = running
        self.busyTime = busyTime.isEmpty ? Array(repeating: .zero, count: workers) : busyTime
        self.workersReplaced = workersReplaced
    }

    /// `true` when every submitted task is accounted for exactly once.
    public var isConsistent: Bool {
        submitted == completed + failed + cancelled + pending + running
    }

    public var description: String {
        "submitted \(submitted) = completed \(completed) + failed \(failed) + cancelled \(cancelled)"
            + " + pending \(pending) + running \(running) (\(workers) workers)"
    }
}
