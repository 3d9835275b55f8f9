extension IsolatedPool {
    /// Applies `transform` to every item, each call with the state of the worker running it, and returns the results
    /// in input order. Chunking and bounds are as in ``ThreadPool/map(_:chunkSize:progress:_:)``.
    ///
    /// - Parameters:
    ///   - items: the input; read once, lazily.
    ///   - chunkSize: items per task, or `nil` to choose automatically.
    ///   - progress: receives the map's progress (see ``ProgressMonitor``); `nil` costs nothing.
    ///   - transform: the work per item, given the worker's state.
    /// - Returns: the results in input order.
    /// - Throws: the first error `transform` threw (in input order), unchanged; `CancellationError`;
    ///   ``OffloadError/Code/invalidArgument``; ``OffloadError/Code/poolShutDown``.
    @inlinable
    public func map<S: Sequence, T: Sendable>(
        _ items: S,
        chunkSize: Int? = nil,
        progress: ProgressMonitor? = nil,
        _ transform: @escaping @Sendable (inout State, S.Element) throws -> T
    ) async throws -> [T] where S.Element: Sendable {
        let policy = try ChunkPolicy(chunkSize: chunkSize, count: items.underestimatedCount, workers: workerCount)
        let window = ChunkedMap.defaultWindow(workers: workerCount)
        return try await OrderedChunks.collectValues(items, policy: policy, window: window, progress: progress) {
            chunk, start throws(OffloadError) in
            try self.submitStateful { state in
                try ChunkedMap.applyTimed(transform, to: chunk, state: &state, start: start, progress: progress)
            }
        }
    }

    /// Applies `transform` to every item with the running worker's state and yields `(index, value)` pairs as chunks
    /// complete. Bounds and cancellation are as in ``ThreadPool/mapUnordered(_:chunkSize:maxInFlight:progress:_:)``.
    ///
    /// - Parameters:
    ///   - items: the input; read lazily.
    ///   - chunkSize: items per task, or `nil` to choose automatically.
    ///   - maxInFlight: the most chunks in flight at once, or `nil` for the default.
    ///   - progress: receives the map's progress (see ``ProgressMonitor``); `nil` costs nothing.
    ///   - transform: the work per item, given the worker's state.
    /// - Returns: an asynchronous sequence of results in completion order.
    /// - Throws: ``OffloadError/Code/invalidArgument`` for a chunk size or `maxInFlight` below 1.
    @inlinable
    public func mapUnordered<S: Sequence, T: Sendable>(
        _ items: S,
        chunkSize: Int? = nil,
        maxInFlight: Int? = nil,
        progress: ProgressMonitor? = nil,
        _ transform: @escaping @Sendable (inout State, S.Element) throws -> T
    ) throws(OffloadError) -> UnorderedResults<S, T> where S.Element: Sendable {
        let policy = try ChunkPolicy(chunkSize: chunkSize, count: items.underestimatedCount, workers: workerCount)
        let window = try ChunkedMap.resolveWindow(maxInFlight, workers: workerCount)
        return UnorderedResults(base: items, policy: policy, window: window, progress: progress) {
            [self] chunk, start throws(OffloadError) in
            try submitStateful { state in
                try ChunkedMap.applyTimed(transform, to: chunk, state: &state, start: start, progress: progress)
            }
        }
    }
}
