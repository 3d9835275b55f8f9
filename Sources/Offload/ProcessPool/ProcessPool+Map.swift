import Synchronization

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
    /// Jobs are batched as in ``map(_:batchSize:)``; a batch's outputs arrive together. The stream ends after the
    /// last output, or throws the first failure. Ending the iteration early cancels the jobs no worker has started.
    ///
    /// - Parameters:
    ///   - jobs: the jobs.
    ///   - batchSize: jobs per batch; `nil` chooses ``automaticBatchSize(for:)``.
    /// - Returns: an asynchronous sequence of `(index, value)` pairs, `index` being the job's position in `jobs`.
    ///
    /// Python mapping: `concurrent.futures.as_completed` / `multiprocessing.Pool.imap_unordered`.
    public func mapUnordered<J: Job>(
        _ jobs: some Collection<J>,
        batchSize: Int? = nil
    ) -> AsyncThrowingStream<(index: Int, value: J.Output), any Error> {
        let jobs = Array(jobs)
        let (stream, continuation) = AsyncThrowingStream<(index: Int, value: J.Output), any Error>.makeStream()
        let handles: [BatchHandle<J.Output>]
        do {
            handles = try submitBatches(jobs, batchSize: batchSize)
        } catch {
            continuation.finish(throwing: error)
            return stream
        }
        let remaining = Atomic<Int>(handles.count)
        if handles.isEmpty { continuation.finish() }
        var start = 0
        for handle in handles {
            let base = start
            start += handle.count
            handle.onCompletion { result in
                switch result {
                case .success(let values):
                    for (offset, value) in values.enumerated() { continuation.yield((index: base + offset, value: value)) }
                    if remaining.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 { continuation.finish() }
                case .failure(let error):
                    continuation.finish(throwing: error)
                }
            }
        }
        continuation.onTermination = { _ in
            for handle in handles { handle.cancel() }
        }
        return stream
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

    func onCompletion(_ callback: @escaping @Sendable (Result<[Output], any Error>) -> Void) {
        switch self {
        case .single(let handle): handle.completion.onCompletion { callback($0.map { [$0] }) }
        case .batch(let handle, _): handle.completion.onCompletion(callback)
        }
    }
}
