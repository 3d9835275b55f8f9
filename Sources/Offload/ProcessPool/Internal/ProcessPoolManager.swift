import OffloadCore
import OffloadSystem
import OffloadWire
import Synchronization

/// The manager: one thread per pool that waits on every worker's result pipe, stderr pipe and pidfd plus the
/// wake-up eventfd in a single `poll` (CPython's `_ExecutorManagerThread`), turns what it reads into events for the
/// state machine, and performs the actions that come back. Every system call happens here outside the lock. It
/// never blocks on a write: command pipes are non-blocking and polled for `POLLOUT` while bytes wait, so a worker
/// blocked writing a large result is always read.
extension ProcessPoolCore {
    /// What the manager alone keeps about each worker position: the frame reader of its result pipe and its stderr.
    struct ManagerSlot {
        var generation = -1
        var handles: WorkerHandles?
        var reader: FrameReader
        var tail: StderrTail
        var resultClosed = false
        var stderrClosed = false
    }

    private enum PollTarget {
        case wake
        case result(Int)
        case stderr(Int)
        case command(Int)
        case exit(Int)
    }

    func runManager() {
        var local = (0..<workerCount).map { _ in
            ManagerSlot(
                reader: FrameReader(maxPayload: configuration.maxFramePayload),
                tail: StderrTail(keep: configuration.stderrLinesKept)
            )
        }
        var forwarder = StderrForwarder(linesPerSecond: configuration.stderrForwardLinesPerSecond)
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var nextDeadline: UInt64?
        var ringBudget = SpinBudget(maximum: spin.manager)
        var lastPoll: UInt64 = 0
        while true {
            let handover = deferred.withLock(self) { pending -> [ProcessPoolStateMachine.Action] in
                defer { pending = [] }
                return pending
            }
            if !handover.isEmpty { apply(handover, onManager: true) }
            nextDeadline = tick()

            // The poll set, from the machine's view of the workers.
            var targets: [PollTarget] = [.wake]
            var entries = [Syscalls.PollEntry(fd: wakeFD)]
            var rings: [RingSlot] = []
            let finished: Bool = state.withLock(self) { machine in
                if machine.lifecycle == .terminated { return true }
                for index in machine.slots.indices {
                    let handles = machine.slots[index].handles
                    if handles?.generation != local[index].generation {
                        local[index] = ManagerSlot(
                            generation: handles?.generation ?? -1,
                            handles: handles,
                            reader: FrameReader(maxPayload: configuration.maxFramePayload),
                            tail: StderrTail(keep: configuration.stderrLinesKept)
                        )
                    }
                    guard let handles, machine.slots[index].isLive else { continue }
                    if !local[index].resultClosed {
                        entries.append(Syscalls.PollEntry(fd: handles.resultFD))
                        targets.append(.result(index))
                    }
                    if !local[index].stderrClosed {
                        entries.append(Syscalls.PollEntry(fd: handles.stderrFD))
                        targets.append(.stderr(index))
                    }
                    if let transport = handles.transport, let replyState = handles.replyState, !replyState.isClosed {
                        rings.append(RingSlot(index: index, transport: transport, wantsWritable: machine.wantsWritable(slot: index)))
                    } else if machine.wantsWritable(slot: index) {
                        entries.append(Syscalls.PollEntry(fd: handles.commandFD, readable: false, writable: true))
                        targets.append(.command(index))
                    }
                    if handles.pidfd >= 0 {
                        entries.append(Syscalls.PollEntry(fd: handles.pidfd))
                        targets.append(.exit(index))
                    }
                }
                return false
            }
            if finished { break }
            let now = Syscalls.monotonicNanoseconds()
            var timeout: Int32 = -1
            if let deadline = nextDeadline {
                timeout = deadline <= now ? 0 : Int32(min((deadline - now + 999_999) / 1_000_000, 60_000))
            }
            // Shared-memory rings first: while they deliver, the manager makes no system call (it still polls the
            // descriptors every `busyPollInterval`, for exits and wake-ups); when they are quiet it spins for its
            // budget, then announces it sleeps and polls — a worker that publishes then rings the doorbell.
            var armed = false
            if !rings.isEmpty {
                if serviceRings(rings, &local, buffer: &buffer) {
                    // Replies arrived and their callers were resumed: the thread that runs a resumed caller
                    // may be waiting for this very CPU while the manager and a worker both spin (1 worker on 2
                    // cores). Giving the CPU away at once (a no-op when nothing else is runnable here) took the
                    // warm round trip's median from 76 µs to 12 µs on such a machine.
                    Syscalls.yieldProcessor()
                    if now &- lastPoll < ProcessPoolCore.busyPollInterval { continue }
                    timeout = 0
                } else if ringBudget.current > 0, spinForReplies(rings, budget: &ringBudget) {
                    continue
                } else if replyDrain.managerWillSleep() {
                    armed = true
                    if armRings(rings) { timeout = 0 }
                }
                // Otherwise a waiting caller reads the rings: it arms them when it lets go (``ReplyDrain``).
            }
            Syscalls.poll(&entries, timeoutMilliseconds: timeout)
            lastPoll = Syscalls.monotonicNanoseconds()
            if !rings.isEmpty {
                replyDrain.managerAwoke()
                disarmRings(rings)
                if armed, timeout != 0 { ringBudget.arrivedAfterSleeping(lastPoll &- now) }
            }

            for (position, entry) in entries.enumerated() where entry.ready {
                switch targets[position] {
                case .wake:
                    Syscalls.drainEventFD(wakeFD)
                case .result(let index):
                    readResults(&local[index], slot: index, buffer: &buffer)
                case .stderr(let index):
                    readStderr(&local[index], buffer: &buffer, forwarder: &forwarder)
                case .command(let index):
                    var actions: [ProcessPoolStateMachine.Action] = []
                    state.withLock(self) { $0.flush(slot: index, actions: &actions) }
                    apply(actions, onManager: true)
                case .exit(let index):
                    reap(&local[index], slot: index, buffer: &buffer, forwarder: &forwarder, blocking: false)
                }
            }

        }
        forkServer?.stop()  // every worker is reaped: the server is stopped and reaped too
        local.removeAll()  // the last references to the workers' journals: unmapped before `terminated` fires
        let notice = forwarder.notice()
        if configuration.forwardWorkerStderr, !notice.isEmpty { Syscalls.writeToStandardError(notice) }
        closeWake()
        if PoolObservation.isActive { reportShutdown() }
        terminated.finish(.success(()))
    }

