import Dispatch
import Synchronization

/// The type-erased state behind every ``TaskHandle``: where a pool puts a task's outcome and where awaiting code finds
/// it.
///
/// Life cycle: `pending` (queued) → `running` (a worker took it) → `finished(result)`; or `pending` → `cancelled`.
/// Every transition happens under `state`'s lock, waiters are resumed after it is released, and each waiter is resumed
/// exactly once.
///
/// The cell is deliberately not generic: generic code in a library runs unspecialized for the client's types, and each
/// use of a generic nested type (`State<Value>`, `Result<Value, …>`, `Mutex<State<Value>>`) then costs a lookup in the
/// runtime's metadata cache. Profiling `submit` of trivial tasks showed those lookups at over a third of the time;
/// storing the value as `any Sendable` removes them. ``TaskCompletion`` restores the static type.
///
/// In-process pools subclass it (their work items *are* completion cells), which saves an allocation per task.
/// `@unchecked Sendable` because the class is open to those subclasses: its only stored property is a `Mutex`, and
/// every subclass is final with `let` properties of `Sendable` type.
///
/// `open` only so that the engines in the `Offload` module can subclass it; its initializer is `package`, so no code
/// outside this package can create or subclass one. Not API: reach results through ``TaskHandle``.
open class CompletionCell: @unchecked Sendable {
    @usableFromInline package typealias Value = any Sendable

    @usableFromInline package enum Phase: Sendable {
        case pending
        case running
        case finished(Result<Value, any Error>)
        case cancelled
    }

    private enum Waiter {
        case async(UnsafeContinuation<Value, any Error>)
        case blocking(DispatchSemaphore)
    }

    private struct State {
        var phase: Phase = .pending
        var cancelRequested = false
        var waiters: [Waiter] = []
        var callbacks: [@Sendable (Result<Value, any Error>) -> Void] = []
    }

    private let state = Mutex(State())

    @usableFromInline
    package init() {}

    /// pending → running. Returns `false` (and changes nothing) if the task was cancelled before it started.
    @usableFromInline
    package final func tryStart() -> Bool {
        state.withLock(self) { state in
            guard case .pending = state.phase else { return false }
            state.phase = .running
            return true
        }
    }

    /// Stores the outcome and wakes every waiter. A second call is ignored.
    @usableFromInline
    package final func finish(_ result: Result<Value, any Error>) {
        let (waiters, callbacks) = state.withLock(self) { state -> ([Waiter], [@Sendable (Result<Value, any Error>) -> Void]) in
            switch state.phase {
            case .finished, .cancelled:
                return ([], [])
            case .pending, .running:
                state.phase = .finished(result)
                defer {
                    state.waiters = []
                    state.callbacks = []
                }
                return (state.waiters, state.callbacks)
            }
        }
        resume(waiters, callbacks, with: result)
    }

    /// pending → cancelled, failing every waiter with `CancellationError`. Returns `false` when the task had already
    /// started or ended; then only the cooperative ``isCancellationRequested`` flag is set.
    @usableFromInline
    package final func cancelIfPending() -> Bool {
        cancelIfPending(then: { _ in })
    }

    /// pending → cancelled, like ``cancelIfPending()``, calling `then(withdrawn)` after the transition and before
    /// waiters are resumed, so a pool can count the cancellation before anyone observes it.
    @usableFromInline
    @discardableResult
    package final func cancelIfPending(then: (_ withdrawn: Bool) -> Void) -> Bool {
        let outcome = state.withLock(self) { state -> (Bool, [Waiter], [@Sendable (Result<Value, any Error>) -> Void]) in
            state.cancelRequested = true
            guard case .pending = state.phase else { return (false, [], []) }
            state.phase = .cancelled
            defer {
                state.waiters = []
                state.callbacks = []
            }
            return (true, state.waiters, state.callbacks)
        }
        then(outcome.0)
        resume(outcome.1, outcome.2, with: .failure(CancellationError()))
        return outcome.0
    }

    /// Whether someone asked for this task to be cancelled (running work may check it cooperatively).
    @usableFromInline
    package final var isCancellationRequested: Bool {
        state.withLock(self) { $0.cancelRequested }
    }

    @usableFromInline
    package final var phase: Phase {
        state.withLock(self) { $0.phase }
    }

    /// Whether the task has ended (result, error or cancellation).
    @usableFromInline
    package final var isFinished: Bool {
        state.withLock(self) { state in
            switch state.phase {
            case .pending, .running: return false
            case .finished, .cancelled: return true
            }
        }
    }

    /// Calls `callback` once with the outcome: now, if the task has ended, or when it ends. Cancellation before the
    /// start is reported as `CancellationError`.
    @usableFromInline
    package final func onCompletion(_ callback: @escaping @Sendable (Result<Value, any Error>) -> Void) {
        let ready: Result<Value, any Error>? = state.withLock(self) { state in
            switch state.phase {
            case .finished(let result): return result
            case .cancelled: return .failure(CancellationError())
            case .pending, .running:
                state.callbacks.append(callback)
                return nil
            }
        }
        if let ready { callback(ready) }
    }

    /// Suspends until the outcome is known.
    @usableFromInline
    nonisolated(nonsending) package final func value() async throws -> Value {
        if let ready = readyResult() { return try ready.get() }
        return try await withUnsafeThrowingContinuation { continuation in
            let ready: Result<Value, any Error>? = state.withLock(self) { state in
                switch state.phase {
                case .finished(let result): return result
                case .cancelled: return .failure(CancellationError())
                case .pending, .running:
                    state.waiters.append(.async(continuation))
                    return nil
                }
            }
            // Invariant for the unsafe continuation: it is either resumed here (outcome already known) or stored
            // in `waiters`, which `finish`/`cancelIfPending` empty exactly once under the lock before resuming.
            if let ready { continuation.resume(with: ready) }
        }
    }

