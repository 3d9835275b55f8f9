import DequeModule
import Synchronization

/// Results of an executor's `mapUnordered`, delivered as chunks complete rather than in input order.
///
/// Each element is `(index, value)`: the position of the item in the input and its result. Input is read lazily, a
/// chunk at a time, and at most `maxInFlight` chunks are queued or waiting to be consumed, so an input far larger
/// than memory streams through the pool in constant memory. Results of a finished chunk are handed out without a
/// suspension per item. The first failure ends the sequence: it is thrown from `next()` (attributed to its input)
/// and every chunk still in flight is cancelled. Abandoning the iteration (breaking out of the loop) or cancelling
/// the consuming task cancels the chunks not yet started.
///
/// Python mapping: `concurrent.futures.as_completed(futures)` and `multiprocessing.Pool.imap_unordered`.
public struct UnorderedResults<Base: Sequence, Output: Sendable>: AsyncSequence where Base.Element: Sendable {
    public typealias Element = (index: Int, value: Output)

    @usableFromInline let stream: ChunkStream<Base, Output>.Setup

    @usableFromInline
    package init(
        base: Base,
        policy: ChunkPolicy,
        window: Int,
        progress: ProgressMonitor? = nil,
        submit: @escaping @Sendable (_ chunk: [Base.Element], _ start: Int) throws(OffloadError) -> TaskHandle<BatchResults<Output>>
    ) {
        stream = .init(base: base, policy: policy, window: window, progress: progress, submit: submit)
    }

    public func makeAsyncIterator() -> Iterator {
        Iterator(stream: ChunkStream(stream))
    }

    /// The iterator of ``UnorderedResults``.
    public struct Iterator: AsyncIteratorProtocol {
        @usableFromInline var stream: ChunkStream<Base, Output>
        @usableFromInline var current: [Output] = []
        @usableFromInline var position = 0
        @usableFromInline var start = 0

        @usableFromInline
        init(stream: ChunkStream<Base, Output>) {
            self.stream = stream
        }

        /// `next()` on the caller's actor: `for try await` calls this, so the input sequence is read, and results are
        /// handed out, where the loop runs (a main-actor closure in a lazy input stays on the main actor).
        ///
        /// It runs on the caller's executor by being `nonisolated(nonsending)` rather than through the `isolated`
        /// parameter of `AsyncIteratorProtocol`'s requirement, which would hop to `actor` on every call: about 25 ns
        /// per result on the main actor, more than the rest of the per-item path.
        @inlinable
        nonisolated(nonsending) public mutating func next(isolation actor: (any Actor)?) async throws -> Element? {
            try await next()
        }

        @inlinable
        nonisolated(nonsending) public mutating func next() async throws -> Element? {
            if position < current.count {
                defer { position += 1 }
                return (start + position, current[position])
            }
            return try await nextChunk()
        }

        @inlinable
        nonisolated(nonsending) mutating func nextChunk() async throws -> Element? {
            while let (start, chunk, batch) = try await stream.nextBatch() {
                if let failure = batch.firstFailure {
                    stream.finish()
                    throw failure.error.attributed(
                        toIndex: start + failure.offset,
                        job: OrderedChunks.describe(chunk[failure.offset])
                    )
                }
                current = batch.values ?? []
                self.start = start
                position = 0
                if !current.isEmpty {
                    position = 1
                    return (start, current[0])
                }
            }
            return nil
        }
    }
}

/// Results of an executor's `mapUnorderedResults`: `(index, result)` pairs as chunks complete, one per input. A
/// failing item is a `.failure` naming its input; the stream goes on. Lazy and bounded like ``UnorderedResults``.
public struct UnorderedOutcomes<Base: Sequence, Output: Sendable>: AsyncSequence where Base.Element: Sendable {
    public typealias Element = (index: Int, result: Result<Output, OffloadError>)

    @usableFromInline let stream: ChunkStream<Base, Output>.Setup

    @usableFromInline
    package init(
        base: Base,
        policy: ChunkPolicy,
        window: Int,
        progress: ProgressMonitor? = nil,
        submit: @escaping @Sendable (_ chunk: [Base.Element], _ start: Int) throws(OffloadError) -> TaskHandle<BatchResults<Output>>
    ) {
        stream = .init(base: base, policy: policy, window: window, progress: progress, submit: submit)
    }

