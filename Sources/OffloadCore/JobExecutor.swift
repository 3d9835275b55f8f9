/// Something that runs ``Job``s: the one protocol every Offload executor conforms to — ``ThreadPool``,
/// ``IsolatedPool``'s job path, ``ProcessPool``, ``WorkerPool`` and executors on other machines — so that code moves
/// between threads, processes and machines by changing the line that creates the executor.
///
/// An executor provides two primitives, ``submit(_:options:)`` and ``submitBatch(_:options:)``, plus its statistics
/// and shutdown; `run`, `map`, `mapUnordered`, `mapResults` and `mapUnorderedResults` are built on them once, here,
/// with one chunking policy (``ChunkPolicy``) and one window, for every executor alike:
///
/// | call | returns | on a failing job |
/// |---|---|---|
/// | ``run(_:options:)`` | the output | throws |
/// | ``map(_:chunkSize:options:progress:)`` | outputs in input order | throws the first failure (in input order); the rest is cancelled |
/// | ``mapUnordered(_:chunkSize:maxInFlight:options:progress:)`` | `(index, output)` as they complete | the sequence throws; the rest is cancelled |
/// | ``mapResults(_:chunkSize:options:progress:)`` | one `Result` per input, in order | that item is `.failure`; the rest goes on |
/// | ``mapUnorderedResults(_:chunkSize:maxInFlight:options:progress:)`` | `(index, Result)` as they complete | that item is `.failure`; the rest goes on |
///
/// Every map reads its input lazily (any `Sequence`) and keeps a bounded number of chunks in flight, so memory does
/// not grow with the input. Every failure names its input: ``OffloadError/index`` is the position in the input and
/// ``OffloadError/job`` describes the job.
///
/// Python mapping: `concurrent.futures.Executor` (`submit`, `map`, `shutdown`).
public protocol JobExecutor: AnyObject, Sendable {
    /// How many jobs the executor runs at once (sizes the windows of the maps).
    var workerCount: Int { get }

    /// Queues one job and returns a handle to its output.
    /// - Parameters:
    ///   - job: the job.
    ///   - options: per-call overrides of the executor's defaults (a timeout).
    /// - Returns: a handle to await, wait on or cancel.
    /// - Throws: ``OffloadError`` when the job cannot be accepted (``OffloadError/Code/poolShutDown``,
    ///   ``OffloadError/Code/encodingFailed``, ``OffloadError/Code/invalidArgument``).
    func submit<J: Job>(_ job: J, options: JobOptions) throws(OffloadError) -> TaskHandle<J.Output>

    /// Queues several jobs as one task — one queue entry, one message each way — whose result holds one outcome
    /// per job. A failure (a throw, a crash, a timeout) fails only its own job; the others still run.
    /// - Parameters:
    ///   - jobs: the jobs, at least one.
    ///   - options: per-call overrides; a timeout applies to each job of the batch, not to the batch.
    /// - Returns: a handle to the batch's outcomes, in the order of `jobs`.
    /// - Throws: as ``submit(_:options:)``.
    func submitBatch<J: Job>(_ jobs: [J], options: JobOptions) throws(OffloadError) -> TaskHandle<BatchResults<J.Output>>

    /// A consistent snapshot of the executor's counters.
    var stats: PoolStats { get }

    /// Stops accepting work and waits until the executor has stopped. Idempotent.
    /// - Parameter cancelPending: cancel queued work instead of running it.
    func shutdown(cancelPending: Bool) async
}

extension JobExecutor {
    /// Queues one job with the executor's default options.
    /// - Parameter job: the job.
    /// - Returns: a handle to its output.
    /// - Throws: as ``submit(_:options:)``.
    public func submit<J: Job>(_ job: J) throws(OffloadError) -> TaskHandle<J.Output> {
        try submit(job, options: .default)
    }

    /// Runs one job and returns its output. Cancelling the calling task cancels the job (see ``CancellationMode``).
    /// - Parameters:
    ///   - job: the job.
    ///   - options: per-call overrides of the executor's defaults.
    /// - Returns: the job's output.
    /// - Throws: the job's failure, or `CancellationError`.
    @inlinable
    public func run<J: Job>(_ job: J, options: JobOptions = .default) async throws -> J.Output {
        try await submit(job, options: options).value
    }

    /// Runs every job and returns the outputs in input order.
    ///
    /// Jobs are sent in chunks (one task per chunk) chosen by ``ChunkPolicy`` unless `chunkSize` is given, with a
    /// bounded number of chunks in flight. The first failure in input order is thrown and every chunk still in
    /// flight is cancelled; cancelling the calling task cancels them too.
    ///
    /// - Parameters:
    ///   - jobs: the jobs; read lazily.
    ///   - chunkSize: jobs per chunk; `nil` adapts it to the measured cost of a job, 1 sends every job alone.
    ///   - options: per-call overrides; a timeout applies to each job.
    ///   - progress: receives the map's progress (exact item counts, rate, time left); `nil` costs nothing.
    /// - Returns: the outputs, `outputs[i]` belonging to the `i`-th job.
    /// - Throws: the first failure (with ``OffloadError/index``), ``OffloadError/Code/invalidArgument`` for a
    ///   `chunkSize` below 1, or `CancellationError`.
    ///
    /// Python mapping: `Executor.map(fn, items, chunksize=…)`, with the chunk size chosen for you.
    @inlinable
    public func map<S: Sequence>(
        _ jobs: S,
        chunkSize: Int? = nil,
        options: JobOptions = .default,
        progress: ProgressMonitor? = nil
    ) async throws -> [S.Element.Output] where S.Element: Job {
        let policy = try ChunkPolicy(chunkSize: chunkSize, count: jobs.underestimatedCount, workers: workerCount)
        return try await OrderedChunks.collectValues(
            jobs,
            policy: policy,
            window: policy.window(workers: workerCount),
            progress: progress,
            submit: { [self] chunk, start throws(OffloadError) in
                try submitBatch(chunk, options: options.routingProgress(to: progress, chunkStart: start))
            }
        )
    }

