import Dispatch
import OffloadSystem
import Synchronization

/// The engine shared by ``ThreadPool`` (`State == Void`) and ``IsolatedPool``: N dedicated OS threads, each owning a
/// `State` made on that thread by `makeState`, taking entries from one FIFO queue.
///
/// Design (swift-nio `NIOThreadPool` and async-algorithms' channel state machine are the models):
/// - All bookkeeping lives in a pure ``WorkerScheduler`` inside a `Mutex`; effects (signalling, resuming, running)
///   happen after the lock is released.
/// - One `DispatchSemaphore` per worker: an idle worker registers itself as sleeping and waits on its own semaphore;
///   `submit` pops one sleeper and signals it. Each registration is matched by exactly one signal, so a wake-up is
///   never lost and never spurious. A shared condition variable would wake arbitrary threads; per-worker signals let
///   the scheduler wake exactly the one it chose.
/// - A finished task's counters are updated *before* its waiters are resumed, in the same critical section that
///   hands the worker its next entry: one lock round-trip per task on the worker side.
/// - Cancelling a queued task does not search the queue: the task's completion flips to `cancelled`, and the worker
///   that later dequeues it drops it (`tryStart()` fails). Cheap to cancel, at the price of the dead entry's slot.
@usableFromInline
package final class WorkerPoolCore<State>: TaskCanceller, Sendable {
    let name: String
    let workerCount: Int
    /// The label this pool reports under (``PoolObservation``).
    let executorKind: OffloadExecutorKind
    private let scheduler: Mutex<WorkerScheduler<PoolEntry<State>>>
    private let wakeSignals: [DispatchSemaphore]
    private let workerCounters: [WorkerCounters]
    private let threads = Mutex<[OSThread]>([])
    private let termination = TerminationLatch()
    /// Which submissions are stamped with the time they were queued (for their queue wait).
    private let stampBudget = QueueStampBudget()
    /// Bumped after every accepted submission; idle workers spin on it before going to sleep.
    private let submissions = Atomic<Int>(0)

    /// How long an idle worker polls for new work before it sleeps. Waking a sleeping thread costs the submitter a
    /// futex syscall and the worker a context switch (together several µs); a short poll lets bursts of small tasks
    /// flow without either.
    static var idleSpin: Duration { .microseconds(20) }

    /// Starts `workers` threads, runs `makeState` on each, and returns once every one has succeeded.
    /// - Throws: the first error a `makeState` threw (after stopping the threads that did start), or
    ///   ``OffloadError/Code/systemCallFailed`` if a thread could not be created.
    init(
        name: String,
        workers: Int,
        kind: OffloadExecutorKind = .threads,
        makeState: @escaping @Sendable () throws -> State
    ) throws {
        self.name = name
        self.workerCount = workers
        self.executorKind = kind
        self.scheduler = Mutex(WorkerScheduler(workers: workers))
        self.wakeSignals = (0..<workers).map { _ in DispatchSemaphore(value: 0) }
        self.workerCounters = (0..<workers).map { _ in WorkerCounters() }

        let initialized = DispatchSemaphore(value: 0)
        let initErrors = Mutex<[(Int, any Error)]>([])
        var started: [OSThread] = []
        do {
            for index in 0..<workers {
                let body: @Sendable () -> Void = { [self] in
                    ThreadContext.enterPool(ObjectIdentifier(self))
                    var state: State
                    do {
                        state = try makeState()
                    } catch {
                        initErrors.withLock(self) { $0.append((index, error)) }
                        initialized.signal()
                        self.workerLoop(index: index, state: nil)
                        return
                    }
                    initialized.signal()
                    self.workerLoop(index: index, state: &state)
                }
                let thread = try systemCall { () throws(SystemCallError) in
                    try OSThread.spawn(name: "\(name)-\(index)", body)
                }
                started.append(thread)
            }
        } catch {
            // Could not create every thread: stop the ones that run, then report.
            for _ in started { initialized.wait() }
            stopAndJoin(started)
            throw error
        }
        for _ in 0..<workers { initialized.wait() }
        if let (_, firstError) = initErrors.withLock(self, { $0.min { $0.0 < $1.0 } }) {
            stopAndJoin(started)
            throw firstError
        }
        threads.withLock(self) { $0 = started }
        if PoolObservation.isActive {
            PoolObservation.emit(PoolEvent(pool: name, executor: kind, kind: .poolStarted, workers: workers))
        }
    }

    private func stopAndJoin(_ started: [OSThread]) {
        let (wake, _) = scheduler.withLock(self) { $0.shutdown(cancelPending: true) }
        for worker in wake { wakeSignals[worker].signal() }
        for thread in started { thread.join() }
    }

    // MARK: - Submitting

    /// Queues `body` as a task.
    /// - Throws: ``OffloadError/Code/poolShutDown`` after shutdown began.
    @inlinable
    package func submit<Value: Sendable>(
        _ body: @escaping @Sendable (inout State) throws -> Value
    ) throws(OffloadError) -> TaskHandle<Value> {
        let item = PoolWorkItem<State, Value>(body: body)
        try enqueue(item)
        return TaskHandle(completion: item.completion, canceller: self)
    }

    /// Queues a task; the non-generic half of ``submit(_:)``.
    /// - Throws: ``OffloadError/Code/poolShutDown`` after shutdown began.
    @usableFromInline
    func enqueue(_ work: any PoolWork<State>) throws(OffloadError) {
        let entry = PoolEntry.task(work, queuedAt: stampBudget.stamp())
        switch scheduler.withLock(self, { $0.submit(entry) }) {
        case .wake(let worker):
            submissions.add(1, ordering: .releasing)
            wakeSignals[worker].signal()
        case .queued:
            submissions.add(1, ordering: .releasing)
        case .rejected:
            throw OffloadError.poolShutDown(poolDescription)
        }
    }

    /// Queues a Swift job (the `TaskExecutor` path). Returns `false` when every worker has exited; the caller must
    /// then run the job elsewhere.
    func enqueue(_ job: UnownedJob, on executor: UnownedTaskExecutor) -> Bool {
        switch scheduler.withLock(self, { $0.submit(.job(job, executor)) }) {
        case .wake(let worker):
            submissions.add(1, ordering: .releasing)
            wakeSignals[worker].signal()
            return true
        case .queued:
            submissions.add(1, ordering: .releasing)
            return true
        case .rejected:
            return false
        }
    }

    @usableFromInline
    package func cancelPending(_ task: any PendingTask) -> Bool {
        task.cancelIfPending { withdrawn in
            if withdrawn { scheduler.withLock(self) { $0.taskCancelled() } }
        }
    }

    /// A consistent snapshot: the scheduler's counters plus what workers have counted since they last reported.
    /// Each worker's unreported counts are read once and moved from *running* to *completed*/*failed* together, so
    /// the snapshot adds up even while workers keep counting.
    var stats: PoolStats {
        scheduler.withLock(self) { scheduler in
            var stats = scheduler.stats()
            stats.busyTime = workerCounters.map { counters in
                let completed = counters.completed.load(ordering: .acquiring)
                let failed = counters.failed.load(ordering: .acquiring)
                stats.completed += completed
                stats.failed += failed
                stats.running -= completed + failed
                return .nanoseconds(counters.busyNanoseconds.load(ordering: .relaxed))
            }
            return stats
        }
    }

    var poolDescription: String { "pool '\(name)'" }

    // MARK: - Worker loop

    /// Most entries a worker takes per visit to the lock, when its tasks are short (see ``shortTask``).
    static var maxBatch: Int { 16 }

    /// Tasks shorter than this are batched: for them the lock round trip per task is the dominant cost. Longer
    /// tasks are taken one at a time, so that no worker sits on queued work another idle worker could run.
    static var shortTask: Duration { .microseconds(20) }

    /// Runs entries until shutdown drains the queue. `state` is `nil` for a worker whose initializer failed (it only
    /// waits to be told to exit).
    ///
    /// A worker counts its finished tasks in its own atomics (``WorkerCounters``) *before* delivering each result, and
    /// folds them into the scheduler at its next visit to the lock; ``stats`` adds the unreported counts, so a result
    /// is never observed before it is counted.
    private func workerLoop(index: Int, state: UnsafeMutablePointer<State>?) {
        let counters = workerCounters[index]
        var batch: [PoolEntry<State>] = []
        batch.reserveCapacity(Self.maxBatch)
        var limit = 1
        let shortTaskNanoseconds = Self.shortTask.nanosecondsClamped
        var report = WorkerReportTally()

        func visit(maySleep: Bool, endingSpin: Bool = false) -> WorkerScheduler<PoolEntry<State>>.NextAction {
            scheduler.withLock(self) { scheduler in
                let completed = counters.completed.exchange(0, ordering: .acquiringAndReleasing)
                let failed = counters.failed.exchange(0, ordering: .acquiringAndReleasing)
                if completed + failed > 0 { scheduler.tasksFinished(completed: completed, failed: failed) }
                return scheduler.next(
                    worker: index, into: &batch, limit: limit, maySleep: maySleep, endingSpin: endingSpin)
            }
        }

        var action = visit(maySleep: false)
        while true {
            switch action {
            case .run:
                let observing = PoolObservation.isActive
                // Back-to-back tasks share one clock reading: the end of one is the start of the next.
                var stamp = Syscalls.monotonicNanoseconds()
                var longest = 0
                for entry in batch {
                    switch entry {
                    case .job(let job, let executor):
                        job.runSynchronously(on: executor)
                        stamp = Syscalls.monotonicNanoseconds()
                        longest = .max  // a Swift job may run for long: do not batch behind it
                    case .task(let work, let queuedAt):
                        guard let state else { preconditionFailure("a worker without state was given a task") }
                        if observing && queuedAt != 0 { report.waited(since: queuedAt, startedAt: stamp) }
                        work.run(&state.pointee) { succeeded in
                            let end = Syscalls.monotonicNanoseconds()
                            let elapsed = Int(truncatingIfNeeded: end &- stamp)
                            stamp = end
                            longest = max(longest, elapsed)
                            counters.busyNanoseconds.add(elapsed, ordering: .relaxed)
                            if observing { report.finished(elapsed) }
                            if succeeded {
                                counters.completed.add(1, ordering: .releasing)
                            } else {
                                counters.failed.add(1, ordering: .releasing)
                            }
                        }
                    }
                }
                batch.removeAll(keepingCapacity: true)
                limit = longest < shortTaskNanoseconds ? Self.maxBatch : 1
                action = visit(maySleep: false)
                if report.isDue(at: stamp, idle: { if case .run = action { false } else { true } }()) {
                    emitReport(&report, at: stamp)
                }
            case .idle:
                let spunOut = pollForSubmissions()
                action = visit(maySleep: spunOut, endingSpin: true)
            case .sleep:
                wakeSignals[index].wait()
                action = visit(maySleep: false)
            case .exit(let last):
                if last {
                    if PoolObservation.isActive {
                        emitReport(&report, at: Syscalls.monotonicNanoseconds())
                        PoolObservation.emit(
                            PoolEvent(pool: name, executor: executorKind, kind: .poolShutDown, workers: workerCount)
                        )
                    }
                    termination.fire()
                } else if report.unreported > 0 {
                    emitReport(&report, at: Syscalls.monotonicNanoseconds())
                }
                return
            }
        }
    }

    /// Reports the pool's counters and this worker's sampled run times and queue waits (``PoolObservation``), then
    /// starts a new tally: one report per batch of tasks, never one per task.
    private func emitReport(_ report: inout WorkerReportTally, at now: UInt64) {
        PoolObservation.emit(
            PoolReport(
                pool: name, executor: executorKind, stats: stats, durations: report.samples, queueWaits: report.waits)
        )
        stampBudget.refill()
        report.reset(at: now)
    }

    /// Polls ``submissions`` for up to ``idleSpin``. The scheduler lets at most one worker poll at a time (the others
    /// sleep at once), so an idle pool costs at most one core for ``idleSpin`` after a burst, and a submission the
    /// poller can take wakes nobody. Returns `true` if nothing was submitted (the worker should now sleep).
    private func pollForSubmissions() -> Bool {
        let seen = submissions.load(ordering: .acquiring)
        let deadline = ContinuousClock.now + Self.idleSpin
        while true {
            for _ in 0..<64 {
                if submissions.load(ordering: .acquiring) != seen {
                    gatherBurst(since: seen)
                    return false
                }
            }
            if ContinuousClock.now >= deadline { return true }
        }
    }

    /// Once work arrives, waits up to ``burstWindow`` for a full batch to gather before taking the lock: while a
    /// submitter is streaming tasks, taking them one lock round trip at a time would make the worker and the
    /// submitter fight over the lock for every task.
    private func gatherBurst(since seen: Int) {
        let deadline = ContinuousClock.now + Self.burstWindow
        while submissions.load(ordering: .acquiring) &- seen < Self.maxBatch {
            for _ in 0..<16 where submissions.load(ordering: .acquiring) &- seen >= Self.maxBatch { return }
            if ContinuousClock.now >= deadline { return }
        }
    }

    /// How long a polling worker lets a burst of submissions gather (see ``gatherBurst(since:)``).
    static var burstWindow: Duration { .microseconds(2) }

    private func workerLoop(index: Int, state: inout State) {
        withUnsafeMutablePointer(to: &state) { pointer in
            workerLoop(index: index, state: pointer)
        }
    }

    // MARK: - Shutdown

    /// Stops accepting tasks and wakes idle workers; with `cancelPending`, cancels queued tasks. Returns at once.
    func beginShutdown(cancelPending: Bool) {
        let (wake, withdrawn) = scheduler.withLock(self) { $0.shutdown(cancelPending: cancelPending) }
        for entry in withdrawn {
            guard case .task(let work, _) = entry else { continue }
            work.cancelIfPending { withdrawn in
                if withdrawn { scheduler.withLock(self) { $0.taskCancelled() } }
            }
        }
        for worker in wake { wakeSignals[worker].signal() }
    }

    /// Shuts down and waits until every worker thread has ended.
    func shutdown(cancelPending: Bool) async {
        beginShutdown(cancelPending: cancelPending)
        await termination.wait()
        joinThreads()
    }

    /// Shuts down and blocks until every worker thread has ended.
    func shutdownBlocking(cancelPending: Bool) {
        beginShutdown(cancelPending: cancelPending)
        joinThreads()
    }

    /// Shuts down without waiting: threads finish the queued work and end by themselves (the release-without-
    /// shutdown path).
    func shutdownDetached() {
        beginShutdown(cancelPending: false)
        let running = threads.withLock(self) { threads in
            defer { threads = [] }
            return threads
        }
        for thread in running { thread.detach() }
    }

    /// Whether the calling thread is one of this pool's workers.
    package var isCurrentThreadWorker: Bool {
        ThreadContext.currentPool == ObjectIdentifier(self)
    }

    /// Whether every worker thread has left its loop.
    package var isTerminated: Bool { termination.isFired }

    /// Suspends until every worker thread has left its loop.
    package func waitUntilTerminated() async {
        await termination.wait()
    }

    private func joinThreads() {
        let running = threads.withLock(self) { threads in
            defer { threads = [] }
            return threads
        }
        for thread in running { thread.join() }
    }
}

