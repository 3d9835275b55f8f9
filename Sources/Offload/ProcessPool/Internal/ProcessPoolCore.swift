import OffloadCore
import OffloadSystem
import OffloadWire
import Synchronization

/// The shared heart of a ``ProcessPool``: the state machine under one lock, the submit and cancel paths (any
/// thread) and the manager (one thread, ProcessPoolManager.swift). Whoever changes the state applies the actions it
/// returned after releasing the lock; spawning and closing descriptors are left to the manager thread (a worker's
/// parent-death signal is tied to the thread that spawned it, and only the manager polls the descriptors), and so
/// are signals (a pidfd is only certain to be the worker's own on the thread that closes it).
/// Kept apart from the public class so that the manager thread can hold it while the user's `ProcessPool` is
/// released (its `deinit` then starts a shutdown).
final class ProcessPoolCore: Sendable {
    let configuration: ProcessPool.Configuration
    let workerCount: Int
    let state: Mutex<ProcessPoolStateMachine>
    /// Actions only the manager may perform (spawn, close), handed over by other threads.
    let deferred = Mutex<[ProcessPoolStateMachine.Action]>([])
    /// eventfd the manager polls; written by threads that need it to look again.
    let wakeFD: Int32
    private let wakeOpen = Mutex(true)
    /// Finished when the manager has reaped every worker and closed every descriptor.
    let terminated = TaskCompletion<Void>()
    /// Finished when every worker said hello, or failed with the reason workers cannot start.
    let ready = TaskCompletion<Void>()
    let executablePath: String
    let defaultTimeout: UInt64?
    /// What ``PoolObservation`` is told: bytes over the pipes, and when counters were last reported.
    let observed = ProcessPoolObservedCounters()
    /// The longest busy-wait of a worker and of the manager on a shared-memory ring (``SpinPolicy``).
    let spin: SpinPolicy
    /// The fork server's client with ``ProcessPool/StartMethod/forkServer`` (used by the manager thread).
    let forkServer: ForkServerClient?
    /// Who reads the shared-memory reply rings: the manager, or a caller waiting for a result due soon.
    let replyDrain = ReplyDrain()
    /// How long a waiting caller reads the rings itself before it suspends (``SpinBudget``, maximum the manager's).
    let waitSpin: Mutex<SpinBudget>
    /// When a waiting caller last gave up reading the rings (monotonic nanoseconds, 0 for none): the next delivery
    /// tells ``waitSpin`` how much longer it would have had to wait.
    let waitGaveUpAt = Atomic<UInt64>(0)
    /// Waits that ended after their caller read replies from the rings itself (for tests).
    let waitsServedBySpinning = Atomic<Int>(0)

    init(configuration: ProcessPool.Configuration) throws(OffloadError) {
        try configuration.validate()
        let workers = try WorkerCount.resolve(configuration.workers)
        if let executable = configuration.executable {
            if let code = Syscalls.executableError(executable) {
                throw OffloadError.spawnFailed(executable, errno: code)
            }
            self.executablePath = executable
        } else {
            self.executablePath = "/proc/self/exe"
        }
        self.configuration = configuration
        self.forkServer = configuration.startMethod == .forkServer ? ForkServerClient() : nil
        self.workerCount = workers
        self.spin = SpinPolicy(workers: workers, cores: Syscalls.availableCPUCount())
        self.waitSpin = Mutex(SpinBudget(maximum: configuration.usesSharedMemory ? spin.manager : 0))
        self.defaultTimeout = configuration.taskTimeout.map { UInt64(max(1, $0.nanosecondsClamped)) }
        self.wakeFD = try systemCall { () throws(SystemCallError) in try Syscalls.eventFD() }
        let settings = ProcessPoolStateMachine.Settings(
            workers: workers,
            maxTasksPerWorker: configuration.maxTasksPerWorker,
            maxPrefetch: configuration.maxPrefetch,
            prefetchWindow: Double(configuration.prefetchWindow.nanosecondsClamped),
            retries: configuration.retries,
            startTimeout: UInt64(configuration.startTimeout.nanosecondsClamped),
            shutdownGrace: UInt64(max(0, configuration.shutdownGracePeriod.nanosecondsClamped)),
            memoryLimit: configuration.memoryLimitBytes,
            memoryPollInterval: UInt64(configuration.memoryPollInterval.nanosecondsClamped),
            poolName: configuration.name,
            executableName: configuration.executable ?? "this executable"
        )
        var machine = ProcessPoolStateMachine(settings: settings)
        var actions: [ProcessPoolStateMachine.Action] = []
        machine.spawnMissing(actions: &actions)
        self.state = Mutex(machine)
        deferred.withLock(self) { $0 = actions }
    }

    // MARK: Submitting

