import DequeModule
import OffloadSystem
import Synchronization

/// Runs async closures as Swift tasks with at most `limit` running at once, on a preferred executor (a
/// ``ThreadPool``) or on Swift's cooperative pool (`nil`), with the same handles, cancellation and counters as the
/// thread pools. The engine of `.io` mode (Python's `TaskGroup` + semaphore) and of async closures in `.threads` mode.
@usableFromInline
final class AsyncTaskRunner: TaskCanceller, Sendable {
    private typealias Machine = AsyncRunnerStateMachine<
        (cell: CompletionCell, launch: @Sendable () -> Void), UnsafeContinuation<Void, Never>
    >

    @usableFromInline let limit: Int
    let name: String
    private let executor: (any TaskExecutor)?
    private let state: Mutex<Machine>
    /// Which submissions are stamped with the time they were queued (for their queue wait).
    private let stampBudget = QueueStampBudget()

    @usableFromInline
    init(limit: Int, name: String, executor: (any TaskExecutor)?) {
        self.limit = limit
        self.name = name
        self.executor = executor
        self.state = Mutex(Machine(limit: limit))
        // A runner on a thread pool is part of that pool (which reports its own life cycle); a runner of its own is
        // a pool of its own.
        if executor == nil, PoolObservation.isActive {
            PoolObservation.emit(PoolEvent(pool: name, executor: .async, kind: .poolStarted, workers: limit))
        }
    }

    /// Queues `work`; it starts as soon as fewer than `limit` tasks run.
    /// - Throws: ``OffloadError/Code/poolShutDown`` once shutdown began.
    @usableFromInline
    func submit<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) throws(OffloadError) -> TaskHandle<T> {
        let completion = TaskCompletion<T>()
        let queuedAt = stampBudget.stamp()  // 0: not stamped
        let start: @Sendable () -> Void = { [self] in launch(work, completion, queuedAt: queuedAt) }
        let action = state.withLock(self) { $0.submit((completion.cell, start)) }
        switch action {
        case .refuse: throw OffloadError.poolShutDown("pool '\(name)'")
        case .launch: start()
        case .queued: break
        }
        return TaskHandle(completion: completion, canceller: self)
    }

    private func launch<T: Sendable>(
        _ work: @escaping @Sendable () async throws -> T,
        _ completion: TaskCompletion<T>,
        queuedAt: UInt64
    ) {
        Task(executorPreference: executor) { [self] in
            guard completion.tryStart() else {
                // Cancelled while queued: its counters moved already; hand the slot on.
                releaseSlot()
                return
            }
            let started = Syscalls.monotonicNanoseconds()
            state.withLock(self) { $0.started(waited: queuedAt == 0 ? nil : started &- min(started, queuedAt)) }
            let result: Result<T, any Error>
            do {
                result = .success(try await CurrentCell.$cell.withValue(completion.cell) { try await work() })
            } catch {
                result = .failure(error)
            }
            let end = Syscalls.monotonicNanoseconds()
            let elapsed = Int(truncatingIfNeeded: end &- started)
            let succeeded: Bool
            if case .success = result { succeeded = true } else { succeeded = false }
            let observing = PoolObservation.isActive
            let report = state.withLock(self) { state in
                state.finished(succeeded: succeeded, nanoseconds: elapsed, observed: observing)
                return observing ? state.takeReport(now: end) : nil
            }
            if let report { emit(report) }
            completion.finish(result)
            releaseSlot()
        }
    }

    /// Hands a report to ``PoolObservation``, outside the lock.
    private func emit(_ report: (stats: PoolStats, tally: Machine.Tally)) {
        PoolObservation.emit(
            PoolReport(
                pool: name,
                executor: .async,
                stats: report.stats,
                durations: report.tally.durations,
                queueWaits: report.tally.waits
            )
        )
        stampBudget.refill()
    }

    /// A task ended (or was skipped): start the next queued one, or free the slot.
    private func releaseSlot() {
        switch state.withLock(self, { $0.release() }) {
        case .launch(let next): next.launch()
        case .resume(let waiters): for waiter in waiters { waiter.resume() }
        case .none: break
        }
    }

    @usableFromInline
    func cancelPending(_ task: any PendingTask) -> Bool {
        task.cancelIfPending { withdrawn in
            if withdrawn { state.withLock(self) { $0.cancelledBeforeStart() } }
        }
    }

    @usableFromInline
    var stats: PoolStats {
        state.withLock(self) { $0.stats }
    }

    /// Refuses new work, optionally cancels queued work, and waits until every started task has ended. Idempotent.
    @usableFromInline
    func shutdown(cancelPending: Bool) async {
        let withdrawn = state.withLock(self) { $0.shutdown(cancelPending: cancelPending) }
        for entry in withdrawn { _ = self.cancelPending(entry.cell) }
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            // Invariant for the unsafe continuation: resumed here when nothing runs, or stored and resumed exactly
            // once by the `releaseSlot` call that frees the last slot (which empties `drainWaiters` under the lock).
            let idle = state.withLock(self) { $0.awaitDrain(continuation) }
            if idle { continuation.resume() }
        }
        if PoolObservation.isActive {
            let (report, stopped) = state.withLock(self) { state in
                (state.takeReport(now: Syscalls.monotonicNanoseconds(), force: true), state.reportShutdown())
            }
            if let report { emit(report) }
            if stopped, executor == nil {
                PoolObservation.emit(PoolEvent(pool: name, executor: .async, kind: .poolShutDown, workers: limit))
            }
        }
    }
}

/// The completion of the async task running now, so that ``OffloadTask/isCancelled`` sees `handle.cancel()` inside
/// `.io` work.
enum CurrentCell {
    @TaskLocal static var cell: CompletionCell?
}
