/// The one place that turns a ``ParallelMode`` into the engine that runs the work, for ``WorkerPool`` and every
/// `parallelMap` (which is a scoped `WorkerPool`).
///
/// | mode | closures | jobs |
/// |---|---|---|
/// | `.io(maxConcurrency: n)` | tasks on the cooperative pool, at most `n` at once | the same (a job is synchronous: keep it short) |
/// | `.threads(workers:)`, `.auto` | tasks whose executor is a ``ThreadPool`` | straight to the ``ThreadPool`` |
/// | `.processes(workers:)` | refused: a closure cannot cross a process boundary | straight to the ``ProcessPool`` (its batching, prefetch and stats) |
/// | `.isolated` | refused: per-worker state needs ``IsolatedPool`` / `parallelMap(_:makeState:_:)` | as `.threads` |
@usableFromInline
enum ModeEngine: Sendable {
    /// `.io`: async tasks on the cooperative pool.
    case async(AsyncTaskRunner)
    /// `.threads`, `.auto`, `.isolated` (jobs only): dedicated threads; closures run as tasks preferring them.
    case threads(ThreadPool, AsyncTaskRunner)
    /// `.processes`: worker processes.
    case processes(ProcessPool)

    /// Starts the engine for `mode`.
    /// - Throws: ``OffloadError/Code/invalidArgument`` for a worker count or `maxConcurrency` below 1; the
    ///   pools' start-up errors.
    init(mode: ParallelMode, name: String) throws(OffloadError) {
        switch mode {
        case .io(let limit):
            guard limit >= 1 else {
                throw OffloadError.invalidArgument("maxConcurrency must be at least 1, got \(limit)")
            }
            self = .async(AsyncTaskRunner(limit: limit, name: "\(name).io", executor: nil))
        case .threads(let workers), .isolated(let workers):
            self = try .threads(workers: workers, name: name)
        case .auto:
            self = try .threads(workers: nil, name: name)
        case .processes(let workers):
            self = .processes(try ProcessPool(configuration: ProcessPool.Configuration(workers: workers)))
        }
    }

    /// A thread pool, and a runner for closures that lets as many tasks run as there are threads: a task started
    /// beyond that would only wait for a thread, where it could no longer be withdrawn.
    private static func threads(workers: Int?, name: String) throws(OffloadError) -> ModeEngine {
        let pool = try ThreadPool(workers: workers, name: name)
        return .threads(pool, AsyncTaskRunner(limit: pool.workerCount, name: name, executor: pool))
    }

    /// How many items run at once.
    var concurrency: Int {
        switch self {
        case .async(let runner): return runner.limit
        case .threads(let pool, _): return pool.workerCount
        case .processes(let pool): return pool.workerCount
        }
    }

    /// The runner for closures, or the reason a closure cannot run here.
    func closureRunner(mode: ParallelMode) throws(OffloadError) -> AsyncTaskRunner {
        switch (self, mode) {
        case (_, .isolated):
            throw OffloadError.invalidArgument(
                "mode .isolated gives each worker private state: use IsolatedPool or parallelMap(_:mode:chunkSize:"
                    + "makeState:_:) for closures; Job values run in .isolated mode as in .threads")
        case (.processes, _):
            throw OffloadError.invalidArgument(
                "a closure cannot cross a process boundary: submit a Job (or call parallelMap(jobs:mode:)) in mode"
                    + " .processes")
        case (.async(let runner), _), (.threads(_, let runner), _):
            return runner
        }
    }

    var stats: PoolStats {
        switch self {
        case .async(let runner): return runner.stats
        case .threads(let pool, let runner): return runner.stats.adding(pool.stats)
        case .processes(let pool): return pool.stats
        }
    }

    func shutdown(cancelPending: Bool) async {
        switch self {
        case .async(let runner):
            await runner.shutdown(cancelPending: cancelPending)
        case .threads(let pool, let runner):
            await runner.shutdown(cancelPending: cancelPending)
            await pool.shutdown(cancelPending: cancelPending)
        case .processes(let pool):
            await pool.shutdown(cancelPending: cancelPending)
        }
    }
}

extension PoolStats {
    /// The counters of two engines that share workers (closures as tasks, jobs on the pool itself), added up.
    func adding(_ other: PoolStats) -> PoolStats {
        PoolStats(
            workers: max(workers, other.workers),
            submitted: submitted + other.submitted,
            completed: completed + other.completed,
            failed: failed + other.failed,
            cancelled: cancelled + other.cancelled,
            pending: pending + other.pending,
            running: running + other.running,
            busyTime: other.busyTime,
            workersReplaced: workersReplaced + other.workersReplaced
        )
    }
}
