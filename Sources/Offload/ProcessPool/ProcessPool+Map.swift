extension ProcessPool {
    /// The batch size ``map(_:batchSize:)`` uses when none is given: about eight batches per worker, so that work
    /// stays balanced when job durations vary, and at most 1,024 jobs per batch, so that a batch's frame stays small.
    /// - Parameter count: the number of jobs.
    /// - Returns: the number of jobs per batch (at least 1).
    public func automaticBatchSize(for count: Int) -> Int {
        let target = (count + workerCount * 8 - 1) / (workerCount * 8)
        return max(1, min(1_024, target))
    }

    /// Runs every job and returns the outputs in the order of the jobs.
    ///
    /// Jobs are sent in batches (one frame and one result frame per batch), which removes most of the per-job
    /// round-trip cost for small jobs. If a job fails, the remaining batches are cancelled and the first error (in
    /// job order) is thrown; cancelling the calling task cancels the batches no worker has started.
    ///
    /// - Parameters:
    ///   - jobs: the jobs.
    ///   - batchSize: jobs per batch; `nil` chooses ``automaticBatchSize(for:)``, 1 sends every job alone.
    /// - Returns: the outputs, `outputs[i]` belonging to the `i`-th job.
    /// - Throws: the first failure as described in ``submit(_:)``, ``OffloadError/Code/invalidArgument`` for a
    ///   `batchSize` below 1, or `CancellationError`.
    ///
    /// Python mapping: `ProcessPoolExecutor.map(fn, items, chunksize=…)`, with the chunk size chosen for you.
    public func map<J: Job>(_ jobs: some Collection<J>, batchSize: Int? = nil) async throws -> [J.Output] {
        let handles = try submitBatches(Array(jobs), batchSize: batchSize)
        return try await withTaskCancellationHandler {
            var outputs: [J.Output] = []
            outputs.reserveCapacity(jobs.count)
            do {
                for handle in handles {
                    switch handle {
                    case .single(let handle): outputs.append(try await handle.value)
                    case .batch(let handle, _): outputs.append(contentsOf: try await handle.value)
                    }
                }
            } catch {
                for handle in handles { handle.cancel() }
                throw error
            }
            return outputs
        } onCancel: {
            for handle in handles { handle.cancel() }
        }
    }

    /// Runs every job and delivers `(index, output)` pairs as they complete, in completion order.
    ///
    /// Jobs are batched as in ``map(_:batchSize:)`` and read lazily: at most `maxInFlight` batches are queued or
    /// finished-but-unconsumed at once, so a long job sequence streams through the pool. The first failure is thrown
    /// while iterating and cancels the batches still queued; so does ending the iteration early.
    ///
    /// - Parameters:
    ///   - jobs: the jobs; read lazily.
    ///   - batchSize: jobs per batch; `nil` chooses ``automaticBatchSize(for:)`` (1 for sequences of unknown size).
    ///   - maxInFlight: the most batches in flight; `nil` keeps every worker busy.
    /// - Returns: an asynchronous sequence of `(index, value)` pairs, `index` being the job's position in `jobs`.
    /// - Throws: ``OffloadError/Code/invalidArgument`` for a `batchSize` or `maxInFlight` below 1.
    ///
    /// Python mapping: `concurrent.futures.as_completed` / `multiprocessing.Pool.imap_unordered`.
    public func mapUnordered<S: Sequence>(
        _ jobs: S,
        batchSize: Int? = nil,
        maxInFlight: Int? = nil
    ) throws(OffloadError) -> UnorderedResults<S, S.Element.Output> where S.Element: Job {
        if let batchSize, batchSize < 1 {
            throw OffloadError.invalidArgument("batchSize must be at least 1, got \(batchSize)")
        }
        let count = jobs.underestimatedCount
        let size = batchSize ?? (count > 0 ? automaticBatchSize(for: count) : 1)
        let window = try ChunkedMap.resolveWindow(maxInFlight, workers: workerCount)
        return UnorderedResults(base: jobs, chunkSize: size, window: window) { [self] batch in
            try submitBatch(batch)
        }
    }

    private func submitBatches<J: Job>(_ jobs: [J], batchSize: Int?) throws(OffloadError) -> [BatchHandle<J.Output>] {
        if let batchSize, batchSize < 1 {
            throw OffloadError.invalidArgument("batchSize must be at least 1, got \(batchSize)")
        }
        let size = batchSize ?? automaticBatchSize(for: jobs.count)
        var handles: [BatchHandle<J.Output>] = []
        handles.reserveCapacity((jobs.count + size - 1) / size)
        do {
            var start = 0
            while start < jobs.count {
                let end = min(start + size, jobs.count)
                if size == 1 {
                    handles.append(.single(try submit(jobs[start])))
                } else {
                    handles.append(.batch(try submitBatch(Array(jobs[start..<end])), count: end - start))
                }
                start = end
            }
        } catch {
            for handle in handles { handle.cancel() }
            throw error
        }
        return handles
    }
}

/// A task of ``ProcessPool/map(_:batchSize:)``: one job or one batch.
enum BatchHandle<Output: Sendable>: Sendable {
    case single(TaskHandle<Output>)
    case batch(TaskHandle<[Output]>, count: Int)

    var count: Int {
        switch self {
        case .single: return 1
        case .batch(_, let count): return count
        }
    }

    func cancel() {
        switch self {
        case .single(let handle): handle.cancel()
        case .batch(let handle, _): handle.cancel()
        }
    }
}