    public func makeAsyncIterator() -> Iterator {
        Iterator(stream: ChunkStream(stream))
    }

    /// The iterator of ``UnorderedOutcomes``.
    public struct Iterator: AsyncIteratorProtocol {
        @usableFromInline var stream: ChunkStream<Base, Output>
        @usableFromInline var current: BatchResults<Output> = BatchResults(values: [])
        @usableFromInline var chunk: [Base.Element] = []
        @usableFromInline var position = 0
        @usableFromInline var start = 0

        @usableFromInline
        init(stream: ChunkStream<Base, Output>) {
            self.stream = stream
        }

        /// `next()` on the caller's actor: `for try await` calls this, so the input sequence is read, and results are
        /// handed out, where the loop runs (a main-actor closure in a lazy input stays on the main actor).
        ///
        /// It runs on the caller's executor by being `nonisolated(nonsending)` rather than through the `isolated`
        /// parameter of `AsyncIteratorProtocol`'s requirement, which would hop to `actor` on every call: about 25 ns
        /// per result on the main actor, more than the rest of the per-item path.
        @inlinable
        nonisolated(nonsending) public mutating func next(isolation actor: (any Actor)?) async throws -> Element? {
            try await next()
        }

        @inlinable
        nonisolated(nonsending) public mutating func next() async throws -> Element? {
            if position < current.count {
                defer { position += 1 }
                return (start + position, outcome(at: position))
            }
            while let (start, chunk, batch) = try await stream.nextBatch() {
                current = batch
                self.chunk = chunk
                self.start = start
                position = 0
                if !current.isEmpty {
                    position = 1
                    return (start, outcome(at: 0))
                }
            }
            return nil
        }

        @usableFromInline
        func outcome(at offset: Int) -> Result<Output, OffloadError> {
            current[offset].mapError { $0.attributed(toIndex: start + offset, job: OrderedChunks.describe(chunk[offset])) }
        }
    }
}

/// The machinery both unordered streams share: reads the input a chunk at a time, keeps at most `window` chunks in
/// flight, and hands out finished chunks in completion order.
@usableFromInline
package struct ChunkStream<Base: Sequence, Output: Sendable> where Base.Element: Sendable {
    @usableFromInline
    package struct Setup {
        let base: Base
        let policy: ChunkPolicy
        let window: Int
        let progress: ProgressMonitor?
        let submit: @Sendable ([Base.Element], Int) throws(OffloadError) -> TaskHandle<BatchResults<Output>>
    }

    @usableFromInline var base: Base.Iterator
    @usableFromInline var policy: ChunkPolicy
    @usableFromInline let window: Int
    @usableFromInline let submit: @Sendable ([Base.Element], Int) throws(OffloadError) -> TaskHandle<BatchResults<Output>>
    @usableFromInline let progress: ProgressMonitor?
    @usableFromInline var nextIndex = 0
    @usableFromInline var inFlight = 0
    @usableFromInline var exhausted = false
    @usableFromInline var finished = false
    @usableFromInline let inbox: CompletionInbox<Base.Element, Output>

    @usableFromInline
    init(_ setup: Setup) {
        base = setup.base.makeIterator()
        policy = setup.policy
        window = setup.window
        submit = setup.submit
        progress = setup.progress
        inbox = CompletionInbox(progress: setup.progress)
        progress?.begin(total: ChunkedMap.knownCount(setup.base))
    }

    /// The next finished chunk (its first input's index, its inputs, its outcomes), or `nil` when every chunk was
    /// handed out. An error a chunk's task threw (including `CancellationError`) ends the stream.
    @inlinable
    nonisolated(nonsending) mutating func nextBatch() async throws -> (Int, [Base.Element], BatchResults<Output>)? {
        if finished { return nil }
        do {
            try topUp()
            guard inFlight > 0 else {
                finished = true
                progress?.finish()
                return nil
            }
            let inbox = self.inbox
            let arrival = try await withTaskCancellationHandler {
                try await inbox.take()
            } onCancel: {
                inbox.cancelAll()
            }
            inFlight -= 1
            progress?.chunkEnded(start: arrival.start, items: arrival.chunk.count, result: arrival.result)
            let batch = try arrival.result.get()
            try Task.checkCancellation()
            policy.record(items: arrival.chunk.count, runDuration: batch.runDuration)
            try topUp()
            return (arrival.start, arrival.chunk, batch)
        } catch {
            finish()
            throw error
        }
    }

    /// Ends the stream and cancels every chunk still in flight.
    @inlinable
    mutating func finish() {
        finished = true
        inbox.cancelAll()
        progress?.finish()
    }

    @inlinable
    mutating func topUp() throws(OffloadError) {
        while !exhausted && inFlight < window {
            let chunk = ChunkedMap.nextChunk(from: &base, size: policy.current)
            if chunk.isEmpty {
                exhausted = true
                progress?.inputEnded(total: nextIndex)
                return
            }
            let start = nextIndex
            nextIndex += chunk.count
            let handle = try submit(chunk, start)
            if let progress { ChunkedMap.watch(handle, start: start, items: chunk.count, progress) }
            inFlight += 1
            inbox.track(handle, start: start, chunk: chunk)
        }
    }
}

