/// The counters every engine keeps for its tasks, and the only code that moves them.
///
/// A task is counted once in `submitted` and then sits in exactly one of `pending`, `running`, `completed`, `failed`
/// or `cancelled`, so `submitted == completed + failed + cancelled + pending + running` holds after every mutation
/// (``isConsistent``; debug builds check it on each step). Engines keep one value under their lock and publish it
/// as ``PoolStats``.
package struct TaskAccounting: Sendable, Equatable {
    package private(set) var submitted = 0
    package private(set) var completed = 0
    package private(set) var failed = 0
    package private(set) var cancelled = 0
    package private(set) var pending = 0
    package private(set) var running = 0

    package init() {}

    /// `count` new tasks were queued.
    package mutating func submit(_ count: Int = 1) {
        submitted += count
        pending += count
        check()
    }

    /// `count` queued tasks started on a worker.
    package mutating func start(_ count: Int = 1) {
        pending -= count
        running += count
        check()
    }

    /// `count` running tasks went back to the queue (their worker died before starting them).
    package mutating func requeue(_ count: Int = 1) {
        running -= count
        pending += count
        check()
    }

    /// `count` running tasks returned a value.
    package mutating func complete(_ count: Int = 1) {
        running -= count
        completed += count
        check()
    }

    /// `count` tasks failed; `running` says whether they had started (a broken pool also fails queued tasks).
    package mutating func fail(_ count: Int = 1, running wasRunning: Bool = true) {
        if wasRunning { running -= count } else { pending -= count }
        failed += count
        check()
    }

    /// `count` tasks were cancelled; `running` says whether they had started (stopped by killing their worker).
    package mutating func cancel(_ count: Int = 1, running wasRunning: Bool = false) {
        if wasRunning { running -= count } else { pending -= count }
        cancelled += count
        check()
    }

    /// Whether every submitted task is counted exactly once and no counter is negative.
    package var isConsistent: Bool {
        pending >= 0 && running >= 0 && submitted == completed + failed + cancelled + pending + running
    }

    /// The counters as public statistics.
    package func stats(workers: Int, busyTime: [Duration] = [], workersReplaced: Int = 0) -> PoolStats {
        PoolStats(
            workers: workers,
            submitted: submitted,
            completed: completed,
            failed: failed,
            cancelled: cancelled,
            pending: pending,
            running: running,
            busyTime: busyTime,
            workersReplaced: workersReplaced
        )
    }

    @inline(__always)
    private func check() {
        assert(isConsistent, "task accounting broke its invariant: \(self)")
    }
}
