import DequeModule
import OffloadCore
import OffloadSystem
import OffloadWire

/// The process pool's decisions as a pure value type (swift-async-algorithms' `ChannelStateMachine` model, like
/// `WorkerScheduler` for the thread pools): events go in — submit, cancel, shutdown, a worker spawned, a message from
/// a worker, a write finished, a worker exited, a deadline tick, a memory reading — and ``Action``s come out: write
/// these bytes to that worker, spawn, signal, deliver an outcome, close descriptors, finish the pool. It makes no
/// system call and reads no clock: the caller (``ProcessPoolCore`` and its manager thread) holds it in a `Mutex`,
/// feeds it `now`, and performs the actions after releasing the lock. Every decision is unit-tested without threads
/// or processes (`ProcessPoolStateMachineTests`).
///
/// A task is *pending* in ``pending`` until dispatched, then *in flight* in its worker's queue (`SlotState.inFlight`,
/// in the order the worker runs them) until its outcome arrives. Counters live in one ``TaskAccounting``.
struct ProcessPoolStateMachine {
    struct Settings: Sendable {
        var workers: Int
        var maxTasksPerWorker: Int?
        var maxPrefetch: Int
        /// About this much queued work per worker is the prefetch target, in nanoseconds.
        var prefetchWindow: Double
        var retries: Int
        var startTimeout: UInt64
        var shutdownGrace: UInt64
        var memoryLimit: Int?
        var memoryPollInterval: UInt64
        var poolName = "ProcessPool"
        var executableName = "this executable"
    }

    /// Jobs at least this long (mean per item) are never queued behind another task in a worker.
    static let longTask: Double = 20_000_000
    /// A worker that already holds this many tasks (sent, not finished) gets further run frames when its next outcome
    /// arrives rather than one write each (``dispatch(now:actions:)``).
    static let sentAheadForCoalescing = 8
    /// How often the progress of a worker whose next item has not started yet is looked at again, for timeouts.
    static let progressRecheck: UInt64 = 1_000_000

    enum Lifecycle: Equatable {
        case running
        /// Shutdown requested: no new work; queued and in-flight work finishes.
        case draining
        /// Workers were asked to exit; stage 0 = asked, 1 = SIGTERM sent, 2 = SIGKILL sent.
        case stopping(stage: Int, deadline: UInt64)
        /// Every worker exited and every descriptor was closed.
        case terminated
    }

    enum Action {
        /// Write `bytes` to the worker's command pipe, then report how much went out (`wrote(slot:…)`).
        case write(slot: Int, generation: Int, fd: Int32, ring: SharedTransport?, bytes: [UInt8])
        /// Launch a worker for `slot`, then report ``spawned(slot:handles:now:)`` or ``spawnFailed(slot:error:)``.
        case spawn(slot: Int)
        /// Send `signal` to the worker in `slot`, if that slot still holds process `generation` (only the manager
        /// performs it: the thread that also closes the worker's pidfd).
        case signal(slot: Int, generation: Int, pid: Int32, pidfd: Int32, signal: Int32)
        /// Read a worker's resident memory, then report ``memoryMeasured(slot:generation:bytes:)``.
        case measureMemory(slot: Int, generation: Int, pid: Int32)
        /// Hand an outcome to its caller (decode first where needed; see ``Delivery``).
        case deliver(Delivery)
        /// Close a dead worker's descriptors (no write to them is in progress).
        case close(WorkerHandles)
        /// Every worker said hello (`.success`), or the pool cannot start workers (`.failure`).
        case readiness(Result<Void, OffloadError>)
        /// Something the manager thread must look at changed (a deadline, a blocked pipe): wake it.
        case wakeManager
        /// Tell the pool's observers (``PoolObservation``) that something happened to the pool or a worker.
        case event(PoolEvent)
        /// Relay a job's own progress report to the monitor of the map it belongs to (``JobProgress``).
        case progress(ProgressRoute, item: Int, fraction: Double)
        /// The pool is finished: release the manager.
        case terminate
    }

