import DequeModule
import Glibc
import OffloadSystem
import OffloadWire
import Synchronization

/// The shared heart of a ``ProcessPool``: the state under one lock, the submit path (any thread) and the manager
/// (one thread, see ProcessPoolManager.swift). Kept apart from the public class so that the manager thread can
/// hold it while the user's `ProcessPool` is released (its `deinit` then starts a shutdown).
final class ProcessPoolCore: Sendable {
    let configuration: ProcessPool.Configuration
    let workerCount: Int
    let state: Mutex<PoolState>
    /// eventfd the manager polls; written (once per manager turn at most) by threads that need it to look again.
    let wakeFD: Int32
    /// Finished when the manager has reaped every worker and closed every descriptor.
    let terminated = TaskCompletion<Void>()
    let executablePath: String
    let taskTimeoutNanoseconds: UInt64?
    let prefetchWindowNanoseconds: Double

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
        self.workerCount = workers
        self.taskTimeoutNanoseconds = configuration.taskTimeout.map { UInt64(max(0, $0.nanosecondsClamped)) }
        self.prefetchWindowNanoseconds = Double(configuration.prefetchWindow.nanosecondsClamped)
        self.wakeFD = try systemCall { () throws(SystemCallError) in try Syscalls.eventFD() }
        self.state = Mutex(PoolState(workers: workers, maxPayload: configuration.maxFramePayload))
    }

    var poolName: String { configuration.name }

    // MARK: Submitting

    /// Queues a task and, when a worker is idle, sends it at once from the calling thread (no manager hop).
    func submit(
        jobName: String,
        isBatch: Bool,
        payload: [UInt8],
        isIdempotent: Bool,
        sink: any TaskSink,
        describe: @escaping @Sendable () -> String
    ) throws(OffloadError) {
        if payload.count + jobName.utf8.count + 2 > configuration.maxFramePayload {
            throw OffloadError(
                .encodingFailed,
                "the encoded job is \(payload.count) bytes, more than maxFramePayload (\(configuration.maxFramePayload));"
                    + " pass large inputs through a SharedBuffer",
                job: jobName
            )
        }
        let refusal: OffloadError? = state.withLock(self) { state in
            if let broken = state.broken { return broken }
            guard state.lifecycle == .running else { return OffloadError.poolShutDown(poolName) }
            let task = QueuedTask(
                id: state.nextTaskID,
                jobName: jobName,
                isBatch: isBatch,
                payload: payload,
                isIdempotent: isIdempotent,
                sink: sink,
                describe: describe
            )
            state.nextTaskID &+= 1
            state.pending.append(task)
            state.submitted += 1
            state.pendingCount += 1
            let touched = dispatch(&state, now: Syscalls.monotonicNanoseconds())
            var needManager = false
            for index in touched {
                if state.slots[index].inFlight.count == 1 {
                    // The worker was idle: write now, the latency-critical path.
                    if flush(&state, slot: index) != .drained { needManager = true }
                    if taskTimeoutNanoseconds != nil || configuration.memoryLimitBytes != nil { needManager = true }
                } else {
                    // The worker is busy: leave the frame for the manager, which coalesces many into one write.
                    needManager = true
                }
            }
            if needManager { wake(&state) }
            return nil
        }
        if let refusal { throw refusal }
    }

    /// Writes the eventfd unless a wake-up is already on its way. Call under the lock.
    func wake(_ state: inout PoolState) {
        guard !state.wakeSignalled, state.lifecycle != .terminated else { return }
        state.wakeSignalled = true
        Syscalls.signalEventFD(wakeFD)
    }

    /// Hands queued tasks to ready workers, each to the worker holding the fewest tasks (so four long tasks on two
    /// workers go two and two, even when prefetch would let one worker take all four), up to each worker's prefetch
    /// limit. Returns the slots that received frames. Call under the lock.
    func dispatch(_ state: inout PoolState, now: UInt64) -> [Int] {
        guard state.broken == nil, !state.pending.isEmpty else { return [] }
        var touched: [Int] = []
        while !state.pending.isEmpty {
            var chosen: Int?
            for index in state.slots.indices {
                let slot = state.slots[index]
                guard slot.isReady else { continue }
                if let limit = configuration.maxTasksPerWorker, slot.sent >= limit { continue }
                let capacity = slot.prefetchLimit(
                    window: prefetchWindowNanoseconds,
                    maxPrefetch: configuration.maxPrefetch
                )
                guard slot.inFlight.count < capacity else { continue }
                if let best = chosen, state.slots[best].inFlight.count <= slot.inFlight.count { continue }
                chosen = index
            }
            guard let index = chosen, var task = popStartable(&state) else { break }
            task.alreadyStarted = true
            state.pendingCount -= 1
            state.running += 1
            if state.slots[index].inFlight.isEmpty { state.slots[index].headStarted = now }
            Message.run(taskID: task.id, jobName: task.jobName, isBatch: task.isBatch, job: task.payload)
                .append(to: &state.slots[index].writer)
            state.slots[index].inFlight.append(task)
            state.slots[index].sent += 1
            if !touched.contains(index) { touched.append(index) }
        }
        return touched
    }

    /// The next queued task that is still wanted: cancelled ones are dropped (the canceller already counted them).
    private func popStartable(_ state: inout PoolState) -> QueuedTask? {
        while let task = state.pending.popFirst() {
            if task.alreadyStarted || task.sink.start() { return task }
        }
        return nil
    }

    /// Flushes a worker's command pipe. On a write error the worker is treated as dead once its pidfd reports it.
    @discardableResult
    func flush(_ state: inout PoolState, slot index: Int) -> FrameWriter.FlushOutcome {
        guard state.slots[index].commandFD >= 0, !state.slots[index].commandBroken else { return .failed(EPIPE) }
        let outcome = state.slots[index].writer.flush(to: state.slots[index].commandFD)
        if case .failed = outcome { state.slots[index].commandBroken = true }
        return outcome
    }

    // MARK: Cancelling and shutting down

    /// Withdraws a task that no worker has started; see ``TaskCanceller``.
    func cancelPending(_ task: any PendingTask) -> Bool {
        // The cell changes state first (outside the pool lock); the counters move before any waiter resumes; the
        // dispatcher drops the dead queue entry when it meets it.
        task.cancelIfPending { withdrawn in
            guard withdrawn else { return }
            state.withLock(self) { state in
                state.pendingCount -= 1
                state.cancelled += 1
            }
        }
    }

    /// Starts shutting down (idempotent). With `cancelPending`, queued tasks that no worker has are cancelled.
    func requestShutdown(cancelPending: Bool) {
        let toCancel: [QueuedTask] = state.withLock(self) { state in
            if state.lifecycle == .running { state.lifecycle = .draining }
            wake(&state)
            return cancelPending ? state.pending.filter { !$0.alreadyStarted } : []
        }
        for task in toCancel {
            _ = task.sink.cancelIfPending { withdrawn in
                guard withdrawn else { return }
                state.withLock(self) { state in
                    state.pendingCount -= 1
                    state.cancelled += 1
                }
            }
        }
    }

    var stats: PoolStats { state.withLock(self) { $0.stats } }

    var workerPIDs: [Int32] {
        state.withLock(self) { state in state.slots.filter { $0.isLive }.map { $0.pid } }
    }
}

extension ProcessPoolCore: TaskCanceller {}
