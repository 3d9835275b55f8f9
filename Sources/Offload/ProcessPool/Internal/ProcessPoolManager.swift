import DequeModule
import Glibc
import OffloadSystem
import OffloadWire
import Synchronization

/// The manager: one thread per pool that waits on every worker's result pipe, stderr pipe and pidfd plus the
/// wake-up eventfd in a single `poll` (CPython's `_ExecutorManagerThread`). It never blocks on a write: command
/// pipes are non-blocking and polled for `POLLOUT` while bytes wait, so a worker blocked writing a large result is
/// always read. All state changes happen under the pool lock; decoding results and resuming callers happen outside.
extension ProcessPoolCore {
    /// An outcome to hand to a caller once the lock is released.
    enum Delivery {
        case success(any TaskSink, [UInt8])
        case failure(any TaskSink, OffloadError)
    }

    private enum PollTarget {
        case wake
        case result(Int)
        case stderr(Int)
        case command(Int)
        case pidfd(Int)
    }

    func runManager() {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            spawnMissingWorkers()
            var targets: [PollTarget] = []
            var entries: [pollfd] = []
            let plan: (timeout: Int32, finished: Bool) = state.withLock(self) { state in
                let now = Syscalls.monotonicNanoseconds()
                if case .stopping = state.lifecycle, !state.slots.contains(where: \.isLive) {
                    state.lifecycle = .terminated
                    Syscalls.close(wakeFD)
                    return (0, true)
                }
                entries.append(pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0))
                targets.append(.wake)
                for index in state.slots.indices where state.slots[index].isLive {
                    let slot = state.slots[index]
                    if !slot.resultClosed, slot.resultFD >= 0 {
                        entries.append(pollfd(fd: slot.resultFD, events: Int16(POLLIN), revents: 0))
                        targets.append(.result(index))
                    }
                    if slot.stderrFD >= 0 {
                        entries.append(pollfd(fd: slot.stderrFD, events: Int16(POLLIN), revents: 0))
                        targets.append(.stderr(index))
                    }
                    if slot.writer.hasPendingBytes, !slot.commandBroken, slot.commandFD >= 0 {
                        entries.append(pollfd(fd: slot.commandFD, events: Int16(POLLOUT), revents: 0))
                        targets.append(.command(index))
                    }
                    if slot.pidfd >= 0 {
                        entries.append(pollfd(fd: slot.pidfd, events: Int16(POLLIN), revents: 0))
                        targets.append(.pidfd(index))
                    }
                }
                return (pollTimeout(state, now: now), false)
            }
            if plan.finished { break }
            _ = Syscalls.poll(&entries, timeoutMilliseconds: plan.timeout)

