extension ThreadPool {
    /// Applies `transform` to every item on the pool's threads and returns the results in input order.
    ///
    /// Items are processed in chunks, one task per chunk, so per-task overhead is amortised over many items. With
    /// `chunkSize: nil` the size is `ceil(count / (workers × 4))` for collections (CPython's `Pool.map` rule), which
    /// balances uneven items across workers while keeping overhead negligible; pass a size to override it (1 sends every
    /// item as its own task). At most a bounded number of chunks is in flight, so the input is not copied all at once.
    ///
    /// - Parameters:
    ///   - items: the input; read once, lazily.
    ///   - chunkSize: items per task, or `nil` to choose automatically.
    ///   - transform: the work per item. Runs concurrently on several threads.
    /// - Returns: `transform` applied to every item, in input order.
    /// - Throws: the first error `transform` threw (in input order), unchanged — the remaining chunks are cancelled;
    ///   `CancellationError` if the calling task is cancelled; ``OffloadError/Code/invalidArgument`` for a chunk size
    ///   below 1; ``OffloadError/Code/poolShutDown``.
    @inlinable
    public func map<S: Sequence, T: Sendable>(
        _ items: S,
        chunkSize: Int? = nil,
        _ transform: @escaping @Sendable (S.Element) throws -> T
    ) async throws -> [T] where S.Element: Sendable {
        let size = try ChunkedMap.resolveChunkSize(chunkSize, count: ChunkedMap.count(of: items), workers: workerCount)
        let window = ChunkedMap.defaultWindow(workers: workerCount)
        return try await ChunkedMap.ordered(items, chunkSize: size, window: window) { chunk in
            try self.submit { try ChunkedMap.apply(transform, to: chunk) }
        }
    }

    /// Applies `transform` to every item on the pool's threads and yields `(index, value)` pairs as chunks complete.
    ///
    /// - Parameters:
    ///   - items: the input; read lazily, a chunk at a time, as results are consumed.
    ///   - chunkSize: items per task, or `nil` to choose automatically (as in ``map(_:chunkSize:_:)``; 1 for
    ///     sequences whose size is unknown).
    ///   - maxInFlight: the most chunks queued or finished-but-unconsumed at once; `nil` for a default that keeps
    ///     every worker busy.
    ///   - transform: the work per item.
    /// - Returns: an asynchronous sequence of results in completion order.
    /// - Throws: ``OffloadError/Code/invalidArgument`` for a chunk size or `maxInFlight` below 1. Errors of the work
    ///   are thrown while iterating.
    @inlinable
    public func mapUnordered<S: Sequence, T: Sendable>(
        _ items: S,
        chunkSize: Int? = nil,
        maxInFlight: Int? = nil,
        _ transform: @escaping @Sendable (S.Element) throws -> T
    ) throws(OffloadError) -> UnorderedResults<S, T> where S.Element: Sendable {
        let size = try ChunkedMap.resolveChunkSize(chunkSize, count: ChunkedMap.count(of: items), workers: workerCount)
        let window = try ChunkedMap.resolveWindow(maxInFlight, workers: workerCount)
        return UnorderedResults(base: items, chunkSize: size, window: window) { [self] chunk in
            try submit { try ChunkedMap.apply(transform, to: chunk) }
        }
    }
}