    enum Delivery {
        /// A single job's encoded output: decode it, report ``resultsDecoded(completed:failed:)``, finish.
        case value(any TaskSink, output: [UInt8], context: DecodeContext)
        /// A batch's outcomes: `outputs` is an encoded `[Output]` of the items not in `failures`.
        case batch(any TaskSink, outputs: [UInt8], failures: [Int: OffloadError], count: Int, context: DecodeContext)
        /// A failure, already counted.
        case failure(any TaskSink, OffloadError)
        /// The task ended as cancelled, already counted.
        case cancelled(any TaskSink)
    }

    struct DecodeContext: Sendable {
        var workerPID: Int32?
        var describe: @Sendable (Int?) -> String
        /// How long the worker ran the task (what its last result frame said), when known.
        var runNanoseconds: UInt64?

        var runDuration: Duration? { runNanoseconds.map { .nanoseconds(Int64(clamping: $0)) } }
    }

    /// Why the pool killed a worker; decides the error of what it was running.
    enum KillReason: Equatable {
        case taskTimeout(taskID: UInt64, item: Int?, timeout: UInt64)
        case memory(residentBytes: Int, limit: Int)
        case protocolViolation(OffloadError)
        case startTimeout
        case cancelled(taskID: UInt64)
        case broken
        case shutdown
    }

    struct SlotState {
        enum Phase: Equatable {
            /// No process.
            case empty
            /// A spawn was requested.
            case spawning
            /// Spawned, no hello yet.
            case starting(deadline: UInt64)
            /// Serving tasks.
            case ready
            /// Asked to exit (recycling or shutdown).
            case retiring
        }

        var phase = Phase.empty
        var generation = 0
        var handles: WorkerHandles?
        var outbox = FrameWriter()
        var writing = false
        var commandBroken = false
        var inFlight = InFlightQueue()
        /// How many tasks at the end of `inFlight` have their frames still in `outbox` (not handed to a writer).
        var unflushed = 0
        var sent = 0
        var killReason: KillReason?
        /// When the head of `inFlight` was estimated to start (sent to an idle worker, or its predecessor ended).
        var headSince: UInt64 = 0
        /// A dead worker's descriptors, closed when the write in progress to them ends.
        var closeAfterWrite: WorkerHandles?

        var isLive: Bool { phase != .empty }
    }

    var lifecycle = Lifecycle.running
    var slots: [SlotState]
    var pending: Deque<PoolTask> = []
    var accounting = TaskAccounting()
    var broken: OffloadError?
    var workersReplaced = 0
    var busy: [UInt64]
    /// Mean run time of one item per job type, in nanoseconds (exponentially weighted).
    var meanItemNanoseconds: [String: Double] = [:]
    private var nextTaskID: UInt64 = 1
    private var nextMemoryCheck: UInt64 = 0
    private var readinessReported = false
    /// Run times and queue waits (nanoseconds) sampled for the next ``PoolReport``.
    var sampledDurations: [UInt64] = []
    var sampledQueueWaits: [UInt64] = []
    let settings: Settings

    init(settings: Settings) {
        self.settings = settings
        slots = Array(repeating: SlotState(), count: settings.workers)
        busy = Array(repeating: 0, count: settings.workers)
    }

    var stats: PoolStats {
        accounting.stats(
            workers: settings.workers,
            busyTime: busy.map { Duration.nanoseconds(Int64(clamping: $0)) },
            workersReplaced: workersReplaced
        )
    }

    var hasWork: Bool { !pending.isEmpty || slots.contains { !$0.inFlight.isEmpty } }

    // MARK: - Submitting

    /// Queues a task and dispatches what it can. Throws the reason a task is refused.
    mutating func submit(_ task: PoolTask, now: UInt64, actions: inout [Action]) throws(OffloadError) -> UInt64 {
        if let broken { throw broken }
        guard lifecycle == .running else { throw OffloadError.poolShutDown(settings.poolName) }
        var task = task
        task.id = nextTaskID
        nextTaskID &+= 1
        task.queuedAt = now
        pending.append(task)
        accounting.submit()
        spawnMissing(actions: &actions)
        dispatch(now: now, actions: &actions)
        if task.timeout != nil || settings.memoryLimit != nil { actions.append(.wakeManager) }
        return task.id
    }