    /// Blocks the calling thread until the outcome is known or `timeout` passes.
    @usableFromInline
    package final func wait(timeout: Duration?) throws -> Value {
        if let ready = readyResult() { return try ready.get() }
        let semaphore = DispatchSemaphore(value: 0)
        let ready: Result<Value, any Error>? = state.withLock(self) { state in
            switch state.phase {
            case .finished(let result): return result
            case .cancelled: return .failure(CancellationError())
            case .pending, .running:
                state.waiters.append(.blocking(semaphore))
                return nil
            }
        }
        if let ready { return try ready.get() }
        if let timeout {
            let nanoseconds = max(0, timeout.nanosecondsClamped)
            if semaphore.wait(timeout: .now() + .nanoseconds(nanoseconds)) == .timedOut {
                let removed = state.withLock(self) { state -> Bool in
                    let before = state.waiters.count
                    state.waiters.removeAll { waiter in
                        if case .blocking(let other) = waiter { return other === semaphore }
                        return false
                    }
                    return state.waiters.count < before
                }
                // Not removed means the outcome arrived between the timeout and the lock: it signalled us.
                if removed { throw OffloadError.waitTimedOut(after: timeout) }
                semaphore.wait()
            }
        } else {
            semaphore.wait()
        }
        guard let result = readyResult() else {
            preconditionFailure("TaskCompletion woke a blocking waiter without an outcome")
        }
        return try result.get()
    }

    /// The outcome if the task has ended, without waiting.
    @usableFromInline
    package final func readyResult() -> Result<Value, any Error>? {
        state.withLock(self) { state in
            switch state.phase {
            case .finished(let result): return result
            case .cancelled: return .failure(CancellationError())
            case .pending, .running: return nil
            }
        }
    }

    private func resume(
        _ waiters: [Waiter],
        _ callbacks: [@Sendable (Result<Value, any Error>) -> Void],
        with result: Result<Value, any Error>
    ) {
        for waiter in waiters {
            switch waiter {
            case .async(let continuation): continuation.resume(with: result)
            case .blocking(let semaphore): semaphore.signal()
            }
        }
        for callback in callbacks { callback(result) }
    }
}

extension Duration {
    /// The duration in nanoseconds, clamped to `Int` (durations beyond ~292 years saturate).
    package var nanosecondsClamped: Int {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? Int.min : Int.max }
        let (total, overflow2) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        if overflow2 { return seconds < 0 ? Int.min : Int.max }
        return Int(total)
    }
}

/// A typed view of a ``CompletionCell``: what pools create per task and hand to ``TaskHandle``.
///
/// Pools call ``tryStart()`` when a worker takes the task, ``finish(_:)`` with its outcome, and ``cancelIfPending()``
/// to withdraw it; ``onCompletion(_:)`` registers a callback. Copies share the same cell.
@usableFromInline
package struct TaskCompletion<Value: Sendable>: Sendable {
    @usableFromInline package let cell: CompletionCell

    @inlinable
    package init() {
        cell = CompletionCell()
    }

    /// A typed view of an existing cell (a pool work item that is its own completion).
    @inlinable
    package init(cell: CompletionCell) {
        self.cell = cell
    }

    /// pending → running. Returns `false` (and changes nothing) if the task was cancelled before it started.
    @inlinable
    package func tryStart() -> Bool { cell.tryStart() }

    /// Stores the outcome and wakes every waiter. A second call is ignored.
    @inlinable
    package func finish(_ result: Result<Value, any Error>) {
        switch result {
        case .success(let value): cell.finish(.success(value))
        case .failure(let error): cell.finish(.failure(error))
        }
    }

    /// pending → cancelled; see ``CompletionCell/cancelIfPending(then:)``.
    @inlinable
    @discardableResult
    package func cancelIfPending(then: (_ withdrawn: Bool) -> Void = { _ in }) -> Bool {
        cell.cancelIfPending(then: then)
    }

    /// Whether someone asked for this task to be cancelled.
    @inlinable
    package var isCancellationRequested: Bool { cell.isCancellationRequested }

    /// Whether the task has ended (result, error or cancellation).
    @inlinable
    package var isFinished: Bool { cell.isFinished }

    /// Calls `callback` once with the outcome, now or when it is known.
    @inlinable
    package func onCompletion(_ callback: @escaping @Sendable (Result<Value, any Error>) -> Void) {
        cell.onCompletion { result in callback(Self.typed(result)) }
    }

    /// Suspends until the outcome is known.
    @inlinable
    nonisolated(nonsending) package func value() async throws -> Value {
        try Self.cast(await cell.value())
    }

    /// Blocks until the outcome is known or `timeout` passes.
    @inlinable
    package func wait(timeout: Duration?) throws -> Value {
        try Self.cast(cell.wait(timeout: timeout))
    }

    /// The outcome if the task has ended, without waiting.
    @inlinable
    package func readyResult() -> Result<Value, any Error>? {
        cell.readyResult().map(Self.typed)
    }

    @inlinable
    static func cast(_ value: any Sendable) -> Value {
        // The cell only ever receives values from `finish(_:)` above, which stores a `Value`.
        value as! Value
    }

    @inlinable
    static func typed(_ result: Result<any Sendable, any Error>) -> Result<Value, any Error> {
        switch result {
        case .success(let value): return .success(cast(value))
        case .failure(let error): return .failure(error)
        }
    }
}