/// What one worker has counted since it last reported to the scheduler, and its total busy time. One object per
/// worker, so that counting touches no shared cache line.
final class WorkerCounters: Sendable {
    let completed = Atomic<Int>(0)
    let failed = Atomic<Int>(0)
    let busyNanoseconds = Atomic<Int>(0)
}

/// A one-shot event that async code can wait for.
final class TerminationLatch: Sendable {
    private let state = Mutex<(fired: Bool, waiters: [UnsafeContinuation<Void, Never>])>((false, []))

    var isFired: Bool { state.withLock(self) { $0.fired } }

    func fire() {
        let waiters = state.withLock(self) { state in
            state.fired = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            // Invariant for the unsafe continuation: resumed here if already fired, otherwise stored and resumed
            // exactly once by `fire()`, which empties the list under the lock.
            let fired = state.withLock(self) { state in
                if !state.fired { state.waiters.append(continuation) }
                return state.fired
            }
            if fired { continuation.resume() }
        }
    }
}

/// What one worker has to report to ``PoolObservation``: how many tasks finished since its last report, and a sample
/// of their run times and queue waits. Kept on the worker's stack; a report goes out when the worker runs out of work
/// or every ``WorkerReportTally/interval`` while it stays busy — once per batch of tasks, never per task.
struct WorkerReportTally {
    /// The longest a busy worker keeps its counts to itself.
    static var interval: Duration { .milliseconds(100) }
    private static let intervalNanoseconds = UInt64(interval.nanosecondsClamped)

