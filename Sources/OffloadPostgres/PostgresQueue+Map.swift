import OffloadCore

extension PostgresQueue {
    /// Runs every job with the default options and returns the outputs in the order of the jobs.
    ///
    /// Each job is its own row (retried, timed out and cancelled on its own); they are inserted `chunkSize` rows per
    /// statement, and at most a window of chunks is in flight, so a long input streams through the database. If a job
    /// fails, the jobs not yet started are cancelled and the first failure is thrown.
    ///
    /// - Parameters:
    ///   - jobs: the jobs.
    ///   - chunkSize: rows per insert statement (default 500).
    /// - Returns: the outputs, `outputs[i]` belonging to the `i`-th job.
    /// - Throws: the first failure as described in ``submit(_:)``, ``OffloadError/Code/invalidArgument`` for a
    ///   `chunkSize` below 1, or `CancellationError`.
    ///
    /// Python mapping: `ProcessPoolExecutor.map(fn, items, chunksize=…)`; Celery's `group(...).apply_async().get()`.
    public func map<S: Sequence>(
        _ jobs: S,
        chunkSize: Int? = nil
    ) async throws -> [S.Element.Output] where S.Element: Job {
        var outputs: [S.Element.Output?] = []
        outputs.reserveCapacity(jobs.underestimatedCount)
        for try await (index, value) in try mapUnordered(jobs, chunkSize: chunkSize, maxInFlight: nil) {
            while outputs.count <= index { outputs.append(nil) }
            outputs[index] = value
        }
        return outputs.map { $0! }
    }

    /// Runs every job with the default options and delivers `(index, output)` pairs as they complete.
    ///
    /// - Parameters:
    ///   - jobs: the jobs; read lazily.
    ///   - chunkSize: rows per insert statement (default 500).
    ///   - maxInFlight: the most chunks inserted and not yet consumed (default 16).
    /// - Returns: an asynchronous sequence of `(index, value)` pairs.
    /// - Throws: ``OffloadError/Code/invalidArgument`` for a `chunkSize` or `maxInFlight` below 1.
    ///
    /// Python mapping: `concurrent.futures.as_completed` / `multiprocessing.Pool.imap_unordered`.
    public func mapUnordered<S: Sequence>(
        _ jobs: S,
        chunkSize: Int? = nil,
        maxInFlight: Int? = nil
    ) throws(OffloadError) -> UnorderedResults<S, S.Element.Output> where S.Element: Job {
        if let chunkSize, chunkSize < 1 {
            throw OffloadError(.invalidArgument, "chunkSize must be at least 1, got \(chunkSize)")
        }
        if let maxInFlight, maxInFlight < 1 {
            throw OffloadError(.invalidArgument, "maxInFlight must be at least 1, got \(maxInFlight)")
        }
        let options = configuration.defaultOptions
        let policy = try ChunkPolicy(chunkSize: chunkSize ?? 500, count: jobs.underestimatedCount, workers: 1)
        return UnorderedResults(base: jobs, policy: policy, window: maxInFlight ?? 16) {
            [self] (chunk: [S.Element]) throws(OffloadError) -> TaskHandle<BatchResults<S.Element.Output>> in
            let handle = try submitChunk(chunk, options: options)
            let completion = TaskCompletion<BatchResults<S.Element.Output>>()
            handle.completion.onCompletion { result in completion.finish(result.map { BatchResults(values: $0) }) }
            return TaskHandle(completion: completion, canceller: HandleCanceller(handle))
        }
    }

    /// Queues several jobs in one insert; the handle ends when all are final.
    func submitChunk<J: Job>(_ jobs: [J], options: PostgresJobOptions) throws(OffloadError) -> TaskHandle<[J.Output]> {
        var rows: [InsertRow] = []
        rows.reserveCapacity(jobs.count)
        for job in jobs { rows.append(try makeRow(job, options: options)) }
        let completion = TaskCompletion<[J.Output]>()
        let canceller = JobCanceller(queue: self)
        let count = jobs.count
        let request = InsertRequest(rows: rows) { [self] result in
            switch result {
            case .success(let ids):
                canceller.setIDs(ids.map(\.0))
                awaitResults(J.Output.self, ids: ids.map(\.0), jobName: J.jobName) { completion.finish($0) }
            case .failure(let error):
                countFinished(.failure(error), jobs: count)
                completion.finish(.failure(error))
            }
        }
        canceller.attach(request) { completion.cancelIfPending() }
        try accept(jobs: count)
        enqueueInsert(request)
        return TaskHandle(completion: completion, canceller: canceller)
    }
}

/// Cancels the wrapped handle: the canceller of a handle that re-types another one.
final class HandleCanceller<Value: Sendable>: TaskCanceller {
    private let handle: TaskHandle<Value>

    init(_ handle: TaskHandle<Value>) {
        self.handle = handle
    }

    func cancelPending(_ task: any PendingTask) -> Bool { handle.cancel() }
}
