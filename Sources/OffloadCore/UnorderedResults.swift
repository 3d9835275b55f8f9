import DequeModule
import Synchronization

/// Results of a pool's `mapUnordered`, delivered as chunks complete rather than in input order.
///
/// Each element is `(index, value)`: the position of the item in the input and the transform's result. Input is read
/// lazily, a chunk at a time, and at most `maxInFlight` chunks are queued or waiting to be consumed, so an input far
/// larger than memory can stream through the pool. The first error ends the sequence: it is thrown from `next()` and
/// every chunk still in flight is cancelled. Abandoning the iteration (breaking out of the loop) or cancelling the
/// consuming task cancels the chunks not yet started.
///
/// Python mapping: `concurrent.futures.as_completed(futures)` and `multiprocessing.Pool.imap_unordered`.
public struct UnorderedResults<Base: Sequence, Output: Sendable>: AsyncSequence {
    public typealias Element = (index: Int, value: Output)

    private let base: Base
    private let chunkSize: Int
    private let window: Int
    private let submit: @Sendable ([Base.Element]) throws -> TaskHandle<[Output]>

    @usableFromInline
    package init(
        base: Base,
        chunkSize: Int,
        window: Int,
        submit: @escaping @Sendable ([Base.Element]) throws -> TaskHandle<[Output]>
    ) {
        self.base = base
        self.chunkSize = chunkSize
        self.window = window
        self.submit = submit
    }

    public func makeAsyncIterator() -> Iterator {
        Iterator(base: base.makeIterator(), chunkSize: chunkSize, window: window, submit: submit)
    }

    /// The iterator of ``UnorderedResults``.
    public struct Iterator: AsyncIteratorProtocol {
        private var base: Base.Iterator
        private let chunkSize: Int
        private let window: Int
        private let submit: @Sendable ([Base.Element]) throws -> TaskHandle<[Output]>
        private var nextIndex = 0
        private var inFlight = 0
        private var exhausted = false
        private var finished = false
        private var ready = Deque<Element>()
        private let inbox = CompletionInbox<Output>()

        init(
            base: Base.Iterator,
            chunkSize: Int,
            window: Int,
            submit: @escaping @Sendable ([Base.Element]) throws -> TaskHandle<[Output]>
        ) {
            self.base = base
            self.chunkSize = chunkSize
            self.window = window
            self.submit = submit
        }

        public mutating func next() async throws -> Element? {
            if let value = ready.popFirst() { return value }
            if finished { return nil }
            do {
                try topUp()
                guard inFlight > 0 else {
                    finished = true
                    return nil
                }
                let inbox = self.inbox
                let (start, result) = try await withTaskCancellationHandler {
                    try await inbox.take()
                } onCancel: {
                    inbox.cancelAll()
                }
                inFlight -= 1
                let values = try result.get()
                try Task.checkCancellation()
                for (offset, value) in values.enumerated() {
                    ready.append((start + offset, value))
                }
                return try await next()
            } catch {
                finished = true
                inbox.cancelAll()
                throw error
            }
        }

        private mutating func topUp() throws {
            while !exhausted && inFlight < window {
                let chunk = ChunkedMap.nextChunk(from: &base, size: chunkSize)
                if chunk.isEmpty {
                    exhausted = true
                    return
                }
                let start = nextIndex
                nextIndex += chunk.count
                let handle = try submit(chunk)
                inFlight += 1
                inbox.track(handle, start: start)
            }
        }
    }
}

/// Where completed chunks of an unordered map arrive, in completion order. Cancels what is still in flight when the
/// iterator that owns it goes away.
final class CompletionInbox<Output: Sendable>: Sendable {
    private struct State {
        var arrivals = Deque<(Int, Result<[Output], any Error>)>()
        var waiter: UnsafeContinuation<(Int, Result<[Output], any Error>), any Error>?
        var inFlight: [Int: TaskHandle<[Output]>] = [:]
    }

    private let state = Mutex(State())

    func track(_ handle: TaskHandle<[Output]>, start: Int) {
        state.withLock(self) { $0.inFlight[start] = handle }
        handle.completion.onCompletion { [weak self] result in
            self?.deliver(start: start, result: result)
        }
    }

    private func deliver(start: Int, result: Result<[Output], any Error>) {
        let waiter = state.withLock(self) { state -> UnsafeContinuation<(Int, Result<[Output], any Error>), any Error>? in
            state.inFlight[start] = nil
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.arrivals.append((start, result))
            return nil
        }
        waiter?.resume(returning: (start, result))
    }

    /// The next completed chunk; suspends until one arrives.
    func take() async throws -> (Int, Result<[Output], any Error>) {
        try await withUnsafeThrowingContinuation { continuation in
            // Invariant for the unsafe continuation: resumed here with an arrival, or stored as the single waiter and
            // resumed exactly once by `deliver`, which clears it under the lock. `take` is only called by the one
            // iterator that owns this inbox, and never concurrently.
            let arrival = state.withLock(self) { state -> (Int, Result<[Output], any Error>)? in
                if let first = state.arrivals.popFirst() { return first }
                state.waiter = continuation
                return nil
            }
            if let arrival { continuation.resume(returning: arrival) }
        }
    }

    func cancelAll() {
        let handles = state.withLock(self) { Array($0.inFlight.values) }
        for handle in handles { handle.cancel() }
    }

    deinit {
        // The iterator was dropped: nobody will read the remaining results, so withdraw the chunks not yet started.
        let handles = state.withLock(self) { Array($0.inFlight.values) }
        for handle in handles { handle.cancel() }
    }
}
