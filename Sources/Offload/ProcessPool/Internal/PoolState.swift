import DequeModule

/// Everything mutable about a process pool, guarded by one `Mutex` in ``ProcessPoolCore``.
struct PoolState {
    enum Lifecycle: Equatable {
        case running
        /// Shutdown requested: no new work; finish what is queued and in flight.
        case draining
        /// Workers were asked to exit; `stage` 0 = asked, 1 = SIGTERM sent, 2 = SIGKILL sent.
        case stopping(stage: Int, deadline: UInt64)
        /// All workers reaped, descriptors closed, manager gone.
        case terminated
    }

    var lifecycle: Lifecycle = .running
    var slots: [WorkerSlot]
    var pending: Deque<QueuedTask> = []
    var nextTaskID: UInt64 = 1
    /// Set when workers cannot start (entry point missing, initializer failed, exec failed): every queued and future
    /// task fails with it, and no more workers are spawned.
    var broken: OffloadError?
    /// Whether the wake-up eventfd was written since the manager last drained it (coalesces wake-ups).
    var wakeSignalled = false
    var nextMemoryCheck: UInt64 = 0

    // Statistics (see PoolStats): always updated together under the lock.
    var submitted = 0
    var completed = 0
    var failed = 0
    var cancelled = 0
    var pendingCount = 0
    var running = 0
    var busyNanoseconds: [UInt64]
    var workersReplaced = 0

    init(workers: Int, maxPayload: Int) {
        slots = (0..<workers).map { WorkerSlot(index: $0, maxPayload: maxPayload) }
        busyNanoseconds = Array(repeating: 0, count: workers)
    }

    var stats: PoolStats {
        PoolStats(
            workers: slots.count,
            submitted: submitted,
            completed: completed,
            failed: failed,
            cancelled: cancelled,
            pending: pendingCount,
            running: running,
            busyTime: busyNanoseconds.map { Duration.nanoseconds(Int64(clamping: $0)) },
            workersReplaced: workersReplaced
        )
    }

    var hasWork: Bool {
        !pending.isEmpty || slots.contains { !$0.inFlight.isEmpty }
    }
}
