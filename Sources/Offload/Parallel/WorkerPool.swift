/// One pool, any mode: the seeds' `WorkerPool(mode=…)` with `submit`, `map`, `shutdown`, `stats` and scoped use.
///
/// ```swift
/// try await withWorkerPool(mode: .threads(workers: 4)) { pool in
///     let handle = try pool.submit { try render(page) }
///     let thumbnails = try await pool.map(images) { image in image.resized(to: 128) }
///     print(pool.stats)       // submitted 1 + chunks = completed + failed + cancelled + pending + running
///     return (try await handle.value, thumbnails)
/// }
/// ```
///
/// Closures run in `.io`, `.threads` and `.auto` modes (see ``ParallelMode``); ``Job``s run in every mode, including
/// `.processes`, which is what lets code move between threads and processes by changing one argument. Counters cover
/// every submission, and add up: `submitted = completed + failed + cancelled + pending + running`.
///
/// Python mapping: the seeds' `WorkerPool` (`mode="thread"` is ``ParallelMode/threads(workers:)``, `mode="process"`
/// is ``ParallelMode/processes(workers:)``; `stats()` is ``stats``; `with WorkerPool(...) as pool:` is
/// ``withWorkerPool(mode:_:)``).
public final class WorkerPool: Sendable {
    /// The mode the pool was created with.
    public let mode: ParallelMode
    private let runner: AsyncTaskRunner
    private let threads: ThreadPool?
    private let processes: ProcessBackend?

    /// Creates a pool.
    /// - Parameter mode: where work runs; see ``ParallelMode``.
    /// - Throws: ``OffloadError/Code/invalidArgument`` for a worker count or `maxConcurrency` below 1; the process
    ///   pool's start-up errors in `.processes` mode.
    public init(mode: ParallelMode = .auto) async throws {
        self.mode = mode
        switch mode {
        case .io(let limit):
            guard limit >= 1 else { throw OffloadError.invalidArgument("maxConcurrency must be at least 1, got \(limit)") }
            threads = nil
            processes = nil
            runner = AsyncTaskRunner(limit: limit, name: "WorkerPool.io", executor: nil)
        case .threads(let workers), .isolated(let workers):
            let pool = try ThreadPool(workers: workers, name: "WorkerPool")
            threads = pool
            processes = nil
            runner = AsyncTaskRunner(limit: pool.workerCount, name: "WorkerPool", executor: pool)
        case .auto:
            let pool = try ThreadPool(name: "WorkerPool")
            threads = pool
            processes = nil
            runner = AsyncTaskRunner(limit: pool.workerCount, name: "WorkerPool", executor: pool)
        case .processes(let workers):
            threads = nil
            let backend = try await ProcessBackend(workers: workers)
            processes = backend
            runner = AsyncTaskRunner(limit: backend.workerCount, name: "WorkerPool.processes", executor: nil)
        }
    }

    /// Queues a closure. In `.threads`/`.auto` mode it runs on the pool's threads (synchronous parts never block the
    /// cooperative pool); in `.io` mode as a task on the cooperative pool, at most `maxConcurrency` at once.
    ///
    /// - Parameter work: the work.
    /// - Returns: a handle to await, wait on, or cancel.
    /// - Throws: ``OffloadError/Code/poolShutDown`` after shutdown; ``OffloadError/Code/invalidArgument`` in
    ///   `.isolated` or `.processes` mode, which run ``Job``s only (submit a job instead).
    public func submit<T: Sendable>(
        _ work: @escaping @Sendable () async throws -> T
    ) throws(OffloadError) -> TaskHandle<T> {
        switch mode {
        case .isolated:
            throw OffloadError.invalidArgument(
                "a WorkerPool in mode .isolated runs Job values, not closures: submit a Job, or use IsolatedPool /"
                    + " parallelMap(_:makeState:_:) for per-worker state")
        case .processes:
            throw OffloadError.invalidArgument(
                "a closure cannot cross a process boundary: submit a Job to a WorkerPool in mode .processes")
        case .io, .threads, .auto:
            return try runner.submit(work)
        }
    }

