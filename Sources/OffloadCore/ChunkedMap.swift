import DequeModule

/// Helpers of every pool's maps: validating windows, cutting the next chunk, applying a transform to a chunk. The
/// chunk size itself is ``ChunkPolicy``'s; the ordered driver is ``OrderedChunks``, the unordered one
/// ``UnorderedResults``.
@usableFromInline
package enum ChunkedMap {
    /// Chunks per worker the window is sized for: CPython's `multiprocessing.Pool.map` cuts 4 per worker — enough
    /// to balance uneven items across workers, few enough that per-chunk overhead is negligible.
    @usableFromInline static let chunksPerWorker = 4

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

    /// The input's size when it is a collection (known before it is read), `nil` otherwise.
    @inlinable
    package static func knownCount<S: Sequence>(_ items: S) -> Int? {
        if let collection = items as? any Collection { return collection.count }
        let estimate = items.underestimatedCount
        return estimate > 0 ? estimate : nil
    }

    /// Counts a chunk in `progress` as soon as it ends (the map's consumer may see it later, in input order).
    @inlinable
    package static func watch<Output>(
        _ handle: TaskHandle<BatchResults<Output>>,
        start: Int,
        items: Int,
        _ progress: ProgressMonitor
    ) {
        handle.completion.onCompletion { result in progress.chunkEnded(start: start, items: items, result: result) }
    }

    /// `transform` over one chunk, timed, with each item's ``JobProgress`` reports routed to `progress` (one
    /// task-local binding per chunk; one relaxed store per item while ``ProgressMonitor/tracksItems``).
    @inlinable
    package static func applyTimed<E, T>(
        _ transform: (E) throws -> T,
        to chunk: [E],
        start: Int,
        progress: ProgressMonitor?
    ) throws -> BatchResults<T> {
        guard let progress else { return try applyTimed(transform, to: chunk) }
        let sink = ChunkProgressSink(monitor: progress, chunkStart: start)
        return try JobProgress.withSink(sink) {
            // Jobs that do not report need no count of the chunk's ended items: the same loop as without a monitor.
            guard progress.tracksItems else { return try applyTimed(transform, to: chunk) }
            return try applyTimed({ (item: E) in
                defer { sink.advance() }
                return try transform(item)
            }, to: chunk)
        }
    }

    /// `transform` over one chunk with a worker's state, timed, with ``JobProgress`` reports routed to `progress`.
    @inlinable
    package static func applyTimed<State, E, T>(
        _ transform: (inout State, E) throws -> T,
        to chunk: [E],
        state: inout State,
        start: Int,
        progress: ProgressMonitor?
    ) throws -> BatchResults<T> {
        guard let progress else { return try applyTimed(transform, to: chunk, state: &state) }
        let sink = ChunkProgressSink(monitor: progress, chunkStart: start)
        return try JobProgress.withSink(sink) {
            guard progress.tracksItems else {
                return try applyTimed(transform, to: chunk, state: &state)
            }
            return try applyTimed({ (state: inout State, item: E) in
                defer { sink.advance() }
                return try transform(&state, item)
            }, to: chunk, state: &state)
        }
    }

    /// `transform` over one chunk, one outcome per item, with ``JobProgress`` reports routed to `progress`.
    @inlinable
    package static func applyEach<E, T>(
        _ transform: (E) throws -> T,
        to chunk: [E],
        start: Int,
        progress: ProgressMonitor?
    ) -> BatchResults<T> {
        guard let progress else { return applyEach(transform, to: chunk) }
        let sink = ChunkProgressSink(monitor: progress, chunkStart: start)
        return JobProgress.withSink(sink) {
            guard progress.tracksItems else { return applyEach(transform, to: chunk) }
            return applyEach({ (item: E) in
                defer { sink.advance() }
                return try transform(item)
            }, to: chunk)
        }
    }

    /// The next `size` elements of `iterator` (fewer at the end of the input), written straight into the chunk's
    /// storage: no per-element capacity check, as `append` makes (measured: about half the per-item cost of a
    /// trivial in-process map went to cutting chunks element by element with `append`).
    @inlinable
    package static func nextChunk<I: IteratorProtocol>(from iterator: inout I, size: Int) -> [I.Element] {
        Array(unsafeUninitializedCapacity: size) { buffer, initialized in
            while initialized < size, let element = iterator.next() {
                (buffer.baseAddress! + initialized).initialize(to: element)
                initialized += 1
            }
        }
    }

    /// `transform` over one chunk, each result written straight into the output's storage. If `transform` throws,
    /// the results made so far are released (`initialized` counts them) and the error propagates.
    ///
    /// Never inlined (still specialised): a map without a monitor and a watched map whose jobs do not report run
    /// this one loop, compiled alone. Inlined into the watched path beside the counting loop, it was compiled with
    /// two more register moves per item (measured: +4% instructions on a trivial map).
    @inlinable
    @inline(never)
    package static func apply<E, T>(_ transform: (E) throws -> T, to chunk: [E]) rethrows -> [T] {
        try Array(unsafeUninitializedCapacity: chunk.count) { buffer, initialized in
            for item in chunk {
                (buffer.baseAddress! + initialized).initialize(to: try transform(item))
                initialized += 1
            }
        }
    }

    /// `transform` over one chunk, timed (the run time feeds ``ChunkPolicy``).
    @inlinable
    package static func applyTimed<E, T>(_ transform: (E) throws -> T, to chunk: [E]) rethrows -> BatchResults<T> {
        let start = ContinuousClock.now
        let values = try apply(transform, to: chunk)
        return BatchResults(values: values, runDuration: start.duration(to: .now))
    }

    /// `transform` over one chunk with a worker's state, timed.
    @inlinable
    package static func applyTimed<State, E, T>(
        _ transform: (inout State, E) throws -> T,
        to chunk: [E],
        state: inout State
    ) rethrows -> BatchResults<T> {
        let start = ContinuousClock.now
        let values = try apply(transform, to: chunk, state: &state)
        return BatchResults(values: values, runDuration: start.duration(to: .now))
    }

    /// `transform` over one chunk, one outcome per item: an item that throws fails alone (its error travels as the
    /// cause of a ``OffloadError/Code/jobFailed``).
    @inlinable
    package static func applyEach<E, T>(_ transform: (E) throws -> T, to chunk: [E]) -> BatchResults<T> {
        let start = ContinuousClock.now
        var outcomes: [Result<T, OffloadError>] = []
        outcomes.reserveCapacity(chunk.count)
        var failed = false
        for (offset, item) in chunk.enumerated() {
            do {
                outcomes.append(.success(try transform(item)))
            } catch {
                failed = true
                outcomes.append(.failure(.jobThrew(error, job: nil, index: offset)))
            }
        }
        let elapsed = start.duration(to: .now)
        if !failed { return BatchResults(values: outcomes.map { try! $0.get() }, runDuration: elapsed) }
        return BatchResults(outcomes: outcomes, runDuration: elapsed)
    }

    /// `transform` over one chunk with a worker's state. Never inlined, as the stateless one.
    @inlinable
    @inline(never)
    package static func apply<State, E, T>(
        _ transform: (inout State, E) throws -> T,
        to chunk: [E],
        state: inout State
    ) rethrows -> [T] {
        try Array(unsafeUninitializedCapacity: chunk.count) { buffer, initialized in
            for item in chunk {
                (buffer.baseAddress! + initialized).initialize(to: try transform(&state, item))
                initialized += 1
            }
        }
    }
}