    /// A pending task was withdrawn by its handle (its sink refuses to start from now on).
    mutating func pendingWithdrawn() {
        accounting.cancel(running: false)
    }

    /// Sends queued tasks to workers: each to the least-loaded worker that may take it.
    mutating func dispatch(now: UInt64, actions: inout [Action]) {
        guard broken == nil else { return }
        // At most two workers' worth of indices in the common case; no allocation for the first (see `Touched`).
        var touched = Touched()
        while let task = pending.first {
            let estimate = shortEstimate(task)
            guard let index = chooseSlot(for: task, estimate: estimate) else { break }
            var task = pending.removeFirst()
            if !task.started {
                // Cancelled while queued: its canceller already counted it.
                guard task.sink.start() else { continue }
                task.started = true
            }
            task.sentEstimate = estimate
            accounting.start()
            sampleQueueWait(since: task.queuedAt, now: now)
            if slots[index].inFlight.isEmpty { slots[index].headSince = now }
            task.appendFrames(to: &slots[index].outbox)
            slots[index].inFlight.append(task)
            slots[index].unflushed += 1
            slots[index].sent += 1
            touched.insert(index)
        }
        // A worker that already has plenty to do gets these frames with its next outcome (the manager flushes then,
        // see `afterProgress`): a stream of submissions then reaches it as a few large writes that it reads at once,
        // instead of one write, one read and one wake-up per task. A worker with little queued gets them now.
        touched.forEach { index in
            if slots[index].inFlight.count - slots[index].unflushed < ProcessPoolStateMachine.sentAheadForCoalescing {
                flush(slot: index, actions: &actions)
            }
        }
    }

    /// The least-loaded worker that may take `task`; ready workers win ties over starting ones (fair start: a fresh
    /// pool's jobs spread over every worker, each starting worker taking one job of unknown duration).
    /// `estimate` is ``shortEstimate(_:)`` of `task`, looked up once for every worker.
    func chooseSlot(for task: PoolTask, estimate: Double?) -> Int? {
        var best: Int?
        var bestLoad = Int.max
        var bestReady = false
        for index in slots.indices where accepts(slot: index, estimate: estimate) {
            let load = slots[index].inFlight.count
            let ready = slots[index].phase == .ready
            if load < bestLoad || (load == bestLoad && ready && !bestReady) {
                best = index
                bestLoad = load
                bestReady = ready
            }
        }
        return best
    }

    /// Whether worker `index` may take a task whose ``shortEstimate(_:)`` is `estimate` now.
    ///
    /// Prefetch rule: a task may wait in a worker behind others only when it and every task ahead of it are known to
    /// be short (mean below ``longTask`` when sent), and then only up to about ``Settings/prefetchWindow`` of work
    /// ahead (at least one waiting task, at most ``Settings/maxPrefetch`` in all). A job of unknown duration is never
    /// held behind a running one, where it could neither be withdrawn cheaply nor start on another worker that frees
    /// up first. The worker's queue keeps the sums this needs (``InFlightQueue``).
    func accepts(slot index: Int, estimate: Double?) -> Bool {
        // Read in place: a copy of the slot would retain and release every reference it holds, on every decision.
        guard !slots[index].commandBroken, slots[index].killReason == nil else { return false }
        switch slots[index].phase {
        case .ready: break
        case .spawning, .starting: guard slots[index].inFlight.isEmpty else { return false }
        case .empty, .retiring: return false
        }
        if let limit = settings.maxTasksPerWorker, slots[index].sent >= limit { return false }
        let queued = slots[index].inFlight.count
        if queued == 0 { return true }
        guard queued < settings.maxPrefetch, estimate != nil, slots[index].inFlight.unpredictable == 0 else {
            return false
        }
        return queued < 2 || slots[index].inFlight.estimatedNanoseconds < settings.prefetchWindow
    }