    /// Queues a job: in-process on the pool's threads, or in a worker process in `.processes` mode.
    /// - Parameter job: the job.
    /// - Returns: a handle to its output.
    /// - Throws: ``OffloadError/Code/poolShutDown`` after shutdown.
    public func submit<J: Job>(_ job: J) throws(OffloadError) -> TaskHandle<J.Output> {
        if let processes {
            return try runner.submit { try await processes.run(job) }
        }
        return try runner.submit { try job.run() }
    }

    /// Applies `transform` to every item and returns the results in input order, in chunks as in
    /// ``parallelMap(_:mode:chunkSize:_:)``.
    ///
    /// - Parameters:
    ///   - items: the input.
    ///   - chunkSize: items per task, or `nil` for the mode's default.
    ///   - transform: the work per item.
    /// - Returns: the results in input order.
    /// - Throws: the first error `transform` threw, unchanged; the errors of ``submit(_:)-(()->T)``.
    public func map<S: Sequence, T: Sendable>(
        _ items: S,
        chunkSize: Int? = nil,
        _ transform: @escaping @Sendable (S.Element) async throws -> T
    ) async throws -> [T] where S.Element: Sendable {
        let size: Int
        if case .io = mode {
            size = try ChunkedMap.resolveChunkSize(chunkSize ?? 1, count: nil, workers: runner.limit)
        } else {
            size = try ChunkedMap.resolveChunkSize(chunkSize, count: ChunkedMap.count(of: items), workers: runner.limit)
        }
        return try await ChunkedMap.ordered(items, chunkSize: size, window: runner.limit * 2) { chunk in
            try self.submit {
                var results: [T] = []
                results.reserveCapacity(chunk.count)
                for item in chunk { results.append(try await transform(item)) }
                return results
            }
        }
    }

    /// Runs every job and returns the outputs in input order.
    /// - Parameter jobs: the jobs.
    /// - Returns: their outputs, in input order.
    /// - Throws: the first job's error; the errors of ``submit(_:)-(J)``.
    public func map<S: Sequence>(jobs: S) async throws -> [S.Element.Output] where S.Element: Job {
        if let processes {
            return try await processes.map(Array(jobs))
        }
        let size = try ChunkedMap.resolveChunkSize(nil, count: ChunkedMap.count(of: jobs), workers: runner.limit)
        return try await ChunkedMap.ordered(jobs, chunkSize: size, window: runner.limit * 2) { chunk in
            try runner.submit { try chunk.map { try $0.run() } }
        }
    }

    /// A consistent snapshot of the pool's counters (one task per `submit`, one per chunk of `map`).
    public var stats: PoolStats {
        var stats = runner.stats
        if let processes { stats.workersReplaced = processes.workersReplaced }
        return stats
    }

    /// Stops the pool and waits for running work to end. Idempotent.
    /// - Parameter cancelPending: `true` cancels queued work instead of running it.
    public func shutdown(cancelPending: Bool = false) async {
        await runner.shutdown(cancelPending: cancelPending)
        await threads?.shutdown(cancelPending: cancelPending)
        await processes?.shutdown(cancelPending: cancelPending)
    }
}

/// Runs `body` with a new ``WorkerPool`` and always shuts it down afterwards, also when `body` throws.
///
/// - Parameters:
///   - mode: where work runs.
///   - body: the code using the pool.
/// - Returns: what `body` returned.
/// - Throws: the pool's creation errors, or what `body` threw.
@discardableResult
public func withWorkerPool<R>(
    mode: ParallelMode = .auto,
    _ body: (WorkerPool) async throws -> R
) async throws -> R {
    try await withScopedPool(try await WorkerPool(mode: mode), body)
}