    /// Queues a task; when a worker can take it, its frame is written from the calling thread (no manager hop).
    func submit(_ task: PoolTask) throws(OffloadError) {
        if task.payload.count + task.jobName.utf8.count + 8 > configuration.maxFramePayload {
            throw OffloadError(
                .encodingFailed,
                "the encoded job is \(task.payload.count) bytes, more than maxFramePayload "
                    + "(\(configuration.maxFramePayload)); pass large inputs through a SharedBuffer",
                job: task.describe(nil)
            )
        }
        var actions: [ProcessPoolStateMachine.Action] = []
        let result: Result<UInt64, OffloadError> = state.withLock(self) { machine in
            do throws(OffloadError) {
                return .success(try machine.submit(task, now: Syscalls.monotonicNanoseconds(), actions: &actions))
            } catch {
                return .failure(error)
            }
        }
        if case .failure(let error) = result { throw error }
        apply(actions, onManager: false)
    }

    func timeout(for options: JobOptions) throws(OffloadError) -> UInt64? {
        guard let timeout = options.timeout else { return defaultTimeout }
        guard timeout > .zero else {
            throw OffloadError.invalidArgument("JobOptions.timeout must be positive, got \(timeout)")
        }
        return UInt64(timeout.nanosecondsClamped)
    }

    // MARK: Applying actions

    /// Performs `actions` outside the lock; what they report back may produce more actions, performed in turn.
    func apply(_ initial: [ProcessPoolStateMachine.Action], onManager: Bool) {
        var queue = initial
        var wakeManager = false
        var handover: [ProcessPoolStateMachine.Action] = []
        var finishers: [@Sendable () -> Void] = []
        var decoded = (completed: 0, failed: 0)
        var events: [PoolEvent] = []
        var delivered = 0
        while !queue.isEmpty {
            let batch = queue
            queue = []
            for action in batch {
                switch action {
                case .write(let slot, let generation, let fd, let ring, let bytes):
                    let (written, failed) =
                        if let ring { bytes.withUnsafeBytes { ring.sendCommands($0) } } else {
                            ProcessPoolCore.write(fd, bytes)
                        }
                    observed.sent(written)
                    state.withLock(self) { machine in
                        machine.wrote(
                            slot: slot,
                            generation: generation,
                            bytes: bytes,
                            written: written,
                            failed: failed,
                            actions: &queue
                        )
                    }
                case .spawn, .close, .measureMemory, .signal:
                    // Only the manager closes a worker's descriptors, so only it may signal through a pidfd: from
                    // another thread the number could already belong to the replacement worker.
                    if onManager { performOnManager(action, into: &queue) } else { handover.append(action) }
                case .deliver(let delivery):
                    delivered += 1
                    switch delivery {
                    case .value(let sink, let output, let context):
                        let (ok, finish) = sink.decodeValue(
                            output,
                            job: context.describe(nil),
                            workerPID: context.workerPID,
                            runDuration: context.runDuration
                        )
                        if ok { decoded.completed += 1 } else { decoded.failed += 1 }
                        finishers.append(finish)
                    case .batch(let sink, let outputs, let failures, let count, let context):
                        let describe = context.describe
                        let (ok, finish) = sink.decodeBatch(
                            outputs: outputs,
                            failures: failures,
                            count: count,
                            describe: { describe($0) },
                            workerPID: context.workerPID,
                            runDuration: context.runDuration
                        )
                        if ok { decoded.completed += 1 } else { decoded.failed += 1 }
                        finishers.append(finish)
                    case .failure(let sink, let error):
                        finishers.append { sink.fail(error) }
                    case .cancelled(let sink):
                        finishers.append { sink.finishCancelled() }
                    }
                case .readiness(let result):
                    ready.finish(result.mapError { $0 as any Error })
                case .wakeManager:
                    wakeManager = true
                case .event(let event):
                    events.append(event)
                case .progress(let route, let item, let fraction):
                    finishers.append { route.sink(item: item).report(fractionCompleted: fraction) }
                case .terminate:
                    wakeManager = true  // the manager closes its descriptors, then finishes `terminated`
                }
            }
        }
        if delivered > 0 { noteDeliveryAfterWaitGaveUp() }
        var idle = false
        if decoded.completed + decoded.failed > 0 {
            idle = state.withLock(self) { machine in
                machine.resultsDecoded(completed: decoded.completed, failed: decoded.failed)
                return !machine.hasWork
            }
        }
        for finish in finishers { finish() }
        if PoolObservation.isActive, !events.isEmpty || (delivered > 0 && (idle || observed.isDue())) {
            report(events)
        }
        if !handover.isEmpty {
            deferred.withLock(self) { $0.append(contentsOf: handover) }
            wakeManager = true
        }
        if wakeManager, !onManager { wake() }
    }

