import DequeModule

/// The decisions of ``AsyncTaskRunner`` as a pure value type (the model of ``WorkerScheduler``): events in, actions
/// out; the runner holds it under its lock and launches tasks and resumes waiters after unlocking. Generic over the
/// queued entry and the drain waiter so that tests drive it without tasks or continuations.
struct AsyncRunnerStateMachine<Entry, Waiter> {
    enum Lifecycle: Equatable {
        case running
        /// Shutdown requested: no new work; queued and running work ends first.
        case draining
        case stopped
    }

    enum SubmitAction {
        /// The pool is shutting down: refuse the work.
        case refuse
        /// A slot is free: launch the entry now.
        case launch
        /// Every slot is busy: the entry waits in the queue.
        case queued
    }

    enum ReleaseAction {
        /// Launch this queued entry in the freed slot.
        case launch(Entry)
        /// The last running task ended during shutdown: resume these waiters.
        case resume([Waiter])
        /// Nothing to do.
        case none
    }

    let limit: Int
    private(set) var lifecycle = Lifecycle.running
    /// Slots taken: tasks launched and not yet released.
    private(set) var active = 0
    private(set) var queue = Deque<Entry>()
    private(set) var accounting = TaskAccounting()
    private(set) var busyNanoseconds = 0
    private var drainWaiters: [Waiter] = []

    init(limit: Int) {
        self.limit = limit
    }

    mutating func submit(_ entry: Entry) -> SubmitAction {
        guard lifecycle == .running else { return .refuse }
        accounting.submit()
        if active < limit {
            active += 1
            return .launch
        }
        queue.append(entry)
        return .queued
    }

    /// A launched task passed its start check (it was not cancelled while queued).
    mutating func started() {
        accounting.start()
    }

    /// A started task ended.
    mutating func finished(succeeded: Bool, nanoseconds: Int) {
        busyNanoseconds &+= nanoseconds
        if succeeded { accounting.complete() } else { accounting.fail() }
    }

    /// A task that had not started was withdrawn.
    mutating func cancelledBeforeStart() {
        accounting.cancel()
    }

    /// A launched task ended or was skipped: its slot goes to the next queued entry, or is freed.
    mutating func release() -> ReleaseAction {
        if let next = queue.popFirst() { return .launch(next) }
        active -= 1
        guard active == 0, lifecycle == .draining else { return .none }
        lifecycle = .stopped
        defer { drainWaiters = [] }
        return .resume(drainWaiters)
    }

    /// Starts shutting down (idempotent). With `cancelPending`, returns the queued entries to withdraw.
    mutating func shutdown(cancelPending: Bool) -> [Entry] {
        if lifecycle == .running { lifecycle = .draining }
        guard cancelPending else { return [] }
        defer { queue.removeAll() }
        return Array(queue)
    }

    /// Waits for the drain: `true` when nothing runs (resume at once), else the waiter is kept for ``release()``.
    mutating func awaitDrain(_ waiter: Waiter) -> Bool {
        if active == 0 {
            if lifecycle == .draining { lifecycle = .stopped }
            return true
        }
        drainWaiters.append(waiter)
        return false
    }
}