    private(set) var unreported = 0
    private(set) var samples: [Duration] = []
    /// How long some of the entries started since the last report had waited in the queue.
    private(set) var waits: [Duration] = []
    private var lastReport = Syscalls.monotonicNanoseconds()

    /// A task ran for `nanoseconds`.
    mutating func finished(_ nanoseconds: Int) {
        unreported += 1
        if samples.count < PoolReport.sampleLimit { samples.append(.nanoseconds(nanoseconds)) }
    }

    /// An entry queued at `queuedAt` started at `start` (both `CLOCK_MONOTONIC` nanoseconds).
    mutating func waited(since queuedAt: UInt64, startedAt start: UInt64) {
        if waits.count < PoolReport.sampleLimit {
            waits.append(.nanoseconds(Int64(clamping: start >= queuedAt ? start - queuedAt : 0)))
        }
    }

    /// Whether to report now: something is unreported, and the worker is going idle or the interval has passed.
    func isDue(at now: UInt64, idle: Bool) -> Bool {
        unreported > 0 && (idle || now &- lastReport >= Self.intervalNanoseconds)
    }

    mutating func reset(at now: UInt64) {
        unreported = 0
        samples.removeAll(keepingCapacity: true)
        waits.removeAll(keepingCapacity: true)
        lastReport = now
    }
}
