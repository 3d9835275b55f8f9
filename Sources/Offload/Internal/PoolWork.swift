/// A task in an in-process pool's queue: user work bound to its ``TaskCompletion``.
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
enum PoolEntry<State>: SchedulerEntry, @unchecked Sendable {
    // @unchecked: `UnownedJob` and `UnownedTaskExecutor` are handed from the enqueuing thread to exactly one worker
    // thread, which runs the job once; `PoolWork` is itself Sendable.
    case task(any PoolWork<State>)
    case job(UnownedJob, UnownedTaskExecutor)

    var isTask: Bool {
        if case .task = self { return true }
        return false
    }

    func start() -> Bool {
        switch self {
        case .task(let work): return work.tryStart()
        case .job: return true
        }
    }
}

/// A closure submitted to a pool and the completion its result goes to.
final class PoolWorkItem<State, Value: Sendable>: PoolWork, Sendable {
    let completion: TaskCompletion<Value>
    private let body: @Sendable (inout State) throws -> Value

    init(completion: TaskCompletion<Value>, body: @escaping @Sendable (inout State) throws -> Value) {
        self.completion = completion
        self.body = body
    }

    func tryStart() -> Bool {
        completion.tryStart()
    }

    func run(_ state: inout State, beforeDelivery: (Bool) -> Void) {
        let result: Result<Value, any Error> = ThreadContext.withCurrentTask(completion) {
            do {
                return .success(try body(&state))
            } catch {
                return .failure(error)
            }
        }
        switch result {
        case .success: beforeDelivery(true)
        case .failure: beforeDelivery(false)
        }
        completion.finish(result)
    }

    @discardableResult
    func cancelIfPending(then: (Bool) -> Void) -> Bool {
        completion.cancelIfPending(then: then)
    }
}
