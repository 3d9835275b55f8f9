import OffloadCore
import Synchronization

/// The ``TaskCanceller`` behind every handle a ``PostgresQueue`` gives out: withdraws jobs that have not reached the
/// database yet (synchronously, like the in-process pools), and cancels the others in the database (asynchronously:
/// the handle then ends with `CancellationError` once the cancellation is recorded, or with the result if the job
/// finished first).
final class JobCanceller: TaskCanceller {
    private struct State {
        var ids: [Int64]?
        var cancelRequested = false
        var request: InsertRequest?
        var onWithdrawn: (@Sendable () -> Void)?
    }

    private let queue: PostgresQueue
    private let state = Mutex(State())

    init(queue: PostgresQueue) {
        self.queue = queue
    }

    /// The insert request to withdraw while it is still queued, and what to do then.
    func attach(_ request: InsertRequest, onWithdrawn: @escaping @Sendable () -> Void) {
        state.withLock(self) { state in
            state.request = request
            state.onWithdrawn = onWithdrawn
        }
    }

    func setIDs(_ ids: [Int64]) {
        let cancel = state.withLock(self) { state -> Bool in
            state.ids = ids
            return state.cancelRequested
        }
        if cancel { queue.cancelInBackground(ids) }
    }

    func cancelPending(_ task: any PendingTask) -> Bool {
        let (request, onWithdrawn, ids) = state.withLock(self) { state in
            state.cancelRequested = true
            return (state.request, state.onWithdrawn, state.ids)
        }
        if let request, request.withdraw().withdrawn {
            queue.countFinished(.failure(CancellationError()), jobs: request.rows.count)
            onWithdrawn?()
            return true
        }
        if let ids { queue.cancelInBackground(ids) }
        return false
    }
}

/// Collects the outcomes of a group of jobs (one `submit`, or one chunk of a map) and reports once: all outputs in
/// order, or the first failure.
final class ResultGather<Output: Sendable>: Sendable {
    private struct State {
        var values: [Output?]
        var remaining: Int
        var reported = false
    }

    private let state: Mutex<State>
    private let done: @Sendable (Result<[Output], any Error>) -> Void

    init(count: Int, done: @escaping @Sendable (Result<[Output], any Error>) -> Void) {
        state = Mutex(State(values: Array(repeating: nil, count: count), remaining: count))
        self.done = done
    }

    func set(_ index: Int, _ result: Result<Output, any Error>) {
        let report = state.withLock(self) { state -> Result<[Output], any Error>? in
            guard !state.reported, state.values[index] == nil else { return nil }
            switch result {
            case .failure(let error):
                state.reported = true
                return .failure(error)
            case .success(let value):
                state.values[index] = value
                state.remaining -= 1
                guard state.remaining == 0 else { return nil }
                state.reported = true
                return .success(state.values.map { $0! })
            }
        }
        if let report { done(report) }
    }
}

/// Collects one outcome per job of a batch — failures included — and reports them all once every job is final.
final class OutcomeGather<Output: Sendable>: Sendable {
    private struct State {
        var outcomes: [Result<Output, OffloadError>?]
        var remaining: Int
    }

    private let state: Mutex<State>
    private let done: @Sendable (BatchResults<Output>) -> Void

    init(count: Int, done: @escaping @Sendable (BatchResults<Output>) -> Void) {
        state = Mutex(State(outcomes: Array(repeating: nil, count: count), remaining: count))
        self.done = done
    }

    func set(_ index: Int, _ result: Result<Output, any Error>) {
        let report = state.withLock(self) { state -> BatchResults<Output>? in
            guard state.outcomes[index] == nil else { return nil }
            state.outcomes[index] = result.mapError { error in
                (error as? OffloadError) ?? .jobThrew(error, job: nil, index: index)
            }
            state.remaining -= 1
            guard state.remaining == 0 else { return nil }
            let outcomes = state.outcomes.map { $0! }
            if outcomes.allSatisfy({ if case .success = $0 { true } else { false } }) {
                return BatchResults(values: outcomes.map { try! $0.get() })
            }
            return BatchResults(outcomes: outcomes)
        }
        if let report { done(report) }
    }
}
