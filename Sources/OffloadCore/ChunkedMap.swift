import DequeModule

/// The chunking and windowing shared by every pool's `map` and `mapUnordered`.
///
/// Items are grouped into chunks (one task each) so that per-task overhead — queueing, waking a worker, delivering a
/// result — is paid once per chunk instead of once per item. At most `maxInFlight` chunks are submitted and not yet
/// consumed, so a huge input is never copied into the queue all at once.
@usableFromInline
package enum ChunkedMap {
    /// Chunks per worker when the chunk size is chosen automatically: CPython's `multiprocessing.Pool.map` uses 4 —
    /// enough chunks to balance uneven items across workers, few enough that per-chunk overhead is negligible.
    @usableFromInline static let chunksPerWorker = 4

    /// The chunk size for `count` items on `workers` workers: `ceil(count / (workers * 4))`, at least 1.
    @usableFromInline
    package static func automaticChunkSize(count: Int, workers: Int) -> Int {
        let chunks = max(1, workers * chunksPerWorker)
        return max(1, (count + chunks - 1) / chunks)
    }

    /// Validates a requested chunk size or picks one.
    @usableFromInline
    package static func resolveChunkSize(_ requested: Int?, count: Int?, workers: Int) throws(OffloadError) -> Int {
        if let requested {
            guard requested >= 1 else {
                throw OffloadError.invalidArgument("chunk size must be at least 1, got \(requested)")
            }
            return requested
        }
        guard let count else { return 1 }
        return automaticChunkSize(count: count, workers: workers)
    }

    /// The default number of chunks in flight: enough to keep every worker busy while finished chunks wait to be
    /// consumed.
    @usableFromInline
    package static func defaultWindow(workers: Int) -> Int {
        max(16, workers * chunksPerWorker * 2)
    }

    @usableFromInline
    package static func resolveWindow(_ requested: Int?, workers: Int) throws(OffloadError) -> Int {
        if let requested {
            guard requested >= 1 else {
                throw OffloadError.invalidArgument("maxInFlight must be at least 1, got \(requested)")
            }
            return requested
        }
        return defaultWindow(workers: workers)
    }

    /// Ordered map: submits chunks through `submit`, keeps at most `window` in flight, and concatenates results in
    /// input order. On the first error (in input order) every chunk still in flight is cancelled and the error is
    /// rethrown unchanged.
    @inlinable
    package static func ordered<S: Sequence, T: Sendable>(
        _ items: S,
        chunkSize: Int,
        window: Int,
        submit: ([S.Element]) throws -> TaskHandle<[T]>
    ) async throws -> [T] {
        var results: [T] = []
        results.reserveCapacity(items.underestimatedCount)
        var inFlight = Deque<TaskHandle<[T]>>()
        var iterator = items.makeIterator()
        var exhausted = false
        do {
            while true {
                while !exhausted && inFlight.count < window {
                    let chunk = nextChunk(from: &iterator, size: chunkSize)
                    if chunk.isEmpty {
                        exhausted = true
                    } else {
                        inFlight.append(try submit(chunk))
                    }
                }
                guard let oldest = inFlight.popFirst() else { return results }
                results.append(contentsOf: try await oldest.value)
            }
        } catch {
            for handle in inFlight { handle.cancel() }
            throw error
        }
    }

    @inlinable
    package static func nextChunk<I: IteratorProtocol>(from iterator: inout I, size: Int) -> [I.Element] {
        var chunk: [I.Element] = []
        chunk.reserveCapacity(size)
        while chunk.count < size, let element = iterator.next() {
            chunk.append(element)
        }
        return chunk
    }

    /// The number of items when `items` is a collection.
    @inlinable
    package static func count<S: Sequence>(of items: S) -> Int? {
        (items as? any Collection)?.count
    }

    /// `transform` over one chunk.
    @inlinable
    package static func apply<E, T>(_ transform: (E) throws -> T, to chunk: [E]) rethrows -> [T] {
        var results: [T] = []
        results.reserveCapacity(chunk.count)
        for item in chunk { results.append(try transform(item)) }
        return results
    }

    /// `transform` over one chunk with a worker's state.
    @inlinable
    package static func apply<State, E, T>(
        _ transform: (inout State, E) throws -> T,
        to chunk: [E],
        state: inout State
    ) rethrows -> [T] {
        var results: [T] = []
        results.reserveCapacity(chunk.count)
        for item in chunk { results.append(try transform(&state, item)) }
        return results
    }
}
