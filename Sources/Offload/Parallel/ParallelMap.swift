/// Applies an async `transform` to every item in parallel and returns the results in input order — Python's
/// `parallel_map(func, items, mode=…)` pattern. A scoped ``WorkerPool`` in `mode`, so both share one mode → engine
/// path.
///
/// ```swift
/// let pages = try await parallelMap(urls, mode: .io(maxConcurrency: 20)) { url in try await fetch(url) }
/// let hashes = try await parallelMap(files) { file in sha256(file) }          // .auto: dedicated threads
/// ```
///
/// - `.io(maxConcurrency:)`: tasks on Swift's cooperative pool, at most `maxConcurrency` at once (Python's
///   `TaskGroup` + semaphore + batching); one item per task unless `chunkSize` says otherwise.
/// - `.threads(workers:)` and `.auto`: a temporary ``ThreadPool``; items are chunked (``ChunkPolicy``) and each chunk
///   runs as a task on the pool's threads, so synchronous CPU work in `transform` never blocks the cooperative pool.
///
/// - Parameters:
///   - items: the input.
///   - mode: where to run; see ``ParallelMode``.
///   - chunkSize: items per task, or `nil` for the mode's default.
///   - progress: receives the map's progress (see ``ProgressMonitor``); `nil` costs nothing.
///   - transform: the work per item.
/// - Returns: the results in input order.
/// - Throws: the first error `transform` threw (in input order), unchanged; `CancellationError`;
///   ``OffloadError/Code/invalidArgument`` for `.isolated` (use ``parallelMap(_:mode:chunkSize:progress:makeState:_:)``),
///   `.processes` (use ``parallelMap(jobs:mode:progress:)``), a `maxConcurrency`, worker count or chunk size below 1.
public func parallelMap<S: Sequence, T: Sendable>(
    _ items: S,
    mode: ParallelMode = .auto,
    chunkSize: Int? = nil,
    progress: ProgressMonitor? = nil,
    _ transform: @escaping @Sendable (S.Element) async throws -> T
) async throws -> [T] where S.Element: Sendable {
    try await withScopedPool(try WorkerPool(mode: mode, name: "parallelMap")) { pool in
        try await pool.map(items, chunkSize: chunkSize, progress: progress, transform)
    }
}

/// Applies `transform` to every item on workers that each own private state made by `makeState`, and returns the
/// results in input order — `.isolated` mode, the analogue of `InterpreterPoolExecutor(initializer=…).map`.
///
/// ```swift
/// let counts = try await parallelMap(documents, makeState: { Tokenizer() }) { tokenizer, text in
///     tokenizer.tokenize(text).count
/// }
/// ```
///
/// - Parameters:
///   - items: the input.
///   - mode: `.isolated(workers:)` (the default), `.threads(workers:)` or `.auto` — all run on an ``IsolatedPool``.
///   - chunkSize: items per task, or `nil` to choose automatically.
///   - progress: receives the map's progress (see ``ProgressMonitor``); `nil` costs nothing.
///   - makeState: creates one worker's state, on that worker's thread.
///   - transform: the work per item, given the worker's state.
/// - Returns: the results in input order.
/// - Throws: what `makeState` or `transform` threw, unchanged; ``OffloadError/Code/invalidArgument`` for `.io` or
///   `.processes` (state cannot be shared with async tasks or other processes), a worker count or chunk size below 1.
public func parallelMap<S: Sequence, State, T: Sendable>(
    _ items: S,
    mode: ParallelMode = .isolated(),
    chunkSize: Int? = nil,
    progress: ProgressMonitor? = nil,
    makeState: @escaping @Sendable () throws -> State,
    _ transform: @escaping @Sendable (inout State, S.Element) throws -> T
) async throws -> [T] where S.Element: Sendable {
    let workers: Int?
    switch mode {
    case .isolated(let count), .threads(let count): workers = count
    case .auto: workers = nil
    case .io, .processes:
        throw OffloadError.invalidArgument(
            "per-worker state needs worker threads: use mode .isolated, not \(mode)")
    }
    return try await withIsolatedPool(workers: workers, name: "parallelMap", makeState: makeState) { pool in
        try await pool.map(items, chunkSize: chunkSize, progress: progress, transform)
    }
}

/// Runs every job and returns their outputs in input order: in-process on dedicated threads (`.threads`,
/// `.isolated`, `.auto` — jobs share nothing by construction), or in worker processes (`.processes`).
///
/// - Parameters:
///   - jobs: the jobs.
///   - mode: where to run them.
///   - progress: receives the map's progress (see ``ProgressMonitor``); `nil` costs nothing.
/// - Returns: each job's output, in input order.
/// - Throws: the first error a job threw (in-process: unchanged; in a process: ``OffloadError/Code/jobFailed``), the
///   process pool's typed errors, or ``OffloadError/Code/invalidArgument`` for `.io` (jobs are synchronous work:
///   they would block the cooperative pool).
public func parallelMap<S: Sequence>(
    jobs: S,
    mode: ParallelMode = .auto,
    progress: ProgressMonitor? = nil
) async throws -> [S.Element.Output] where S.Element: Job {
    if case .io = mode {
        throw OffloadError.invalidArgument(
            "jobs are synchronous work and would block Swift's cooperative pool: use mode .threads or .processes")
    }
    return try await withScopedPool(try WorkerPool(mode: mode, name: "parallelMap")) { pool in
        try await pool.map(jobs, progress: progress)
    }
}