    /// ``expectedNanoseconds(_:)`` when it is known and short (below ``longTask``), else `nil`: what prefetch may
    /// queue behind other work, and the estimate a task is sent with.
    func shortEstimate(_ task: PoolTask) -> Double? {
        guard let expected = expectedNanoseconds(task), expected < ProcessPoolStateMachine.longTask else { return nil }
        return expected
    }

    /// The expected run time of what remains of `task` (mean per item × items), `nil` while its type is unmeasured.
    func expectedNanoseconds(_ task: PoolTask) -> Double? {
        guard let mean = meanItemNanoseconds[task.jobName] else { return nil }
        return mean * Double(max(1, (task.itemCount ?? 1) - task.nextItem))
    }

    mutating func recordDuration(jobName: String, nanoseconds: UInt64, items: Int) {
        guard items > 0 else { return }
        let sample = Double(nanoseconds) / Double(items)
        // One hash of the name: the entry is updated in place (`.nan` marks a first sample).
        meanItemNanoseconds[jobName, default: .nan].updateMean(with: sample)
    }

    /// Hands the worker's queued bytes to a writer, unless a write is already in progress (frames must reach the
    /// pipe in order, and only one thread may write to it at a time).
    mutating func flush(slot index: Int, actions: inout [Action]) {
        guard !slots[index].writing, !slots[index].commandBroken, slots[index].outbox.hasPendingBytes,
            let handles = slots[index].handles
        else { return }
        slots[index].writing = true
        slots[index].unflushed = 0
        let bytes = slots[index].outbox.take()
        actions.append(
            .write(
                slot: index,
                generation: slots[index].generation,
                fd: handles.commandFD,
                ring: handles.transport,
                bytes: bytes
            )
        )
    }

    /// A write action finished: `written` of `bytes` went out; `failed` when the pipe is broken (the worker died).
    mutating func wrote(
        slot index: Int,
        generation: Int,
        bytes: [UInt8],
        written: Int,
        failed: Bool,
        actions: inout [Action]
    ) {
        if let handles = slots[index].closeAfterWrite, handles.generation == generation {
            // The worker died while this write was in progress: its descriptors can be closed now.
            slots[index].closeAfterWrite = nil
            actions.append(.close(handles))
            if slots[index].generation == generation { slots[index].writing = false }
            // `exited` left this slot empty without a replacement while the write held its descriptors: it gets one
            // now (the tasks waiting for it are dispatched when it says hello), or the pool would keep no worker.
            spawnMissing(actions: &actions)
            terminateIfDone(actions: &actions)
            return
        }
        guard slots[index].generation == generation, slots[index].writing else { return }
        slots[index].writing = false
        if failed {
            slots[index].commandBroken = true
            return
        }
        if written < bytes.count {
            slots[index].outbox.prepend(bytes[written...])
            actions.append(.wakeManager)  // the pipe is full: the manager polls it for POLLOUT
            return
        }
        flush(slot: index, actions: &actions)
    }

    /// Whether the manager should wait for `slot`'s command pipe to accept more bytes.
    func wantsWritable(slot index: Int) -> Bool {
        let slot = slots[index]
        return !slot.writing && !slot.commandBroken && slot.outbox.hasPendingBytes && slot.handles != nil
    }

    // MARK: - Cancelling

    /// Where an in-flight task is, for a handle that wants to cancel it: found by its sink.
    func locateInFlight(_ matches: (any TaskSink) -> Bool) -> (slot: Int, taskID: UInt64, isHead: Bool)? {
        for index in slots.indices {
            for (position, task) in slots[index].inFlight.enumerated() where !task.cancelled && matches(task.sink) {
                return (index, task.id, position == 0)
            }
        }
        return nil
    }

