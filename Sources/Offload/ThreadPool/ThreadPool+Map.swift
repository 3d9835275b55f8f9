extension ThreadPool {
    /// Applies `transform` to every item on the pool's threads and returns the results in input order.
    ///
    /// Items are processed in chunks, one task per chunk, sized by ``ChunkPolicy`` (adapted to the measured cost of
    /// an item, capped so that workers stay balanced and memory does not grow with the input); pass `chunkSize` to
    /// fix it (1 sends every item as its own task). At most a bounded number of chunks is in flight, so the input is
    /// read lazily and never copied all at once.
    ///
    /// - Parameters:
    ///   - items: the input; read once, lazily.
    ///   - chunkSize: items per task, or `nil` to choose automatically.
    ///   - progress: receives the map's progress (see ``ProgressMonitor``); `nil` costs nothing.
    ///   - transform: the work per item. Runs concurrently on several threads.
    /// - Returns: `transform` applied to every item, in input order.
    /// - Throws: the first error `transform` threw (in input order), unchanged — the remaining chunks are cancelled;
    ///   `CancellationError` if the calling task is cancelled; ``OffloadError/Code/invalidArgument`` for a chunk size
    ///   below 1; ``OffloadError/Code/poolShutDown``.
    ///
    /// Python mapping: `ThreadPoolExecutor.map` with `multiprocessing.Pool.map`'s chunking.
    @inlinable
    public func map<S: Sequence, T: Sendable>(
        _ items: S,
        chunkSize: Int? = nil,
        progress: ProgressMonitor? = nil,
        _ transform: @escaping @Sendable (S.Element) throws -> T
    ) async throws -> [T] where S.Element: Sendable {
        let policy = try ChunkPolicy(chunkSize: chunkSize, count: items.underestimatedCount, workers: workerCount)
        let window = ChunkedMap.defaultWindow(workers: workerCount)
        return try await OrderedChunks.collectValues(
            items, policy: policy, window: window, progress: progress, chunksCountThemselves: true
        ) { chunk, start throws(OffloadError) in
            try self.submit {
                let batch = try ChunkedMap.applyTimed(transform, to: chunk, start: start, progress: progress)
                // Counted here, as the chunk ends on its thread (a chunk that throws is counted by the consumer).
                progress?.chunkEnded(start: start, items: chunk.count, result: .success(batch))
                return batch
            }
        }
    }

    /// Applies `transform` to every item and returns one outcome per item, in input order: an item whose transform
    /// throws fails alone (``OffloadError/Code/jobFailed`` with the original error as ``OffloadError/cause`` and its
    /// position as ``OffloadError/index``); the others go on.
    ///
    /// - Parameters:
    ///   - items: the input; read once, lazily.
    ///   - chunkSize: items per task, or `nil` to choose automatically.
    ///   - progress: receives the map's progress (see ``ProgressMonitor``); `nil` costs nothing.
    ///   - transform: the work per item.
    /// - Returns: `results[i]` is the outcome of the `i`-th item.
    /// - Throws: only `CancellationError`, ``OffloadError/Code/invalidArgument`` or ``OffloadError/Code/poolShutDown``.
    @inlinable
    public func mapResults<S: Sequence, T: Sendable>(
        _ items: S,
        chunkSize: Int? = nil,
        progress: ProgressMonitor? = nil,
        _ transform: @escaping @Sendable (S.Element) throws -> T
    ) async throws -> [Result<T, OffloadError>] where S.Element: Sendable {
        let policy = try ChunkPolicy(chunkSize: chunkSize, count: items.underestimatedCount, workers: workerCount)
        let window = ChunkedMap.defaultWindow(workers: workerCount)
        return try await OrderedChunks.collectOutcomes(items, policy: policy, window: window, progress: progress) {
            chunk, start throws(OffloadError) in
            try self.submit { ChunkedMap.applyEach(transform, to: chunk, start: start, progress: progress) }
        }
    }

    /// Applies `transform` to every item on the pool's threads and yields `(index, value)` pairs as chunks complete.
    ///
    /// - Parameters:
    ///   - items: the input; read lazily, a chunk at a time, as results are consumed.
    ///   - chunkSize: items per task, or `nil` to choose automatically.
    ///   - maxInFlight: the most chunks queued or finished-but-unconsumed at once; `nil` for a default that keeps
    ///     every worker busy.
    ///   - progress: receives the map's progress (see ``ProgressMonitor``); `nil` costs nothing.
    ///   - transform: the work per item.
    /// - Returns: an asynchronous sequence of results in completion order.
    /// - Throws: ``OffloadError/Code/invalidArgument`` for a chunk size or `maxInFlight` below 1. Errors of the work
    ///   are thrown while iterating.
    @inlinable
    public func mapUnordered<S: Sequence, T: Sendable>(
        _ items: S,
        chunkSize: Int? = nil,
        maxInFlight: Int? = nil,
        progress: ProgressMonitor? = nil,
        _ transform: @escaping @Sendable (S.Element) throws -> T
    ) throws(OffloadError) -> UnorderedResults<S, T> where S.Element: Sendable {
        let policy = try ChunkPolicy(chunkSize: chunkSize, count: items.underestimatedCount, workers: workerCount)
        let window = try ChunkedMap.resolveWindow(maxInFlight, workers: workerCount)
        return UnorderedResults(base: items, policy: policy, window: window, progress: progress) {
            [self] chunk, start throws(OffloadError) in
            try submit { try ChunkedMap.applyTimed(transform, to: chunk, start: start, progress: progress) }
        }
    }
}

