import DequeModule
import Synchronization

/// Results of an executor's `mapUnordered`, delivered as chunks complete rather than in input order.
///
/// Each element is `(index, value)`: the position of the item in the input and its result. Input is read lazily, a
/// chunk at a time, and at most `maxInFlight` chunks are queued or waiting to be consumed, so an input far larger
/// than memory streams through the pool in constant memory. Results of a finished chunk are handed out without a
/// suspension per item; once chunks measure under 50 µs each (tiny jobs with a small `chunkSize`), the stream waits
/// for half of the chunks in flight at a time, so results come in groups rather than with a thread wake-up each.
/// The first failure ends the sequence: it is thrown from `next()` (attributed to its input)
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
    /// Finished chunks taken from the inbox as a group and not handed out yet.
    @usableFromInline var ready = Deque<CompletionInbox<Base.Element, Output>.Arrival>()

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
            if ready.isEmpty {
                let inbox = self.inbox
                let wanted = ChunkStream.groupSize(inFlight: inFlight, cheap: policy.chunksAreCheap)
                ready = try await withTaskCancellationHandler {
                    try await inbox.take(atLeast: wanted)
                } onCancel: {
                    inbox.cancelAll()
                }
            }
            let arrival = ready.removeFirst()
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

    /// How many finished chunks to wait for before the consumer resumes: one, unless the chunks are cheap
    /// (``ChunkPolicy/chunksAreCheap``); then half of those in flight, so a stream of one-job chunks resumes its
    /// consumer once per group instead of once per chunk (each resumption is a thread wake-up when the consumer
    /// keeps up). Results then come in bursts: half a window of chunks that each ran for under 50 µs.
    @inlinable
    static func groupSize(inFlight: Int, cheap: Bool) -> Int {
        cheap ? max(1, inFlight / 2) : 1
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
        var waiter: UnsafeContinuation<Deque<Arrival>, any Error>?
        /// How many arrivals the waiter waits for (fewer once no more can come).
        var wanted = 1
        var inFlight: [Int: (handle: TaskHandle<BatchResults<Output>>, chunk: [Input])] = [:]
        /// How many times a suspended waiter was resumed (for tests).
        var resumptions = 0

        /// Whether `wanted` arrived, or every chunk still out did, or one that arrived failed as a whole (the stream
        /// ends with it: no reason to wait for the rest).
        var groupReady: Bool {
            guard let last = arrivals.last else { return false }
            if case .failure = last.result { return true }
            return arrivals.count >= min(wanted, arrivals.count + inFlight.count)
        }

        mutating func takeArrivals() -> Deque<Arrival> {
            defer { arrivals = [] }
            return arrivals
        }
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
        let resume = state.withLock(self) { state -> (UnsafeContinuation<Deque<Arrival>, any Error>, Deque<Arrival>)? in
            guard let entry = state.inFlight.removeValue(forKey: start) else { return nil }
            state.arrivals.append(Arrival(start: start, chunk: entry.chunk, result: result))
            guard let waiter = state.waiter, state.groupReady else { return nil }
            state.waiter = nil
            state.resumptions += 1
            return (waiter, state.takeArrivals())
        }
        if let (waiter, arrivals) = resume { waiter.resume(returning: arrivals) }
    }

    /// The completed chunks, in completion order, once at least `wanted` of them arrived — or fewer, when no more are
    /// in flight or one failed as a whole; suspends until then. The caller has at least one chunk not handed out.
    @usableFromInline
    nonisolated(nonsending) func take(atLeast wanted: Int) async throws -> Deque<Arrival> {
        try await withUnsafeThrowingContinuation { continuation in
            // Invariant for the unsafe continuation: resumed here with the arrivals, or stored as the single waiter
            // and resumed exactly once by `deliver`, which clears it under the lock. `take` is only called by the
            // one iterator that owns this inbox, and never concurrently.
            let arrivals = state.withLock(self) { state -> Deque<Arrival>? in
                state.wanted = max(1, wanted)
                if state.groupReady { return state.takeArrivals() }
                state.waiter = continuation
                return nil
            }
            if let arrivals { continuation.resume(returning: arrivals) }
        }
    }

    /// How many times a suspended `take` was resumed (a thread wake-up each when the consumer was waiting).
    var resumptions: Int { state.withLock(self) { $0.resumptions } }

    /// Whether a `take` is suspended (for tests).
    var hasWaiter: Bool { state.withLock(self) { $0.waiter != nil } }

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
