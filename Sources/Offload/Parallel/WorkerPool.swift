/// One pool, any mode: Python's `WorkerPool(mode=…)` pattern with `submit`, `map`, `shutdown`, `stats` and scoped
/// use, conforming to ``JobExecutor`` like every pool.
///
/// ```swift
/// try await withWorkerPool(mode: .threads(workers: 4)) { pool in
///     let handle = try pool.submit { try render(page) }
///     let thumbnails = try await pool.map(images) { image in image.resized(to: 128) }
///     print(pool.stats)       // submitted = completed + failed + cancelled + pending + running
///     return (try await handle.value, thumbnails)
/// }
/// ```
///
/// Closures run in `.io`, `.threads` and `.auto` modes (see ``ParallelMode``); ``Job``s run in every mode, and in
/// `.processes` mode they go straight to the ``ProcessPool`` (its batching and prefetch apply; ``stats`` are the
/// pool's), which is what lets code move between threads and processes by changing one argument.
///
/// Python mapping: a `WorkerPool` with `mode="thread"` is ``ParallelMode/threads(workers:)``, `mode="process"` is
/// ``ParallelMode/processes(workers:)``; `stats()` is ``stats``; `with WorkerPool(...) as pool:` is
/// ``withWorkerPool(mode:_:)``.
public final class WorkerPool: Sendable {
    /// The mode the pool was created with.
    public let mode: ParallelMode
    @usableFromInline let engine: ModeEngine

    /// Creates a pool.
    /// - Parameter mode: where work runs; see ``ParallelMode``.
    /// - Throws: ``OffloadError/Code/invalidArgument`` for a worker count or `maxConcurrency` below 1; the
    ///   pools' start-up errors.
    public convenience init(mode: ParallelMode = .auto) throws(OffloadError) {
        try self.init(mode: mode, name: "WorkerPool")
    }

    /// Creates a pool in `.processes` mode with a full ``ProcessPool/Configuration`` (a dedicated worker
    /// executable, limits, timeouts).
    /// - Parameter configuration: the process pool's configuration.
    /// - Throws: the process pool's start-up errors.
    public init(processes configuration: ProcessPool.Configuration) throws(OffloadError) {
        mode = .processes(workers: configuration.workers)
        engine = .processes(try ProcessPool(configuration: configuration))
    }

    init(mode: ParallelMode, name: String) throws(OffloadError) {
        self.mode = mode
        engine = try ModeEngine(mode: mode, name: name)
    }

    /// How many items run at once: the workers, or `maxConcurrency` in `.io` mode.
    public var workerCount: Int { engine.concurrency }

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
        try engine.closureRunner(mode: mode).submit(work)
    }

    /// Applies `transform` to every item and returns the results in input order, in chunks as in
    /// ``parallelMap(_:mode:chunkSize:progress:_:)``.
    ///
    /// - Parameters:
    ///   - items: the input; read lazily.
    ///   - chunkSize: items per task; `nil` is 1 in `.io` mode (items are usually waits, not work) and adapts to the
    ///     measured cost of an item otherwise (``ChunkPolicy``).
    ///   - progress: receives the map's progress (see ``ProgressMonitor``); `nil` costs nothing.
    ///   - transform: the work per item.
    /// - Returns: the results in input order.
    /// - Throws: the first error `transform` threw, unchanged; the errors of ``submit(_:)-(()->T)``.
    public func map<S: Sequence, T: Sendable>(
        _ items: S,
        chunkSize: Int? = nil,
        progress: ProgressMonitor? = nil,
        _ transform: @escaping @Sendable (S.Element) async throws -> T
    ) async throws -> [T] where S.Element: Sendable {
        let runner = try engine.closureRunner(mode: mode)
        var size = chunkSize
        if case .async = engine, size == nil { size = 1 }
        let policy = try ChunkPolicy(chunkSize: size, count: items.underestimatedCount, workers: engine.concurrency)
        return try await OrderedChunks.collectValues(
            items,
            policy: policy,
            window: runner.limit * 2,
            progress: progress
        ) { chunk, first throws(OffloadError) in
            try runner.submit {
                let start = ContinuousClock.now
                let results: [T]
                if let progress {
                    let sink = ChunkProgressSink(monitor: progress, chunkStart: first)
                    // The array is the closure's own and returned, not a captured `var`: a captured one is boxed and
                    // every append pays a dynamic exclusivity check (measured: +15% CPU on a trivial map).
                    results = try await JobProgress.$sink.withValue(sink) {
                        var values: [T] = []
                        values.reserveCapacity(chunk.count)
                        // Jobs that do not report need no count of the chunk's ended items.
                        if progress.tracksItems {
                            for item in chunk {
                                values.append(try await transform(item))
                                sink.advance()
                            }
                        } else {
                            for item in chunk { values.append(try await transform(item)) }
                        }
                        return values
                    }
                } else {
                    var values: [T] = []
                    values.reserveCapacity(chunk.count)
                    for item in chunk { values.append(try await transform(item)) }
                    results = values
                }
                return BatchResults(values: results, runDuration: start.duration(to: .now))
            }
        }
    }

    /// A consistent snapshot of the counters: the process pool's in `.processes` mode; otherwise closure tasks and
    /// jobs added up (one task per `submit`, one per chunk of a map).
    public var stats: PoolStats { engine.stats }

    /// Stops the pool and waits for running work to end. Idempotent.
    /// - Parameter cancelPending: `true` cancels queued work instead of running it.
    public func shutdown(cancelPending: Bool = false) async {
        await engine.shutdown(cancelPending: cancelPending)
    }
}

extension WorkerPool: JobExecutor {
    /// Queues a job: on the pool's threads, in a worker process in `.processes` mode, as a task in `.io` mode.
    /// - Parameters:
    ///   - job: the job.
    ///   - options: per-call overrides (a timeout needs `.processes` mode).
    /// - Returns: a handle to its output.
    /// - Throws: ``OffloadError/Code/poolShutDown`` after shutdown; ``OffloadError/Code/invalidArgument`` for a
    ///   timeout outside `.processes` mode.
    @inlinable
    public func submit<J: Job>(_ job: J, options: JobOptions) throws(OffloadError) -> TaskHandle<J.Output> {
        switch engine {
        case .processes(let pool): return try pool.submit(job, options: options)
        case .threads(let pool, _): return try pool.submit(job, options: options)
        case .async(let runner):
            try ThreadPool.refuseTimeout(options)
            return try runner.submit { try job.run() }
        }
    }

    /// Queues several jobs as one task; see ``JobExecutor/submitBatch(_:options:)``.
    /// - Parameters:
    ///   - jobs: the jobs.
    ///   - options: per-call overrides.
    /// - Returns: one outcome per job.
    /// - Throws: as ``submit(_:options:)``.
    @inlinable
    public func submitBatch<J: Job>(
        _ jobs: [J],
        options: JobOptions
    ) throws(OffloadError) -> TaskHandle<BatchResults<J.Output>> {
        switch engine {
        case .processes(let pool): return try pool.submitBatch(jobs, options: options)
        case .threads(let pool, _): return try pool.submitBatch(jobs, options: options)
        case .async(let runner):
            try ThreadPool.refuseTimeout(options)
            let route = options.progress
            return try runner.submit {
                ChunkedMap.applyEach({ try $0.run() }, to: jobs, start: route?.chunkStart ?? 0, progress: route?.monitor)
            }
        }
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
    try await withScopedPool(try WorkerPool(mode: mode), body)
}