    /// Tells the observers about `events` and the pool's counters (at most every 100 ms for counters alone).
    func report(_ events: [PoolEvent]) {
        let report = state.withLock(self) { machine in
            machine.takeReport(bytesSent: observed.bytesSent, bytesReceived: observed.bytesReceived)
        }
        observed.reported()
        for event in events { PoolObservation.emit(event) }
        PoolObservation.emit(report)
    }

    /// The last report and the shutdown event, from the manager as it ends (before ``terminated`` fires).
    func reportShutdown() {
        let event = state.withLock(self) { $0.poolEvent(.poolShutDown) }
        report([event])
    }

    /// Writes as much of `bytes` as the non-blocking pipe takes. Returns the count and whether the pipe is broken.
    static func write(_ fd: Int32, _ bytes: [UInt8]) -> (Int, Bool) {
        var written = 0
        while written < bytes.count {
            let outcome = bytes.withUnsafeBytes { Syscalls.write(fd, UnsafeRawBufferPointer(rebasing: $0[written...])) }
            switch outcome {
            case .transferred(let count): written += count
            case .wouldBlock: return (written, false)
            case .endOfFile, .failed: return (written, true)
            }
        }
        return (written, false)
    }

    // MARK: Cancelling and shutting down

    /// Withdraws a task that no worker has; see ``TaskCanceller``.
    func cancelPending(_ task: any PendingTask) -> Bool {
        // The cell changes state first (outside the pool lock); the counters move before any waiter resumes; the
        // dispatcher drops the dead queue entry when it meets it.
        task.cancelIfPending { withdrawn in
            guard withdrawn else { return }
            state.withLock(self) { $0.pendingWithdrawn() }
        }
    }

    /// Cancels a task wherever it is: withdrawn from the queue; withdrawn from a worker's queue (its cancel flag is
    /// raised in the worker's journal, so the worker skips it); or, running, left to finish or stopped per `mode`.
    func cancel(_ task: any PendingTask, mode: CancellationMode?) -> Bool {
        if cancelPending(task) { return true }
        let mode = mode ?? configuration.cancellationMode
        var actions: [ProcessPoolStateMachine.Action] = []
        let cancelled = state.withLock(self) { machine -> Bool in
            guard let found = machine.locateInFlight({ $0.cell === (task as AnyObject) }) else { return false }
            // Raising the flag and reading the worker's progress are memory operations on the shared journal. A
            // worker still being spawned has no journal and was sent nothing: the machine withdraws the task.
            let handles = machine.slots[found.slot].handles
            let started = handles?.journal?.cancel(taskID: found.taskID) ?? (handles != nil && found.isHead)
            return machine.cancelInFlight(
                slot: found.slot,
                taskID: found.taskID,
                mode: mode,
                started: started,
                actions: &actions
            )
        }
        apply(actions, onManager: false)
        return cancelled
    }

    /// Starts shutting down (idempotent). With `cancelPending`, queued and prefetched tasks that no worker has begun
    /// are cancelled; running ones finish.
    func requestShutdown(cancelPending: Bool) {
        var actions: [ProcessPoolStateMachine.Action] = []
        let withdraw = state.withLock(self) { machine in
            machine.shutdown(cancelPending: cancelPending, now: Syscalls.monotonicNanoseconds(), actions: &actions)
        }
        for sink in withdraw {
            _ = sink.cancelIfPending { withdrawn in
                guard withdrawn else { return }
                state.withLock(self) { $0.pendingWithdrawn() }
            }
        }
        if cancelPending {
            state.withLock(self) { machine in
                for (slot, taskID) in machine.inFlightTasks() {
                    guard let journal = machine.slots[slot].handles?.journal, !journal.cancel(taskID: taskID) else {
                        continue
                    }
                    _ = machine.cancelInFlight(
                        slot: slot,
                        taskID: taskID,
                        mode: .finishRunning,
                        started: false,
                        actions: &actions
                    )
                }
                machine.advanceLifecycle(now: Syscalls.monotonicNanoseconds(), actions: &actions)
            }
        }
        apply(actions, onManager: false)
        wake()
    }

    /// Wakes the manager. The eventfd has its own small lock (not the pool's) so that a late wake-up can never write
    /// to the descriptor after the manager closed it, or to another file that reused its number.
    func wake() {
        wakeOpen.withLock(self) { open in
            if open { Syscalls.signalEventFD(wakeFD) }
        }
    }

    /// Called by the manager as it ends.
    func closeWake() {
        wakeOpen.withLock(self) { open in
            open = false
            Syscalls.close(wakeFD)
        }
    }

    var stats: PoolStats { state.withLock(self) { $0.stats } }

    var workerPIDs: [Int32] {
        state.withLock(self) { machine in machine.slots.compactMap { $0.isLive ? $0.handles?.pid : nil } }
    }
}

extension ProcessPoolCore: TaskCanceller {}
