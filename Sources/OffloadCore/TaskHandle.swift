/// A pool that can withdraw a queued task: called by ``TaskHandle/cancel()`` so that the pool's statistics move the
/// task from *pending* to *cancelled* atomically with the withdrawal.
@usableFromInline
package protocol TaskCanceller: AnyObject, Sendable {
    /// Cancels `task` if no worker has started it. Returns whether it was withdrawn.
    func cancelPending(_ task: any PendingTask) -> Bool

    /// Cancels `task`: withdraws it if it has not started, and otherwise applies `mode` (`nil`: the pool's default)
    /// to the running work. Returns whether the task ended as cancelled.
    func cancel(_ task: any PendingTask, mode: CancellationMode?) -> Bool

    /// A caller is about to suspend until `cell` ends: a pool may help it along first (a process pool on shared
    /// memory reads the workers' replies on the caller's thread for a few microseconds). Returns when the cell has
    /// ended or the pool has nothing to do; the caller then checks the cell and suspends as usual.
    func awaiting(_ cell: CompletionCell)
}

extension TaskCanceller {
    /// In-process pools cannot stop a running thread: a started task only has its cooperative flag set
    /// (``OffloadTask/isCancelled``), whatever the mode.
    @usableFromInline
    package func cancel(_ task: any PendingTask, mode: CancellationMode?) -> Bool {
        cancelPending(task)
    }

    @usableFromInline
    package func awaiting(_ cell: CompletionCell) {}
}

/// A queued task as a pool's canceller sees it.
@usableFromInline
package protocol PendingTask: AnyObject, Sendable {
    /// pending → cancelled, calling `then(withdrawn)` after the transition and before waiters are resumed;
    /// returns `withdrawn`: `false` if the task already started or ended.
    @discardableResult
    func cancelIfPending(then: (_ withdrawn: Bool) -> Void) -> Bool
}

extension CompletionCell: PendingTask {}

/// The caller's end of a submitted task: await its result, wait for it from synchronous code, or cancel it.
///
/// Returned by every pool's `submit`. Awaiting ``value`` from a Swift task that is then cancelled cancels the work if
/// no worker has started it yet; work that is already running is told (see ``OffloadTask/isCancelled``) and may stop
/// early, or finish and deliver its result.
///
/// Python mapping: `concurrent.futures.Future` — ``value`` is `await asyncio.wrap_future(f)`, ``wait(timeout:)`` is
/// `f.result(timeout)`, ``cancel()`` is `f.cancel()`.
public struct TaskHandle<Value: Sendable>: Sendable {
    @usableFromInline package let completion: TaskCompletion<Value>
    @usableFromInline let canceller: (any TaskCanceller)?

    @inlinable
    package init(completion: TaskCompletion<Value>, canceller: (any TaskCanceller)?) {
        self.completion = completion
        self.canceller = canceller
    }

    /// The task's result. Rethrows the error the work threw, unchanged; throws `CancellationError` if the task was
    /// cancelled before it started.
    ///
    /// Cancelling the awaiting Swift task cancels the work if it has not started.
    @inlinable
    nonisolated(nonsending) public var value: Value {
        get async throws {
            if let ready = completion.readyResult() { return try ready.get() }
            if let canceller {
                canceller.awaiting(completion.cell)
                if let ready = completion.readyResult() { return try ready.get() }
            }
            // `isolation: #isolation` keeps the wait on the caller's executor: without it, awaiting from an actor hops
            // to the global executor and back (measured: ~8 µs per await from the main actor).
            return try await withTaskCancellationHandler(
                operation: { try await completion.value() },
                onCancel: { _ = cancel() },
                isolation: #isolation
            )
        }
    }

    /// Blocks the calling thread until the result is available.
    ///
    /// - Parameter timeout: how long to wait; `nil` waits as long as it takes.
    /// - Returns: the task's result.
    /// - Throws: the work's own error, `CancellationError` if the task was cancelled, or
    ///   ``OffloadError/Code/timedOut`` if `timeout` passed first (the work itself goes on).
    @available(*, noasync, message: "use 'await handle.value' in async code")
    @inlinable
    public func wait(timeout: Duration? = nil) throws -> Value {
        if let canceller, !completion.isFinished { canceller.awaiting(completion.cell) }
        return try completion.wait(timeout: timeout)
    }

    /// Cancels the task: withdraws it if no worker has started it, and treats running work as `mode` says (see
    /// ``CancellationMode``; `nil` is the pool's default). A process pool ends the handle of running work at once
    /// with `CancellationError` in either mode (`.stopRunning` also kills the worker running it); an in-process pool
    /// cannot stop a thread, so its running work keeps its handle and only sees ``OffloadTask/isCancelled``.
    /// - Parameter mode: what to do with work that has started; `nil` uses the pool's default.
    /// - Returns: `true` if the task ended as cancelled (withdrawn, or, in a process pool, running work cancelled).
    @discardableResult
    public func cancel(mode: CancellationMode? = nil) -> Bool {
        if let canceller { return canceller.cancel(completion.cell, mode: mode) }
        return completion.cancelIfPending(then: { _ in })
    }

    /// Whether the task has ended: with a result, an error, or by cancellation.
    public var isFinished: Bool { completion.isFinished }
}