    /// Enforces deadlines, feeding in each worker's progress as its journal shows it (shared-memory loads, no
    /// system call). Returns when to tick again.
    private func tick() -> UInt64? {
        var actions: [ProcessPoolStateMachine.Action] = []
        let next = state.withLock(self) { machine in
            let progress = machine.slots.map { $0.handles?.journal?.progress() }
            return machine.tick(now: Syscalls.monotonicNanoseconds(), progress: progress, actions: &actions)
        }
        apply(actions, onManager: true)
        return next
    }

    /// Actions only the manager performs.
    func performOnManager(_ action: ProcessPoolStateMachine.Action, into queue: inout [ProcessPoolStateMachine.Action])
    {
        switch action {
        case .spawn(let slot):
            do {
                let handles = try WorkerSpawner.spawn(
                    configuration: configuration,
                    executable: executablePath,
                    generation: 0,
                    workerSpin: spin.worker,
                    forkServer: forkServer
                )
                state.withLock(self) { machine in
                    machine.spawned(slot: slot, handles: handles, now: Syscalls.monotonicNanoseconds(), actions: &queue)
                }
            } catch {
                state.withLock(self) { machine in
                    machine.spawnFailed(slot: slot, error: error, now: Syscalls.monotonicNanoseconds(), actions: &queue)
                }
            }
        case .signal(let slot, let generation, let pid, let pidfd, let signal):
            // Exits are reaped on this thread, so a slot that still holds this generation still holds this process.
            let current = state.withLock(self) {
                $0.slots[slot].generation == generation && $0.slots[slot].handles != nil
            }
            if current { Syscalls.signal(pid: pid, pidfd: pidfd, signal) }
        case .close(let handles):
            for fd in [handles.commandFD, handles.resultFD, handles.stderrFD, handles.pidfd] { Syscalls.close(fd) }
        case .measureMemory(let slot, let generation, let pid):
            let bytes = Syscalls.residentBytes(of: pid)
            state.withLock(self) { machine in
                machine.memoryMeasured(slot: slot, generation: generation, bytes: bytes, actions: &queue)
            }
        default:
            break
        }
    }

