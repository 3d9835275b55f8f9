import DequeModule
import OffloadCore

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
    /// Tasks ended and samples taken since the last ``PoolReport`` (see ``takeReport(now:force:)``).
    private(set) var tally = Tally()
    /// Whether the end of the drain was reported already (``PoolEvent/Kind/poolShutDown`` goes out once).
    private var shutdownReported = false

    /// What the next ``PoolReport`` carries: how many tasks ended since the last one, and at most
    /// ``PoolReport/sampleLimit`` run times and queue waits.
    struct Tally {
        var unreported = 0
        var durations: [Duration] = []
        var waits: [Duration] = []
        var lastReport: UInt64 = 0
    }

    /// The longest a busy runner keeps its counts to itself, in nanoseconds.
    static var reportIntervalNanoseconds: UInt64 { 100_000_000 }

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

    /// A launched task passed its start check (it was not cancelled while queued), after waiting `waited`
    /// nanoseconds since it was submitted (`nil` when nobody observed the runner at submission).
    mutating func started(waited: UInt64? = nil) {
        accounting.start()
        if let waited, tally.waits.count < PoolReport.sampleLimit {
            tally.waits.append(.nanoseconds(Int64(clamping: waited)))
        }
    }

    /// A started task ended; `observed` keeps its run time for the next report.
    mutating func finished(succeeded: Bool, nanoseconds: Int, observed: Bool = false) {
        busyNanoseconds &+= nanoseconds
        if succeeded { accounting.complete() } else { accounting.fail() }
        if observed {
            tally.unreported += 1
            if tally.durations.count < PoolReport.sampleLimit { tally.durations.append(.nanoseconds(nanoseconds)) }
        }
    }

    /// The shortest time between two reports of a runner going idle, in nanoseconds. Tiny tasks submitted one by one
    /// leave the runner idle between most of them; without this floor it would report after nearly every task.
    static var idleReportIntervalNanoseconds: UInt64 { 1_000_000 }

    /// The counters and samples for a ``PoolReport``, when one is due: something ended since the last one and the
    /// runner is going idle (the ending task holds the last slot, nothing is queued) at least
    /// ``idleReportIntervalNanoseconds`` after the last report, ``reportIntervalNanoseconds`` have passed, or
    /// `force`. Once per batch of tasks, never per task.
    mutating func takeReport(now: UInt64, force: Bool = false) -> (stats: PoolStats, tally: Tally)? {
        guard tally.unreported > 0 || !tally.waits.isEmpty else { return nil }
        let since = now &- tally.lastReport
        let idle = active <= 1 && queue.isEmpty && since >= Self.idleReportIntervalNanoseconds
        guard force || idle || since >= Self.reportIntervalNanoseconds else { return nil }
        defer { tally = Tally(lastReport: now) }
        return (stats, tally)
    }

    /// The counters, with the busy time of all tasks as the first slot's.
    var stats: PoolStats {
        accounting.stats(
            workers: limit,
            busyTime: [.nanoseconds(busyNanoseconds)] + Array(repeating: .zero, count: max(0, limit - 1))
        )
    }

    /// Whether the end of the drain is still to be reported (`true` once).
    mutating func reportShutdown() -> Bool {
        guard lifecycle == .stopped, !shutdownReported else { return false }
        shutdownReported = true
        return true
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