    /// Cancels an in-flight task. `started` says whether the worker had begun it (read from its journal after the
    /// cancel flag was raised there, so a worker that had not begun it will skip it). The handle ends as cancelled at
    /// once; with `.stopRunning`, a worker running the task is killed and replaced.
    mutating func cancelInFlight(
        slot index: Int,
        taskID: UInt64,
        mode: CancellationMode,
        started: Bool,
        actions: inout [Action]
    ) -> Bool {
        guard let position = slots[index].inFlight.firstIndex(where: { $0.id == taskID && !$0.cancelled }) else {
            return false
        }
        accounting.cancel(running: true)
        actions.append(.deliver(.cancelled(slots[index].inFlight[position].sink)))
        if slots[index].handles == nil {
            // The worker is still being spawned and was sent nothing: the task's frames leave its outbox, so the
            // worker never sees the task (and is not killed for it, whatever the mode).
            withdrawUnsent(slot: index, position: position)
            return true
        }
        slots[index].inFlight[position].cancelled = true
        if started, mode == .stopRunning, position == 0 {
            kill(slot: index, reason: .cancelled(taskID: taskID), actions: &actions)
        }
        return true
    }

    /// Removes the task at `position` from a worker that has no descriptors yet: its queued frames are rebuilt from
    /// the tasks that remain (nothing reached the worker, so nothing else is in its outbox).
    private mutating func withdrawUnsent(slot index: Int, position: Int) {
        withSlot(index) { slot in
            slot.inFlight.remove(at: position)
            slot.outbox = FrameWriter()
            for task in slot.inFlight { task.appendFrames(to: &slot.outbox) }
            slot.unflushed = slot.inFlight.count
            slot.sent = slot.inFlight.count
        }
    }

    /// The IDs of every in-flight task that is not cancelled, per worker (shutdown withdraws the unstarted ones).
    func inFlightTasks() -> [(slot: Int, taskID: UInt64)] {
        slots.indices.flatMap { index in
            slots[index].inFlight.filter { !$0.cancelled }.map { (index, $0.id) }
        }
    }

    // MARK: - Shutting down

    /// Starts shutting down (idempotent). Returns the queued tasks to withdraw when `cancelPending`.
    mutating func shutdown(cancelPending: Bool, now: UInt64, actions: inout [Action]) -> [any TaskSink] {
        if lifecycle == .running { lifecycle = .draining }
        var withdraw: [any TaskSink] = []
        if cancelPending {
            // Requeued tasks (their worker died) already started: cancel them here; the others via their handles.
            var kept = Deque<PoolTask>()
            for task in pending {
                if task.started {
                    accounting.cancel(running: false)
                    actions.append(.deliver(.cancelled(task.sink)))
                } else {
                    withdraw.append(task.sink)
                    kept.append(task)
                }
            }
            pending = kept
        }
        advanceLifecycle(now: now, actions: &actions)
        actions.append(.wakeManager)
        return withdraw
    }

    /// draining → stopping once no work is left; then SIGTERM and SIGKILL at each deadline; then terminated.
    mutating func advanceLifecycle(now: UInt64, actions: inout [Action]) {
        switch lifecycle {
        case .running, .terminated:
            return
        case .draining:
            // Tasks withdrawn by their handles are dead weight, not work to wait for.
            pending.removeAll { !$0.started && $0.sink.isCancelled }
            guard !hasWork else { return }
            for index in slots.indices where slots[index].isLive {
                retire(slot: index, reason: .shutdown, actions: &actions)
            }
            lifecycle = .stopping(stage: 0, deadline: now &+ settings.shutdownGrace)
            actions.append(.wakeManager)
        case .stopping(let stage, let deadline):
            if now >= deadline, stage < 2 {
                for index in slots.indices where slots[index].isLive {
                    guard let handles = slots[index].handles else { continue }
                    actions.append(
                        .signal(
                            slot: index,
                            generation: slots[index].generation,
                            pid: handles.pid,
                            pidfd: handles.pidfd,
                            signal: stage == 0 ? Signals.terminate : Signals.kill
                        )
                    )
                }
                lifecycle = .stopping(stage: stage + 1, deadline: stage == 0 ? now &+ settings.shutdownGrace : .max)
            }
        }
        terminateIfDone(actions: &actions)
    }

    private mutating func terminateIfDone(actions: inout [Action]) {
        guard case .stopping = lifecycle else { return }
        guard !slots.contains(where: { $0.isLive || $0.closeAfterWrite != nil || $0.writing }) else { return }
        lifecycle = .terminated
        actions.append(.terminate)
    }

