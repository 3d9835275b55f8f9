/// A task in an in-process pool's queue: user work bound to its ``TaskCompletion``.
@usableFromInline
protocol PoolWork<State>: AnyObject, Sendable {
    associatedtype State

    /// pending → running; `false` when cancelled while queued.
    func tryStart() -> Bool

    /// Runs the work with the worker's state, reports success or failure through `beforeDelivery` (which the worker
    /// uses to update the pool's counters), and only then delivers the outcome to waiters — so that anyone who sees
    /// the result also sees it counted.
    func run(_ state: inout State, beforeDelivery: (_ succeeded: Bool) -> Void)

    /// pending → cancelled; `then(withdrawn)` runs before waiters are resumed.
    @discardableResult
    func cancelIfPending(then: (_ withdrawn: Bool) -> Void) -> Bool
}

/// The queue entry of an in-process pool: a submitted task, or a Swift job enqueued through `TaskExecutor`.
///
/// A task's `queuedAt` is when it was queued (`CLOCK_MONOTONIC` nanoseconds), or 0 when nobody observed the pool at
/// the time (``PoolObservation``): the worker that starts it reports the difference as the task's queue wait. Swift
/// jobs carry none: they are parts of async tasks whose own runner measures their waits (``AsyncTaskRunner``).
enum PoolEntry<State>: SchedulerEntry, @unchecked Sendable {
    // @unchecked: `UnownedJob` and `UnownedTaskExecutor` are handed from the enqueuing thread to exactly one worker
    // thread, which runs the job once; `PoolWork` is itself Sendable.
    case task(any PoolWork<State>, queuedAt: UInt64)
    case job(UnownedJob, UnownedTaskExecutor)

    var isTask: Bool {
        if case .task = self { return true }
        return false
    }

    func start() -> Bool {
        switch self {
        case .task(let work, _): return work.tryStart()
        case .job: return true
        }
    }
}

/// A closure submitted to a pool and the completion its result goes to.
///
/// Created in the pools' `@inlinable` submit paths, so that the client specializes the allocation for its own types;
/// the methods run in the library.
@usableFromInline
final class PoolWorkItem<State, Value: Sendable>: CompletionCell, PoolWork, @unchecked Sendable {
    // @unchecked Sendable: inherits CompletionCell's; the only stored property added is a `@Sendable` closure.
    @usableFromInline let body: @Sendable (inout State) throws -> Value

    @inlinable
    init(body: @escaping @Sendable (inout State) throws -> Value) {
        self.body = body
        super.init()
    }

    /// The typed completion this item resolves.
    @inlinable
    var completion: TaskCompletion<Value> { TaskCompletion(cell: self) }

    @usableFromInline
    func run(_ state: inout State, beforeDelivery: (Bool) -> Void) {
        execute(beforeDelivery: beforeDelivery) { try body(&state) }
    }
}

/// A `() throws -> Value` closure submitted to a ``ThreadPool``: like ``PoolWorkItem`` without the state parameter,
/// which saves wrapping the user's closure in another one (an allocation per task).
@usableFromInline
final class ThunkWorkItem<Value: Sendable>: CompletionCell, PoolWork, @unchecked Sendable {
    // @unchecked Sendable: inherits CompletionCell's; the only stored property added is a `@Sendable` closure.
    @usableFromInline let body: @Sendable () throws -> Value

    @inlinable
    init(body: @escaping @Sendable () throws -> Value) {
        self.body = body
        super.init()
    }

    /// The typed completion this item resolves.
    @inlinable
    var completion: TaskCompletion<Value> { TaskCompletion(cell: self) }

    @usableFromInline
    func run(_ state: inout Void, beforeDelivery: (Bool) -> Void) {
        execute(beforeDelivery: beforeDelivery, body)
    }
}

extension CompletionCell {
    /// Runs `body` as this cell's task on the current pool thread (visible to ``OffloadTask/isCancelled``), reports
    /// success or failure through `beforeDelivery`, then stores the outcome and wakes the waiters.
    ///
    /// The value is boxed straight into the type-erased cell: no generic `Result<Value, …>` on this hot path (see
    /// `CompletionCell` for why).
    final func execute(beforeDelivery: (Bool) -> Void, _ body: () throws -> any Sendable) {
        let outcome: Result<any Sendable, any Error> = ThreadContext.withCurrentTask(self) {
            do {
                return .success(try body())
            } catch {
                return .failure(error)
            }
        }
        switch outcome {
        case .success: beforeDelivery(true)
        case .failure: beforeDelivery(false)
        }
        finish(outcome)
    }
}