extension ThreadPool: JobExecutor {
    /// Queues a job to run in this process on one of the pool's threads (``Job/run()``).
    /// - Parameters:
    ///   - job: the job.
    ///   - options: must not set a timeout: a thread cannot be stopped from outside (use a ``ProcessPool``).
    /// - Returns: a handle to the job's output; what the job throws reaches it unchanged.
    /// - Throws: ``OffloadError/Code/invalidArgument`` for a timeout, ``OffloadError/Code/poolShutDown``.
    @inlinable
    public func submit<J: Job>(_ job: J, options: JobOptions) throws(OffloadError) -> TaskHandle<J.Output> {
        try ThreadPool.refuseTimeout(options)
        return try submit { try job.run() }
    }

    /// Queues several jobs as one task on one thread; each job's outcome is kept separately.
    /// - Parameters:
    ///   - jobs: the jobs.
    ///   - options: must not set a timeout (see ``submit(_:options:)``).
    /// - Returns: a handle to one outcome per job.
    /// - Throws: ``OffloadError/Code/invalidArgument`` for a timeout, ``OffloadError/Code/poolShutDown``.
    @inlinable
    public func submitBatch<J: Job>(
        _ jobs: [J],
        options: JobOptions
    ) throws(OffloadError) -> TaskHandle<BatchResults<J.Output>> {
        try ThreadPool.refuseTimeout(options)
        let route = options.progress
        if let tracer = JobTracing.current { return try submitTraced(jobs, route: route, tracer: tracer) }
        return try submit {
            ChunkedMap.applyEach({ try $0.run() }, to: jobs, start: route?.chunkStart ?? 0, progress: route?.monitor)
        }
    }

    /// ``submitBatch(_:options:)`` with a span for the task (submission to result) and one for its run on a thread.
    @usableFromInline
    func submitTraced<J: Job>(
        _ jobs: [J],
        route: ProgressRoute?,
        tracer: any JobTracer
    ) throws(OffloadError) -> TaskHandle<BatchResults<J.Output>> {
        let span = tracer.startTask(jobName: J.jobName, items: jobs.count, pool: name)
        let carrier = span.carrier
        let handle = try submit {
            tracer.withRunSpan(jobName: J.jobName, items: jobs.count, carrier: carrier) {
                ChunkedMap.applyEach({ try $0.run() }, to: jobs, start: route?.chunkStart ?? 0, progress: route?.monitor)
            }
        }
        JobTracing.endSpan(span, items: jobs.count, when: handle.completion)
        return handle
    }

    @usableFromInline
    static func refuseTimeout(_ options: JobOptions) throws(OffloadError) {
        if let timeout = options.timeout {
            throw OffloadError.invalidArgument(
                "a ThreadPool cannot stop a running job, so it cannot enforce a timeout (\(timeout)): run jobs that "
                    + "need one on a ProcessPool, or check OffloadTask.isCancelled inside the job")
        }
    }
}