            var deliveries: [Delivery] = []
            state.withLock(self) { state in
                var now = Syscalls.monotonicNanoseconds()
                for (position, entry) in entries.enumerated() where entry.revents != 0 {
                    switch targets[position] {
                    case .wake:
                        Syscalls.drainEventFD(wakeFD)
                        state.wakeSignalled = false
                    case .result(let index):
                        readResults(&state, slot: index, buffer: &buffer, deliveries: &deliveries, now: now)
                    case .stderr(let index):
                        readStderr(&state, slot: index, buffer: &buffer)
                    case .command(let index):
                        flush(&state, slot: index)
                    case .pidfd(let index):
                        handleExit(&state, slot: index, termination: nil, buffer: &buffer, deliveries: &deliveries)
                    }
                }
                now = Syscalls.monotonicNanoseconds()
                checkDeadlines(&state, now: now)
                _ = dispatch(&state, now: now)
                advanceLifecycle(&state, now: now)
                retireRecycledWorkers(&state)
                for index in state.slots.indices where state.slots[index].writer.hasPendingBytes {
                    flush(&state, slot: index)
                }
            }
            deliver(deliveries)
        }
        terminated.finish(.success(()))
    }

    /// Decodes results outside the lock, counts them, then resumes the callers.
    func deliver(_ deliveries: [Delivery]) {
        guard !deliveries.isEmpty else { return }
        var finishers: [@Sendable () -> Void] = []
        finishers.reserveCapacity(deliveries.count)
        var succeeded = 0
        var undecodable = 0
        for delivery in deliveries {
            switch delivery {
            case .success(let sink, let payload):
                let (ok, finish) = sink.decode(payload)
                if ok { succeeded += 1 } else { undecodable += 1 }
                finishers.append(finish)
            case .failure(let sink, let error):
                finishers.append { sink.fail(error) }
            }
        }
        if succeeded + undecodable > 0 {
            state.withLock(self) { state in
                state.running -= succeeded + undecodable
                state.completed += succeeded
                state.failed += undecodable
            }
        }
        for finish in finishers { finish() }
    }

    // MARK: Reading

    private func readResults(
        _ state: inout PoolState,
        slot index: Int,
        buffer: inout [UInt8],
        deliveries: inout [Delivery],
        now: UInt64
    ) {
        while !state.slots[index].resultClosed, state.slots[index].resultFD >= 0 {
            let fd = state.slots[index].resultFD
            let outcome = buffer.withUnsafeMutableBytes { Syscalls.read(fd, into: $0) }
            switch outcome {
            case .transferred(let count):
                buffer.withUnsafeBytes {
                    state.slots[index].reader.append(UnsafeRawBufferPointer(rebasing: $0[..<count]))
                }
                do {
                    while let frame = try state.slots[index].reader.next() {
                        try handle(try Message(frame), state: &state, slot: index, deliveries: &deliveries, now: now)
                    }
                } catch {
                    state.slots[index].resultClosed = true
                    kill(&state, slot: index, reason: .protocolViolation(error))
                    return
                }
                if count < buffer.count { return }
            case .wouldBlock:
                return
            case .endOfFile, .failed:
                state.slots[index].resultClosed = true
                if state.slots[index].pidfd < 0 {
                    // No pidfd (old kernel): the closed pipe is our only exit notification; reap now.
                    let slot = state.slots[index]
                    let termination = Syscalls.reap(pid: slot.pid, pidfd: -1, noHang: false).map(OffloadError.Termination.init)
                    handleExit(&state, slot: index, termination: termination, buffer: &buffer, deliveries: &deliveries)
                }
                return
            }
        }
    }

    private func handle(
        _ message: Message,
        state: inout PoolState,
        slot index: Int,
        deliveries: inout [Delivery],
        now: UInt64
    ) throws(OffloadError) {
        switch message {
        case .hello(let hello):
            guard case .starting = state.slots[index].phase else {
                throw OffloadError(.protocolViolation, "worker said hello twice")
            }
            guard hello.formatVersion == JobCodec.formatVersion else {
                markBroken(
                    &state,
                    OffloadError(
                        .protocolViolation,
                        "worker speaks wire format \(hello.formatVersion), the parent \(JobCodec.formatVersion): "
                            + "rebuild the worker executable with the same Offload version",
                        workerPID: state.slots[index].pid
                    ),
                    deliveries: &deliveries
                )
                return
            }
            if let failure = hello.initializerFailure {
                markBroken(
                    &state,
                    OffloadError.remote(failure, job: configuration.initializer ?? "initializer").withWorkerPID(hello.pid),
                    deliveries: &deliveries
                )
                return
            }
            state.slots[index].phase = .ready
        case .result(let taskID, _, let nanoseconds, let output):
            let task = try popHead(&state, slot: index, taskID: taskID, now: now)
            state.busyNanoseconds[index] &+= nanoseconds
            state.slots[index].recordRun(nanoseconds: nanoseconds)
            deliveries.append(.success(task.sink, output))
        case .failure(let taskID, let failure):
            let task = try popHead(&state, slot: index, taskID: taskID, now: now)
            state.running -= 1
            state.failed += 1
            let error = OffloadError.remote(failure, job: task.describe()).withWorkerPID(state.slots[index].pid)
            deliveries.append(.failure(task.sink, error))
        case .run, .shutdown:
            throw OffloadError(.protocolViolation, "worker sent a frame meant for workers")
        }
    }

    private func popHead(
        _ state: inout PoolState,
        slot index: Int,
        taskID: UInt64,
        now: UInt64
    ) throws(OffloadError)
        -> QueuedTask
    {
        guard let head = state.slots[index].inFlight.first, head.id == taskID else {
            throw OffloadError(.protocolViolation, "worker answered task \(taskID), which it was not running")
        }
        state.slots[index].inFlight.removeFirst()
        state.slots[index].headStarted = now
        return head
    }

    private func readStderr(_ state: inout PoolState, slot index: Int, buffer: inout [UInt8]) {
        while state.slots[index].stderrFD >= 0 {
            let fd = state.slots[index].stderrFD
            switch buffer.withUnsafeMutableBytes({ Syscalls.read(fd, into: $0) }) {
            case .transferred(let count):
                buffer.withUnsafeBytes {
                    state.slots[index].appendStderr(
                        UnsafeRawBufferPointer(rebasing: $0[..<count]),
                        keep: configuration.stderrLinesKept,
                        forward: configuration.forwardWorkerStderr
                    )
                }
            case .wouldBlock:
                return
            case .endOfFile, .failed:
                Syscalls.close(fd)
                state.slots[index].stderrFD = -1
                state.slots[index].pushStderrLine(keep: configuration.stderrLinesKept)
                return
            }
        }
    }

    // MARK: Worker exits

    /// Reaps a worker that exited and decides what its tasks become: the one it was running fails (or is retried),
    /// the ones queued behind it go back to the front of the queue, and the slot is left empty for a replacement.
    private func handleExit(
        _ state: inout PoolState,
        slot index: Int,
        termination known: OffloadError.Termination?,
        buffer: inout [UInt8],
        deliveries: inout [Delivery]
    ) {
        let slot = state.slots[index]
        guard slot.isLive else { return }
        guard
            let termination = known
                ?? Syscalls.reap(pid: slot.pid, pidfd: slot.pidfd, noHang: true).map(OffloadError.Termination.init)
        else { return }
        // Everything the worker wrote before dying is in the pipes: take results first, then the last stderr lines.
        let now = Syscalls.monotonicNanoseconds()
        readResults(&state, slot: index, buffer: &buffer, deliveries: &deliveries, now: now)
        readStderr(&state, slot: index, buffer: &buffer)
        state.slots[index].pushStderrLine(keep: configuration.stderrLinesKept)

        var dead = state.slots[index]
        let stderr = dead.stderrSummary(keep: configuration.stderrLinesKept)
        let stopping: Bool
        if case .stopping = state.lifecycle { stopping = true } else { stopping = false }
        var queue = dead.inFlight
        dead.inFlight = []
        dead.closeDescriptors()

        if case .starting = dead.phase {
            if !stopping, state.broken == nil {
                let error: OffloadError
                switch (dead.killReason, termination) {
                case (.startTimeout, _), (_, .exited):
                    error = .entryPointMissing(
                        executable: executablePath == "/proc/self/exe" ? "this executable" : executablePath,
                        pid: dead.pid,
                        termination: dead.killReason == nil ? termination : nil,
                        stderr: stderr
                    )
                case (_, .signaled):
                    error = .workerStartCrashed(
                        executable: executablePath,
                        pid: dead.pid,
                        termination: termination,
                        stderr: stderr
                    )
                }
                markBroken(&state, error, deliveries: &deliveries)
            }
        } else if let head = queue.popFirst() {
            let error = taskError(head, slot: dead, termination: termination, stderr: stderr)
            let retryable = error.code == OffloadError.Code.workerCrashed || error.code == .memoryLimitExceeded
            if retryable, head.isIdempotent, head.attempts < configuration.retries, state.broken == nil {
                var again = head
                again.attempts += 1
                queue.prepend(again)
            } else {
                state.running -= 1
                state.failed += 1
                deliveries.append(.failure(head.sink, error))
            }
        }
        // Tasks queued behind the one that was running never started: back to the front of the queue, in order.
        for task in queue.reversed() { state.pending.prepend(task) }
        state.running -= queue.count
        state.pendingCount += queue.count
        dead.reset(maxPayload: configuration.maxFramePayload)
        state.slots[index] = dead
        if let broken = state.broken, !queue.isEmpty { failPending(&state, broken, deliveries: &deliveries) }
    }

    private func taskError(
        _ task: QueuedTask,
        slot: WorkerSlot,
        termination: OffloadError.Termination,
        stderr: [String]
    ) -> OffloadError {
        let job = task.describe()
        switch slot.killReason {
        case .taskTimeout(let timeout):
            return .taskTimedOut(job: job, pid: slot.pid, timeout: timeout, termination: termination, stderr: stderr)
        case .memory(let resident, let limit):
            return .memoryLimitExceeded(
                job: job,
                pid: slot.pid,
                resident: resident,
                limit: limit,
                termination: termination,
                stderr: stderr
            )
        case .protocolViolation(let violation):
            return OffloadError(
                violation.code,
                violation.message,
                workerPID: slot.pid,
                job: job,
                termination: termination,
                workerStderr: stderr
            )
        case .startTimeout, .shutdown, .none:
            return .workerCrashed(job: job, pid: slot.pid, termination: termination, stderr: stderr)
        }
    }

    /// Workers cannot start: fail everything queued now and everything submitted later with `error`.
    private func markBroken(_ state: inout PoolState, _ error: OffloadError, deliveries: inout [Delivery]) {
        if state.broken == nil { state.broken = error }
        failPending(&state, state.broken ?? error, deliveries: &deliveries)
    }

    private func failPending(_ state: inout PoolState, _ error: OffloadError, deliveries: inout [Delivery]) {
        while let task = state.pending.popFirst() {
            // A cancelled task was counted by its canceller; everything else moves pending → failed.
            guard task.alreadyStarted || task.sink.start() else { continue }
            state.pendingCount -= 1
            state.failed += 1
            deliveries.append(.failure(task.sink, error))
        }
    }

    // MARK: Deadlines and lifecycle

    private func kill(_ state: inout PoolState, slot index: Int, reason: WorkerSlot.KillReason) {
        guard state.slots[index].isLive else { return }
        if state.slots[index].killReason == nil { state.slots[index].killReason = reason }
        Syscalls.signal(pid: state.slots[index].pid, pidfd: state.slots[index].pidfd, SIGKILL)
    }

    private func checkDeadlines(_ state: inout PoolState, now: UInt64) {
        var checkMemory = false
        if configuration.memoryLimitBytes != nil, now >= state.nextMemoryCheck {
            checkMemory = true
            state.nextMemoryCheck = now + UInt64(configuration.memoryPollInterval.nanosecondsClamped)
        }
        for index in state.slots.indices {
            let slot = state.slots[index]
            guard slot.killReason == nil else { continue }
            switch slot.phase {
            case .starting(let deadline) where now >= deadline:
                kill(&state, slot: index, reason: .startTimeout(configuration.startTimeout))
            case .ready where !slot.inFlight.isEmpty:
                if let timeout = taskTimeoutNanoseconds, now &- slot.headStarted >= timeout,
                    let duration = configuration.taskTimeout
                {
                    kill(&state, slot: index, reason: .taskTimeout(duration))
                } else if checkMemory, let limit = configuration.memoryLimitBytes,
                    let resident = Syscalls.residentBytes(of: slot.pid), resident > limit
                {
                    kill(&state, slot: index, reason: .memory(residentBytes: resident, limit: limit))
                }
            default:
                break
            }
        }
    }

    /// draining → stopping once no work is left; then the SIGTERM and SIGKILL escalation at each deadline.
    private func advanceLifecycle(_ state: inout PoolState, now: UInt64) {
        let grace = UInt64(max(0, configuration.shutdownGracePeriod.nanosecondsClamped))
        switch state.lifecycle {
        case .running, .terminated:
            return
        case .draining:
            // Cancelled tasks stay in the queue until dispatch meets them; they are not work to wait for.
            state.pending.removeAll { !$0.alreadyStarted && $0.sink.isCancelled }
            guard !state.hasWork else { return }
            for index in state.slots.indices where state.slots[index].isLive {
                if state.slots[index].killReason == nil { state.slots[index].killReason = .shutdown }
                if state.slots[index].phase != .retiring {
                    Message.shutdown.append(to: &state.slots[index].writer)
                    state.slots[index].phase = .retiring
                }
            }
            state.lifecycle = .stopping(stage: 0, deadline: now &+ grace)
        case .stopping(let stage, let deadline):
            guard now >= deadline, stage < 2 else { return }
            for slot in state.slots where slot.isLive {
                Syscalls.signal(pid: slot.pid, pidfd: slot.pidfd, stage == 0 ? SIGTERM : SIGKILL)
            }
            state.lifecycle = .stopping(stage: stage + 1, deadline: stage == 0 ? now &+ grace : UInt64.max)
        }
    }

    /// Workers that ran `maxTasksPerWorker` tasks and finished them are asked to exit; they are replaced on exit.
    private func retireRecycledWorkers(_ state: inout PoolState) {
        guard let limit = configuration.maxTasksPerWorker, state.lifecycle == .running else { return }
        for index in state.slots.indices {
            let slot = state.slots[index]
            guard slot.phase == .ready, slot.sent >= limit, slot.inFlight.isEmpty else { continue }
            Message.shutdown.append(to: &state.slots[index].writer)
            state.slots[index].phase = .retiring
        }
    }

    private func pollTimeout(_ state: PoolState, now: UInt64) -> Int32 {
        var earliest = UInt64.max
        for slot in state.slots where slot.isLive && slot.killReason == nil {
            switch slot.phase {
            case .starting(let deadline):
                earliest = min(earliest, deadline)
            case .ready where !slot.inFlight.isEmpty:
                if let timeout = taskTimeoutNanoseconds { earliest = min(earliest, slot.headStarted &+ timeout) }
                if configuration.memoryLimitBytes != nil { earliest = min(earliest, state.nextMemoryCheck) }
            default:
                break
            }
        }
        if case .stopping(_, let deadline) = state.lifecycle { earliest = min(earliest, deadline) }
        guard earliest != UInt64.max else { return -1 }
        guard earliest > now else { return 0 }
        let milliseconds = (earliest - now + 999_999) / 1_000_000
        return Int32(min(milliseconds, 60_000))
    }

    // MARK: Spawning

    private func spawnMissingWorkers() {
        let indices: [Int] = state.withLock(self) { state in
            guard state.broken == nil else { return [] }
            let wanted = state.lifecycle == .running || (state.lifecycle == .draining && state.hasWork)
            guard wanted else { return [] }
            return state.slots.indices.filter { state.slots[$0].phase == .empty }
        }
        for index in indices {
            var deliveries: [Delivery] = []
            do {
                let worker = try WorkerSpawner.spawn(configuration: configuration, executable: executablePath)
                let deadline = Syscalls.monotonicNanoseconds() &+ UInt64(configuration.startTimeout.nanosecondsClamped)
                state.withLock(self) { state in
                    var slot = state.slots[index]
                    if slot.generation > 0 { state.workersReplaced += 1 }
                    slot.generation += 1
                    slot.pid = worker.pid
                    slot.pidfd = worker.pidfd
                    slot.commandFD = worker.commandFD
                    slot.resultFD = worker.resultFD
                    slot.stderrFD = worker.stderrFD
                    slot.phase = .starting(deadline: deadline)
                    state.slots[index] = slot
                }
            } catch {
                state.withLock(self) { state in markBroken(&state, error, deliveries: &deliveries) }
            }
            deliver(deliveries)
        }
    }
}
