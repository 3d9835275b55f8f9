import DequeModule
import Synchronization

/// Runs async closures as Swift tasks with at most `limit` running at once, on a preferred executor (a
/// ``ThreadPool``) or on Swift's cooperative pool (`nil`), with the same handles, cancellation and counters as the
/// thread pools. The engine of `.io` mode (Python's `TaskGroup` + semaphore) and of async closures in `.threads` mode.
@usableFromInline
final class AsyncTaskRunner: TaskCanceller, Sendable {
    private struct State {
        var lifecycle = WorkerScheduler<PoolEntry<Void>>.Lifecycle.running
        var active = 0
        var queue = Deque<(cell: CompletionCell, start: @Sendable () -> Void)>()
        var submitted = 0
        var completed = 0
        var failed = 0
        var cancelled = 0
        var pending = 0
        var running = 0
        var busyNanoseconds = 0
        var drainWaiters: [UnsafeContinuation<Void, Never>] = []
    }

    @usableFromInline let limit: Int
    let name: String
    private let executor: (any TaskExecutor)?
    private let state = Mutex(State())

    @usableFromInline
    init(limit: Int, name: String, executor: (any TaskExecutor)?) {
        self.limit = limit
        self.name = name
        self.executor = executor
    }

    /// Queues `work`; it starts as soon as fewer than `limit` tasks run.
    /// - Throws: ``OffloadError/Code/poolShutDown`` once shutdown began.
    @usableFromInline
    func submit<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) throws(OffloadError) -> TaskHandle<T> {
        let completion = TaskCompletion<T>()
        let start: @Sendable () -> Void = { [self] in launch(work, completion) }
        let startNow = try state.withLock(self) { state throws(OffloadError) -> Bool in
            guard state.lifecycle == .running else { throw OffloadError.poolShutDown("pool '\(name)'") }
            state.submitted += 1
            state.pending += 1
            if state.active < limit {
                state.active += 1
                return true
            }
            state.queue.append((completion.cell, start))
            return false
        }
        if startNow { start() }
        return TaskHandle(completion: completion, canceller: self)
    }

    private func launch<T: Sendable>(_ work: @escaping @Sendable () async throws -> T, _ completion: TaskCompletion<T>) {
        Task(executorPreference: executor) { [self] in
            guard completion.tryStart() else {
                // Cancelled while queued: its counters moved already; hand the slot on.
                releaseSlot()
                return
            }
            state.withLock(self) { state in
                state.pending -= 1
                state.running += 1
            }
            let started = ContinuousClock.now
            let result: Result<T, any Error>
            do {
                result = .success(try await CurrentCell.$cell.withValue(completion.cell) { try await work() })
            } catch {
                result = .failure(error)
            }
            let elapsed = (ContinuousClock.now - started).nanosecondsClamped
            state.withLock(self) { state in
                state.running -= 1
                state.busyNanoseconds &+= elapsed
                if case .success = result { state.completed += 1 } else { state.failed += 1 }
            }
            completion.finish(result)
            releaseSlot()
        }
    }

    /// A task ended (or was skipped): start the next queued one, or free the slot.
    private func releaseSlot() {
        let (next, waiters) = state.withLock(self) { state -> ((@Sendable () -> Void)?, [UnsafeContinuation<Void, Never>]) in
            if let next = state.queue.popFirst() { return (next.start, []) }
            state.active -= 1
            guard state.active == 0, state.lifecycle != .running else { return (nil, []) }
            state.lifecycle = .stopped
            defer { state.drainWaiters = [] }
            return (nil, state.drainWaiters)
        }
        next?()
        for waiter in waiters { waiter.resume() }
    }

    @usableFromInline
    func cancelPending(_ task: any PendingTask) -> Bool {
        task.cancelIfPending { withdrawn in
            if withdrawn {
                state.withLock(self) { state in
                    state.pending -= 1
                    state.cancelled += 1
                }
            }
        }
    }

    @usableFromInline
    var stats: PoolStats {
        state.withLock(self) { state in
            PoolStats(
                workers: limit,
                submitted: state.submitted,
                completed: state.completed,
                failed: state.failed,
                cancelled: state.cancelled,
                pending: state.pending,
                running: state.running,
                busyTime: [.nanoseconds(state.busyNanoseconds)] + Array(repeating: .zero, count: max(0, limit - 1))
            )
        }
    }

    /// Refuses new work, optionally cancels queued work, and waits until every started task has ended. Idempotent.
    @usableFromInline
    func shutdown(cancelPending: Bool) async {
        let withdrawn = state.withLock(self) { state -> [CompletionCell] in
            if state.lifecycle == .running { state.lifecycle = .draining }
            guard cancelPending else { return [] }
            defer { state.queue.removeAll() }
            return state.queue.map(\.cell)
        }
        for cell in withdrawn { _ = self.cancelPending(cell) }
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            // Invariant for the unsafe continuation: resumed here when nothing runs, or stored and resumed exactly
            // once by the `releaseSlot` call that frees the last slot (which empties `drainWaiters` under the lock).
            let idle = state.withLock(self) { state -> Bool in
                if state.active == 0 {
                    state.lifecycle = .stopped
                    return true
                }
                state.drainWaiters.append(continuation)
                return false
            }
            if idle { continuation.resume() }
        }
    }
}

/// The completion of the async task running now, so that ``OffloadTask/isCancelled`` sees `handle.cancel()` inside
/// `.io` work.
enum CurrentCell {
    @TaskLocal static var cell: CompletionCell?
}