    /// Asks a worker to exit after what it holds (a `shutdown` frame).
    mutating func retire(slot index: Int, reason: KillReason, actions: inout [Action]) {
        if slots[index].killReason == nil { slots[index].killReason = reason }
        guard slots[index].phase != .retiring else { return }
        Message.shutdown.append(to: &slots[index].outbox)
        slots[index].phase = .retiring
        flush(slot: index, actions: &actions)
    }

    /// Kills a worker (SIGKILL) for `reason`; its exit decides what its tasks become.
    mutating func kill(slot index: Int, reason: KillReason, actions: inout [Action]) {
        guard slots[index].isLive else { return }
        if slots[index].killReason == nil || slots[index].killReason == .shutdown {
            slots[index].killReason = reason
        }
        if let handles = slots[index].handles {
            actions.append(
                .signal(
                    slot: index,
                    generation: slots[index].generation,
                    pid: handles.pid,
                    pidfd: handles.pidfd,
                    signal: Signals.kill
                )
            )
        }
    }

    // MARK: - Broken pool

    /// Workers cannot start: fail everything queued (and everything waiting for a worker that never said hello)
    /// with `error`, now and for every later submission.
    mutating func markBroken(_ error: OffloadError, actions: inout [Action]) {
        if broken == nil { broken = error }
        let error = broken ?? error
        while let task = pending.popFirst() {
            guard task.started || task.sink.start() else { continue }
            accounting.fail(running: false)
            actions.append(.deliver(.failure(task.sink, error)))
        }
        for index in slots.indices where slots[index].phase != .ready {
            while let task = slots[index].inFlight.popFirst() {
                guard !task.cancelled else { continue }
                accounting.fail(running: true)
                actions.append(.deliver(.failure(task.sink, error)))
            }
        }
        if !readinessReported {
            readinessReported = true
            actions.append(.readiness(.failure(error)))
        }
    }

    /// Reports readiness once every worker said hello.
    mutating func reportReadinessIfReady(actions: inout [Action]) {
        guard !readinessReported, slots.allSatisfy({ $0.phase == .ready }) else { return }
        readinessReported = true
        actions.append(.readiness(.success(())))
        actions.append(.event(poolEvent(.poolStarted)))
    }

    /// Requests a spawn for every empty slot while the pool wants workers.
    mutating func spawnMissing(actions: inout [Action]) {
        guard broken == nil else { return }
        let wanted = lifecycle == .running || (lifecycle == .draining && hasWork)
        guard wanted else { return }
        for index in slots.indices where slots[index].phase == .empty && slots[index].closeAfterWrite == nil {
            slots[index].phase = .spawning
            actions.append(.spawn(slot: index))
        }
    }

    // MARK: - Internal mutation helpers for the worker-side events (ProcessPoolStateMachine+Workers.swift)

    mutating func withSlot<R>(_ index: Int, _ body: (inout SlotState) -> R) -> R { body(&slots[index]) }
    mutating func requeueFront(_ tasks: [PoolTask]) {
        for task in tasks.reversed() { pending.prepend(task) }
        accounting.requeue(tasks.count)
    }
    mutating func countFailure(running: Bool = true) { accounting.fail(running: running) }
    mutating func accountingComplete(_ count: Int) { accounting.complete(count) }
    mutating func countReplacement() { workersReplaced += 1 }
    mutating func addBusy(slot: Int, _ nanoseconds: UInt64) { busy[slot] &+= nanoseconds }
    mutating func scheduleMemoryCheck(after now: UInt64) {
        nextMemoryCheck = now &+ settings.memoryPollInterval
    }
    var nextMemoryCheckTime: UInt64 { nextMemoryCheck }
    mutating func finishLifecycleIfDone(actions: inout [Action]) { terminateIfDone(actions: &actions) }
}

