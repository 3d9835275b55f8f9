import DequeModule

/// What a pool's scheduler needs to know about a queued entry.
protocol SchedulerEntry {
    /// Whether the entry is a submitted task, counted in ``PoolStats`` (Swift executor jobs are not).
    var isTask: Bool { get }
    /// pending → running. `false` when the task was cancelled while queued; the scheduler then drops it.
    func start() -> Bool
}

/// The pure state machine behind every in-process pool: the run queue, which workers sleep, the life cycle and the
/// counters. It performs no effects; each mutating call returns what the caller must do after releasing the lock
/// (wake a worker, run an entry, cancel entries, fire the termination latch). It is held in a `Mutex` by
/// `WorkerPoolCore`, and unit-tested without threads.
///
/// Life cycle: `running` → `draining` (shutdown requested: no new tasks; queued work still runs unless cancelled;
/// workers exit when the queue is empty) → `stopped` (the last worker exited).
struct WorkerScheduler<Entry: SchedulerEntry> {
    enum Lifecycle: Equatable {
        case running
        case draining
        case stopped
    }

    enum SubmitAction: Equatable {
        /// Queued; signal this sleeping worker.
        case wake(Int)
        /// Queued; every worker is busy and will find it.
        case queued
        /// Refused: the pool is shutting down (tasks) or has stopped (tasks and jobs).
        case rejected
    }

    enum NextAction {
        /// Run the entries now in the caller's batch (their tasks have already been moved to running).
        case run
        /// Nothing to do: wait on your wake-up signal (you are registered as sleeping).
        case sleep
        /// Nothing to do yet, and you are *not* registered as sleeping: spin briefly, then ask again.
        case idle
        /// Exit the worker loop; `last` when this was the last live worker.
        case exit(last: Bool)
    }

    private(set) var lifecycle = Lifecycle.running
    private var queue = Deque<Entry>()
    private var sleeping: [Int] = []
    /// Workers polling for work outside the lock (at most one): a submission they can take needs no wake-up.
    private(set) var spinning = 0
    private(set) var liveWorkers: Int

    private var accounting = TaskAccounting()
    private let workers: Int

    init(workers: Int) {
        self.workers = workers
        liveWorkers = workers
    }

    /// Queues `entry`. Tasks are refused once shutdown began; executor jobs are accepted as long as a worker lives,
    /// because a Swift job must run somewhere.
    mutating func submit(_ entry: Entry) -> SubmitAction {
        switch lifecycle {
        case .running:
            break
        case .draining:
            if entry.isTask || liveWorkers == 0 { return .rejected }
        case .stopped:
            return .rejected
        }
        queue.append(entry)
        if entry.isTask { accounting.submit() }
        // A polling worker takes the next entry without being woken; wake a sleeper only for what it cannot take.
        if spinning > 0 && queue.count <= spinning { return .queued }
        if let worker = sleeping.popLast() { return .wake(worker) }
        return .queued
    }

    /// The next thing worker `worker` should do.
    ///
    /// Fills `batch` with up to `limit` entries — never more than an even share of the queue among the workers that
    /// are awake, so a batch never hoards work another worker could start. With `maySleep: false`, an empty queue
    /// makes the worker the poller (``NextAction/idle``) if no other worker polls; otherwise it sleeps. `endingSpin`
    /// says the caller was the poller and has stopped polling.
    mutating func next(
        worker: Int,
        into batch: inout [Entry],
        limit: Int = 1,
        maySleep: Bool = true,
        endingSpin: Bool = false
    ) -> NextAction {
        if endingSpin { spinning -= 1 }
        let awake = max(1, liveWorkers - sleeping.count)
        let share = max(1, min(limit, queue.count / awake))
        while batch.count < share, let entry = queue.popFirst() {
            if entry.isTask {
                // Cancelled while queued: the canceller moves it from pending to cancelled via `taskCancelled()`.
                guard entry.start() else { continue }
                accounting.start()
            }
            batch.append(entry)
        }
        if !batch.isEmpty { return .run }
        if lifecycle == .running {
            if !maySleep && spinning == 0 {
                spinning += 1
                return .idle
            }
            sleeping.append(worker)
            return .sleep
        }
        liveWorkers -= 1
        if liveWorkers == 0 {
            lifecycle = .stopped
            return .exit(last: true)
        }
        return .exit(last: false)
    }

    /// Tasks that `next` handed out have ended (reported in bulk: workers count them in their own atomics and fold
    /// them in here at their next visit to the lock).
    mutating func tasksFinished(completed newlyCompleted: Int, failed newlyFailed: Int) {
        accounting.complete(newlyCompleted)
        accounting.fail(newlyFailed)
    }

    /// A queued task was withdrawn before it started.
    mutating func taskCancelled() {
        accounting.cancel()
    }

    /// Begins shutdown. Returns the sleeping workers to wake (they will exit once the queue is empty) and, when
    /// `cancelPending`, the queued tasks taken out of the queue for the caller to cancel. Idempotent.
    mutating func shutdown(cancelPending: Bool) -> (wake: [Int], withdrawn: [Entry]) {
        if lifecycle == .running { lifecycle = .draining }
        var withdrawn: [Entry] = []
        if cancelPending && !queue.isEmpty {
            var kept = Deque<Entry>()
            for entry in queue {
                if entry.isTask { withdrawn.append(entry) } else { kept.append(entry) }
            }
            queue = kept
        }
        let wake = sleeping
        sleeping = []
        return (wake, withdrawn)
    }

    /// The counters as of the last bulk report (the core adds what workers have not reported yet).
    func stats() -> PoolStats {
        accounting.stats(workers: workers)
    }
}