    /// Runs every job and returns one outcome per job, in input order: a failing job does not stop the others.
    ///
    /// Chunked and windowed like ``map(_:chunkSize:options:progress:)``; a job that throws, crashes its worker or times out
    /// fails alone, naming its input (``OffloadError/index``, ``OffloadError/job``).
    ///
    /// - Parameters:
    ///   - jobs: the jobs; read lazily.
    ///   - chunkSize: jobs per chunk; `nil` adapts it.
    ///   - options: per-call overrides; a timeout applies to each job.
    ///   - progress: receives the map's progress (exact item counts, rate, time left); `nil` costs nothing.
    /// - Returns: `results[i]` is the outcome of the `i`-th job.
    /// - Throws: only ``OffloadError/Code/invalidArgument`` for a bad `chunkSize`, a submission error
    ///   (``OffloadError/Code/poolShutDown``), or `CancellationError`.
    @inlinable
    public func mapResults<S: Sequence>(
        _ jobs: S,
        chunkSize: Int? = nil,
        options: JobOptions = .default,
        progress: ProgressMonitor? = nil
    ) async throws -> [Result<S.Element.Output, OffloadError>] where S.Element: Job {
        let policy = try ChunkPolicy(chunkSize: chunkSize, count: jobs.underestimatedCount, workers: workerCount)
        return try await OrderedChunks.collectOutcomes(
            jobs,
            policy: policy,
            window: policy.window(workers: workerCount),
            progress: progress,
            submit: { [self] chunk, start throws(OffloadError) in
                try submitBatch(chunk, options: options.routingProgress(to: progress, chunkStart: start))
            }
        )
    }

    /// Runs every job and delivers `(index, output)` pairs as they complete, in completion order.
    ///
    /// Input is read lazily, a chunk at a time, with at most `maxInFlight` chunks queued or finished-but-unconsumed,
    /// so an input far larger than memory streams through. The first failure is thrown while iterating and cancels
    /// the chunks still in flight; so does ending the iteration early.
    ///
    /// - Parameters:
    ///   - jobs: the jobs; read lazily.
    ///   - chunkSize: jobs per chunk; `nil` adapts it.
    ///   - maxInFlight: the most chunks in flight; `nil` keeps every worker busy.
    ///   - options: per-call overrides; a timeout applies to each job.
    ///   - progress: receives the map's progress (exact item counts, rate, time left); `nil` costs nothing.
    /// - Returns: an asynchronous sequence of `(index, value)` pairs.
    /// - Throws: ``OffloadError/Code/invalidArgument`` for a `chunkSize` or `maxInFlight` below 1.
    ///
    /// Python mapping: `concurrent.futures.as_completed` / `multiprocessing.Pool.imap_unordered`.
    @inlinable
    public func mapUnordered<S: Sequence>(
        _ jobs: S,
        chunkSize: Int? = nil,
        maxInFlight: Int? = nil,
        options: JobOptions = .default,
        progress: ProgressMonitor? = nil
    ) throws(OffloadError) -> UnorderedResults<S, S.Element.Output> where S.Element: Job {
        let policy = try ChunkPolicy(chunkSize: chunkSize, count: jobs.underestimatedCount, workers: workerCount)
        let window =
            if let maxInFlight { try ChunkedMap.resolveWindow(maxInFlight, workers: workerCount) } else {
                policy.window(workers: workerCount)
            }
        return UnorderedResults(base: jobs, policy: policy, window: window, progress: progress) {
            [self] chunk, start throws(OffloadError) in
            try submitBatch(chunk, options: options.routingProgress(to: progress, chunkStart: start))
        }
    }

    /// Runs every job and delivers `(index, result)` pairs as they complete: a failing job does not end the stream.
    ///
    /// - Parameters:
    ///   - jobs: the jobs; read lazily.
    ///   - chunkSize: jobs per chunk; `nil` adapts it.
    ///   - maxInFlight: the most chunks in flight; `nil` keeps every worker busy.
    ///   - options: per-call overrides; a timeout applies to each job.
    ///   - progress: receives the map's progress (exact item counts, rate, time left); `nil` costs nothing.
    /// - Returns: an asynchronous sequence of `(index, result)` pairs, one per input.
    /// - Throws: ``OffloadError/Code/invalidArgument`` for a `chunkSize` or `maxInFlight` below 1.
    @inlinable
    public func mapUnorderedResults<S: Sequence>(
        _ jobs: S,
        chunkSize: Int? = nil,
        maxInFlight: Int? = nil,
        options: JobOptions = .default,
        progress: ProgressMonitor? = nil
    ) throws(OffloadError) -> UnorderedOutcomes<S, S.Element.Output> where S.Element: Job {
        let policy = try ChunkPolicy(chunkSize: chunkSize, count: jobs.underestimatedCount, workers: workerCount)
        let window =
            if let maxInFlight { try ChunkedMap.resolveWindow(maxInFlight, workers: workerCount) } else {
                policy.window(workers: workerCount)
            }
        return UnorderedOutcomes(base: jobs, policy: policy, window: window, progress: progress) {
            [self] chunk, start throws(OffloadError) in
            try submitBatch(chunk, options: options.routingProgress(to: progress, chunkStart: start))
        }
    }
}