/// A job (or batch of jobs) as the pool tracks it.
struct PoolTask {
    var id: UInt64 = 0
    let jobName: String
    let payload: [UInt8]
    /// `nil` for a single job; the number of jobs of a batch.
    let itemCount: Int?
    let isIdempotent: Bool
    /// Per-job time limit in nanoseconds.
    let timeout: UInt64?
    let sink: any TaskSink
    /// The description of the job (or of item `i` of a batch), built only when an error needs it.
    let describe: @Sendable (Int?) -> String
    /// Runs that ended with the worker dying (retries of idempotent jobs).
    var attempts = 0
    /// When it was submitted (monotonic nanoseconds): its queue wait is sampled for ``PoolReport``.
    var queuedAt: UInt64 = 0
    /// Where its jobs' own progress reports go, when a map watches it.
    var progress: ProgressRoute?
    /// The trace context of its span (``JobTracing``), sent to the worker with it.
    var traceContext: [String: String]?
    /// `sink.start()` succeeded: the task can no longer be withdrawn through its handle alone.
    var started = false
    /// The handle already ended as cancelled; what the worker still sends for it is dropped.
    var cancelled = false
    /// Batches: the first item without an outcome (a batch re-sent after a crash starts here).
    var nextItem = 0
    /// Batches: the encoded outputs of the successful items before `nextItem`, as the body of an `[Output]`.
    var outputs: [UInt8] = []
    /// Batches: the items before `nextItem` that failed.
    var failures: [Int: OffloadError] = [:]
    /// The expected run time it was sent to a worker with (``ProcessPoolStateMachine/shortEstimate(_:)``); `nil`
    /// when it was unknown or long. ``InFlightQueue`` sums these for the prefetch rule.
    var sentEstimate: Double?

    init(
        jobName: String,
        payload: [UInt8],
        itemCount: Int?,
        isIdempotent: Bool,
        timeout: UInt64?,
        sink: any TaskSink,
        describe: @escaping @Sendable (Int?) -> String
    ) {
        self.jobName = jobName
        self.payload = payload
        self.itemCount = itemCount
        self.isIdempotent = isIdempotent
        self.timeout = timeout
        self.sink = sink
        self.describe = describe
    }

    var isBatch: Bool { itemCount != nil }
    var isComplete: Bool { nextItem >= (itemCount ?? 1) }

    /// Queues the frames that hand this task to a worker: a watch request when a map follows its progress, its trace
    /// context when it is traced, and the run frame.
    func appendFrames(to outbox: inout FrameWriter) {
        if progress != nil { Message.watch(taskID: id).append(to: &outbox) }
        if let traceContext { Message.traceContext(taskID: id, traceContext).append(to: &outbox) }
        Message.appendRun(
            taskID: id,
            jobName: jobName,
            isBatch: itemCount != nil,
            firstItem: nextItem,
            job: payload,
            to: &outbox
        )
    }
}

extension Double {
    /// The pool's moving mean of job durations: each sample weighs a fifth; the first (`self` is `.nan`) is taken as is.
    fileprivate mutating func updateMean(with sample: Double) {
        self = isNaN ? sample : self * 0.8 + sample * 0.2
    }
}

/// Worker indices a dispatch sent to, in order, without allocating for the first (almost every dispatch touches one).
struct Touched {
    private var first: Int?
    private var more: [Int] = []

    mutating func insert(_ index: Int) {
        if first == nil {
            first = index
        } else if first != index, !more.contains(index) {
            more.append(index)
        }
    }

    func forEach(_ body: (Int) -> Void) {
        guard let first else { return }
        body(first)
        more.forEach(body)
    }
}

/// What the pool holds of one live worker process. The journal is shared memory the worker reports its progress in.
struct WorkerHandles: Sendable {
    var generation: Int
    var pid: Int32
    var pidfd: Int32
    var commandFD: Int32
    var resultFD: Int32
    var stderrFD: Int32
    var journal: WorkerJournal?
    /// The shared-memory rings, when this worker uses them (see ``ProcessPool/Transport``).
    var transport: SharedTransport?
    /// The parent's reading state of the reply ring, with `transport`.
    var replyState: RingReplyState?
}