    // MARK: Reading

    func readResults(_ local: inout ManagerSlot, slot index: Int, buffer: inout [UInt8]) {
        guard let handles = local.handles else { return }
        while !local.resultClosed {
            let outcome = buffer.withUnsafeMutableBytes { Syscalls.read(handles.resultFD, into: $0) }
            switch outcome {
            case .transferred(let count):
                observed.received(count)
                buffer.withUnsafeBytes { local.reader.append(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
                var messages: [Message] = []
                var violation: OffloadError?
                do {
                    while let frame = try local.reader.next() {
                        let message = try Message(frame)
                        if message != .wake { messages.append(message) }  // a doorbell: the rings are read next
                    }
                } catch {
                    violation = error
                    local.resultClosed = true
                }
                var actions: [ProcessPoolStateMachine.Action] = []
                state.withLock(self) { machine in
                    let now = Syscalls.monotonicNanoseconds()
                    for message in messages { machine.received(message, slot: index, now: now, actions: &actions) }
                }
                apply(actions, onManager: true)
                if let violation {
                    // Nothing after broken bytes counts, in the rings either (the rings are read after the pipe).
                    handles.replyState?.close()
                    var kills: [ProcessPoolStateMachine.Action] = []
                    state.withLock(self) { machine in
                        machine.kill(slot: index, reason: .protocolViolation(violation), actions: &kills)
                    }
                    apply(kills, onManager: true)
                }
                if violation != nil || count < buffer.count { return }
            case .wouldBlock:
                return
            case .endOfFile, .failed:
                local.resultClosed = true
                if handles.pidfd < 0 {
                    // No pidfd (old kernel): the closed pipe is the only exit notification; reap now.
                    var forwarder = StderrForwarder(linesPerSecond: configuration.stderrForwardLinesPerSecond)
                    reap(&local, slot: index, buffer: &buffer, forwarder: &forwarder, blocking: true)
                }
                return
            }
        }
    }

    private func readStderr(_ local: inout ManagerSlot, buffer: inout [UInt8], forwarder: inout StderrForwarder) {
        guard let handles = local.handles else { return }
        while !local.stderrClosed {
            switch buffer.withUnsafeMutableBytes({ Syscalls.read(handles.stderrFD, into: $0) }) {
            case .transferred(let count):
                let lines = buffer.withUnsafeBytes { local.tail.append(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
                forward(lines, &forwarder)
            case .wouldBlock:
                return
            case .endOfFile, .failed:
                local.stderrClosed = true
                if let line = local.tail.endLine() { forward([line], &forwarder) }
                return
            }
        }
    }

    private func forward(_ lines: [String], _ forwarder: inout StderrForwarder) {
        guard configuration.forwardWorkerStderr, !lines.isEmpty else { return }
        let text = forwarder.admit(lines, now: Syscalls.monotonicNanoseconds())
        if !text.isEmpty { Syscalls.writeToStandardError(text) }
    }

    /// Reaps a worker whose pidfd became readable: everything it wrote before dying is in the pipes and its journal,
    /// so results are read first, then its last stderr lines; then the machine decides what its tasks become.
    private func reap(
        _ local: inout ManagerSlot,
        slot index: Int,
        buffer: inout [UInt8],
        forwarder: inout StderrForwarder,
        blocking: Bool
    ) {
        guard let handles = local.handles else { return }
        guard let exit = Syscalls.reap(pid: handles.pid, pidfd: handles.pidfd, noHang: !blocking) else { return }
        readResults(&local, slot: index, buffer: &buffer)
        _ = drainRing(&local, slot: index, buffer: &buffer, waitForToken: true)
        readStderr(&local, buffer: &buffer, forwarder: &forwarder)
        if let line = local.tail.endLine() { forward([line], &forwarder) }
        let journal = handles.journal?.snapshot()
        let stderr = local.tail.summary(keep: configuration.stderrLinesKept)
        local.resultClosed = true
        local.stderrClosed = true
        var actions: [ProcessPoolStateMachine.Action] = []
        state.withLock(self) { machine in
            machine.exited(
                slot: index,
                termination: OffloadError.Termination(exit),
                journal: journal,
                stderr: stderr,
                now: Syscalls.monotonicNanoseconds(),
                actions: &actions
            )
        }
        apply(actions, onManager: true)
    }
}