/// Where completed chunks of an unordered map arrive, in completion order. Cancels what is still in flight when the
/// iterator that owns it goes away.
@usableFromInline
final class CompletionInbox<Input: Sendable, Output: Sendable>: Sendable {
    @usableFromInline
    struct Arrival {
        @usableFromInline let start: Int
        @usableFromInline let chunk: [Input]
        @usableFromInline let result: Result<BatchResults<Output>, any Error>
    }

    private struct State {
        var arrivals = Deque<Arrival>()
        var waiter: UnsafeContinuation<Arrival, any Error>?
        var inFlight: [Int: (handle: TaskHandle<BatchResults<Output>>, chunk: [Input])] = [:]
    }

    private let state = Mutex(State())
    /// The map's monitor: finished when the iterator that owns this inbox goes away.
    private let progress: ProgressMonitor?

    @usableFromInline
    init(progress: ProgressMonitor?) {
        self.progress = progress
    }

    @usableFromInline
    func track(_ handle: TaskHandle<BatchResults<Output>>, start: Int, chunk: [Input]) {
        state.withLock(self) { $0.inFlight[start] = (handle, chunk) }
        handle.completion.onCompletion { [weak self] result in
            self?.deliver(start: start, result: result)
        }
    }

    private func deliver(start: Int, result: Result<BatchResults<Output>, any Error>) {
        let (waiter, arrival) = state.withLock(self) { state -> (UnsafeContinuation<Arrival, any Error>?, Arrival?) in
            guard let entry = state.inFlight.removeValue(forKey: start) else { return (nil, nil) }
            let arrival = Arrival(start: start, chunk: entry.chunk, result: result)
            if let waiter = state.waiter {
                state.waiter = nil
                return (waiter, arrival)
            }
            state.arrivals.append(arrival)
            return (nil, nil)
        }
        if let waiter, let arrival { waiter.resume(returning: arrival) }
    }

    /// The next completed chunk; suspends until one arrives.
    @usableFromInline
    nonisolated(nonsending) func take() async throws -> Arrival {
        try await withUnsafeThrowingContinuation { continuation in
            // Invariant for the unsafe continuation: resumed here with an arrival, or stored as the single waiter and
            // resumed exactly once by `deliver`, which clears it under the lock. `take` is only called by the one
            // iterator that owns this inbox, and never concurrently.
            let arrival = state.withLock(self) { state -> Arrival? in
                if let first = state.arrivals.popFirst() { return first }
                state.waiter = continuation
                return nil
            }
            if let arrival { continuation.resume(returning: arrival) }
        }
    }

    @usableFromInline
    func cancelAll() {
        let handles = state.withLock(self) { $0.inFlight.values.map(\.handle) }
        for handle in handles { handle.cancel() }
    }

    deinit {
        // The iterator was dropped: nobody will read the remaining results, so withdraw the chunks not yet started.
        let handles = state.withLock(self) { $0.inFlight.values.map(\.handle) }
        for handle in handles { handle.cancel() }
        progress?.finish()
    }
}
