extension WorkerPoolCore {
    /// Ordered, chunked map over the pool (the body of ``ThreadPool/map(_:chunkSize:_:)`` and
    /// ``IsolatedPool/map(_:chunkSize:_:)``).
    func map<S: Sequence, T: Sendable>(
        _ items: S,
        chunkSize: Int?,
        _ transform: @escaping @Sendable (inout State, S.Element) throws -> T
    ) async throws -> [T] where S.Element: Sendable {
        let size = try ChunkedMap.resolveChunkSize(chunkSize, count: Self.count(of: items), workers: workerCount)
        return try await ChunkedMap.ordered(items, chunkSize: size, window: ChunkedMap.defaultWindow(workers: workerCount)) {
            chunk in try submitChunk(chunk, transform)
        }
    }

    /// Unordered, chunked, bounded map over the pool (the body of the pools' `mapUnordered`).
    func mapUnordered<S: Sequence, T: Sendable>(
        _ items: S,
        chunkSize: Int?,
        maxInFlight: Int?,
        _ transform: @escaping @Sendable (inout State, S.Element) throws -> T
    ) throws(OffloadError) -> UnorderedResults<S, T> where S.Element: Sendable {
        let size = try ChunkedMap.resolveChunkSize(chunkSize, count: Self.count(of: items), workers: workerCount)
        let window = try ChunkedMap.resolveWindow(maxInFlight, workers: workerCount)
        return UnorderedResults(base: items, chunkSize: size, window: window) { [self] chunk in
            try submitChunk(chunk, transform)
        }
    }

    private func submitChunk<E: Sendable, T: Sendable>(
        _ chunk: [E],
        _ transform: @escaping @Sendable (inout State, E) throws -> T
    ) throws(OffloadError) -> TaskHandle<[T]> {
        try submit { state in
            var results: [T] = []
            results.reserveCapacity(chunk.count)
            for item in chunk { results.append(try transform(&state, item)) }
            return results
        }
    }

    private static func count<S: Sequence>(of items: S) -> Int? {
        (items as? any Collection)?.count
    }
}
