import DequeModule
import OffloadCore
import OffloadSystem
import OffloadWire

/// What a worker's journal says it is doing (read from shared memory by the manager, fed in as an event).
struct WorkerProgress: Equatable, Sendable {
    /// The task the worker began last (0: none yet).
    var taskID: UInt64
    /// The item of that task running now (0 for a single job), `nil` between items.
    var runningItem: Int?
    /// When that item started (monotonic nanoseconds).
    var itemStart: UInt64
}

/// A dead worker's journal: its progress plus the outputs of the items it finished but had not sent yet.
struct JournalSnapshot: Equatable, Sendable {
    var progress: WorkerProgress
    /// Batch index of the first item in `outputs`, and how many items have an outcome from there on.
    var firstItem: Int
    var resolved: Int
    /// The concatenated encodings of those items' outputs (failed items are absent: they were sent as frames).
    var outputs: [UInt8]
}

extension ProcessPoolStateMachine {
    // MARK: - Spawning

    mutating func spawned(slot index: Int, handles: WorkerHandles, now: UInt64, actions: inout [Action]) {
        var handles = handles
        slots[index].generation += 1
        let generation = slots[index].generation
        if generation > 1 {
            workersReplaced += 1
            actions.append(.event(poolEvent(.workerReplaced, slot: index, pid: handles.pid)))
        }
        handles.generation = generation
        slots[index].handles = handles
        slots[index].phase = .starting(deadline: now &+ settings.startTimeout)
        slots[index].killReason = nil
        slots[index].commandBroken = false
        slots[index].writing = false
        slots[index].sent = slots[index].inFlight.count
        if case .stopping = lifecycle {
            retire(slot: index, reason: .shutdown, actions: &actions)
        } else if broken != nil {
            kill(slot: index, reason: .broken, actions: &actions)
        }
        flush(slot: index, actions: &actions)
        actions.append(.wakeManager)
    }

    mutating func spawnFailed(slot index: Int, error: OffloadError, now: UInt64, actions: inout [Action]) {
        withSlot(index) { $0.phase = .empty }
        markBroken(error, actions: &actions)
        advanceLifecycle(now: now, actions: &actions)
    }

    // MARK: - Messages

    /// A message from worker `index`. A message that breaks the protocol kills the worker; its exit reports it.
    mutating func received(_ message: Message, slot index: Int, now: UInt64, actions: inout [Action]) {
        do {
            try handle(message, slot: index, now: now, actions: &actions)
        } catch {
            kill(slot: index, reason: .protocolViolation(error), actions: &actions)
        }
    }

    private mutating func handle(_ message: Message, slot index: Int, now: UInt64, actions: inout [Action])
        throws(OffloadError)
    {
        let pid = slots[index].handles?.pid
        switch message {
        case .hello(let hello):
            guard case .starting = slots[index].phase else { throw .protocolViolation("worker said hello twice") }
            guard hello.formatVersion == JobCodec.formatVersion else {
                let error = OffloadError(
                    .protocolViolation,
                    "worker speaks wire format \(hello.formatVersion), the parent \(JobCodec.formatVersion): "
                        + "rebuild the worker executable with the same Offload version",
                    workerPID: pid
                )
                markBroken(error, actions: &actions)
                kill(slot: index, reason: .broken, actions: &actions)
                return
            }
            if let failure = hello.initializerFailure {
                markBroken(
                    OffloadError.remote(failure, job: "the worker initializer").withWorkerPID(hello.pid),
                    actions: &actions
                )
                return
            }
            withSlot(index) { slot in
                slot.phase = .ready
                slot.headSince = now
            }
            actions.append(.event(poolEvent(.workerStarted, slot: index, pid: hello.pid)))
            reportReadinessIfReady(actions: &actions)
        case .result(let taskID, let isBatch, let nanoseconds, let firstItem, let count, let output):
            var task = try head(index, taskID)
            guard task.isBatch == isBatch else {
                throw .protocolViolation("worker answered task \(taskID) in the wrong shape")
            }
            addBusy(slot: index, nanoseconds)
            sampleDuration(nanoseconds)
            recordDuration(
                jobName: task.jobName,
                nanoseconds: nanoseconds,
                items: isBatch ? count + task.failures.count : 1
            )
            if isBatch { try merge(&task, firstItem: firstItem, count: count, outputs: output) }
            guard !isBatch || task.isComplete else {
                throw .protocolViolation("worker ended batch task \(taskID) early")
            }
            popHead(index, now: now)
            guard !task.cancelled else { break }
            let context = DecodeContext(workerPID: pid, describe: task.describe, runNanoseconds: nanoseconds)
            if isBatch {
                task.outputs.append(BinaryTag.end)
                actions.append(
                    .deliver(
                        .batch(
                            task.sink,
                            outputs: task.outputs,
                            failures: task.failures,
                            count: task.itemCount ?? 0,
                            context: context
                        )
                    )
                )
            } else {
                actions.append(.deliver(.value(task.sink, output: output, context: context)))
            }
        case .partial(let taskID, let firstItem, let count, let outputs):
            var task = try head(index, taskID)
            guard task.isBatch else { throw .protocolViolation("worker sent partial outputs of single job \(taskID)") }
            try merge(&task, firstItem: firstItem, count: count, outputs: outputs)
            withSlot(index) { $0.inFlight[0] = task }
        case .itemFailure(let taskID, let item, let failure):
            var task = try head(index, taskID)
            guard task.isBatch, item == task.nextItem else {
                throw .protocolViolation("worker reported item \(item) of task \(taskID) out of order")
            }
            let error = OffloadError.remote(failure, job: task.describe(item)).withWorkerPID(pid ?? 0)
            task.failures[item] = error.attributed(toIndex: item, job: task.describe(item))
            task.nextItem += 1
            withSlot(index) { $0.inFlight[0] = task }
        case .failure(let taskID, let failure):
            var task = try head(index, taskID)
            popHead(index, now: now)
            guard !task.cancelled else { break }
            if task.isBatch {
                // The batch could not run at all (undecodable, unregistered): every remaining item fails with it.
                for item in task.nextItem..<(task.itemCount ?? 0) {
                    let error = OffloadError.remote(failure, job: task.describe(item)).withWorkerPID(pid ?? 0)
                    task.failures[item] = error.attributed(toIndex: item, job: task.describe(item))
                }
                task.nextItem = task.itemCount ?? 0
                task.outputs.append(BinaryTag.end)
                let context = DecodeContext(workerPID: pid, describe: task.describe)
                actions.append(
                    .deliver(
                        .batch(
                            task.sink,
                            outputs: task.outputs,
                            failures: task.failures,
                            count: task.itemCount ?? 0,
                            context: context
                        )
                    )
                )
            } else {
                countFailure()
                let error = OffloadError.remote(failure, job: task.describe(nil)).withWorkerPID(pid ?? 0)
                actions.append(.deliver(.failure(task.sink, error)))
            }
        case .cancelled(let taskID):
            let task = try head(index, taskID)
            popHead(index, now: now)
            if !task.cancelled {
                // Its cancel flag was raised by a shutdown that withdraws unstarted work: the batch stopped between
                // two items. It ends as cancelled.
                accounting.cancel(running: true)
                actions.append(.deliver(.cancelled(task.sink)))
            }
        case .progress(let taskID, let item, let fraction):
            // A watched task's job reported how far it is: relayed to its map's monitor, nothing else changes.
            if let task = slots[index].inFlight.first, task.id == taskID, let route = task.progress {
                actions.append(.progress(route, item: item, fraction: fraction))
            }
            return
        case .run, .shutdown, .watch, .traceContext:
            throw .protocolViolation("worker sent a frame meant for workers")
        case .wake:
            return  // the transport's doorbell: the manager already looked at the rings
        }
        if case .ready = slots[index].phase {} else if case .retiring = slots[index].phase {} else { return }
        afterProgress(slot: index, now: now, actions: &actions)
    }

    private func head(_ index: Int, _ taskID: UInt64) throws(OffloadError) -> PoolTask {
        guard slots[index].phase == .ready || slots[index].phase == .retiring else {
            throw .protocolViolation("worker answered task \(taskID) before saying hello")
        }
        guard let head = slots[index].inFlight.first, head.id == taskID else {
            throw .protocolViolation("worker answered task \(taskID), which it was not running")
        }
        return head
    }

    private mutating func popHead(_ index: Int, now: UInt64) {
        withSlot(index) { slot in
            slot.inFlight.removeFirst()
            slot.headSince = now
        }
    }

    /// Appends a span of item outcomes (`count` items from `firstItem`, outputs of the successful ones) to a batch.
    private func merge(_ task: inout PoolTask, firstItem: Int, count: Int, outputs: [UInt8]) throws(OffloadError) {
        guard firstItem == task.nextItem, count >= 0, task.nextItem + count <= (task.itemCount ?? 0) else {
            throw .protocolViolation(
                "worker reported items \(firstItem)..<\(firstItem + count) of task \(task.id), "
                    + "expected item \(task.nextItem)"
            )
        }
        if task.outputs.isEmpty {
            task.outputs.reserveCapacity(outputs.count + 2); task.outputs.append(BinaryTag.unkeyed)
        }
        task.outputs.append(contentsOf: outputs)
        task.nextItem += count
    }

    /// After a task ended on a worker: recycle it if it served its quota, dispatch more, advance shutdown.
    private mutating func afterProgress(slot index: Int, now: UInt64, actions: inout [Action]) {
        if let limit = settings.maxTasksPerWorker, slots[index].phase == .ready, slots[index].sent >= limit,
            slots[index].inFlight.isEmpty, lifecycle == .running
        {
            retire(slot: index, reason: .shutdown, actions: &actions)
        }
        dispatch(now: now, actions: &actions)
        flush(slot: index, actions: &actions)  // frames held back while the worker was busy (see `dispatch`)
        advanceLifecycle(now: now, actions: &actions)
    }

    /// Counts decoded outcomes (after the lock was released to decode them, before callers resume).
    mutating func resultsDecoded(completed: Int, failed: Int) {
        if completed > 0 { accountingComplete(completed) }
        if failed > 0 { accounting.fail(failed) }
    }

    // MARK: - Exits

    /// Worker `index` exited (reaped; its pipes drained). Decides what its tasks become: the item it was running fails
    /// (or is retried), everything it had not started goes back to the front of the queue in order, and the slot is
    /// respawned while the pool needs workers.
    mutating func exited(
        slot index: Int,
        termination: OffloadError.Termination,
        journal: JournalSnapshot?,
        stderr: [String],
        now: UInt64,
        actions: inout [Action]
    ) {
        let dead = slots[index]
        guard dead.isLive, let handles = dead.handles else { return }
        actions.append(.event(exitEvent(dead, slot: index, termination: termination, stderr: stderr)))
        withSlot(index) { slot in
            slot.phase = .empty
            slot.handles = nil
            slot.inFlight.removeAll()
            slot.outbox = FrameWriter()
            slot.unflushed = 0
            slot.killReason = nil
            slot.commandBroken = false
            if slot.writing {
                slot.closeAfterWrite = handles
            }
            slot.writing = false
        }
        if dead.closeAfterWrite == nil && !dead.writing { actions.append(.close(handles)) }
        let stopping: Bool
        if case .stopping = lifecycle { stopping = true } else { stopping = false }

        // Copying an empty Deque into an Array writes the shared empty-array storage's header, which
        // ThreadSanitizer reports as a race with every other empty array in the process: skip the copy.
        var queue: [PoolTask] = dead.inFlight.isEmpty ? [] : Array(dead.inFlight)
        if case .starting = dead.phase {
            if !stopping, broken == nil {
                markBroken(startError(dead, termination: termination, stderr: stderr), actions: &actions)
            }
            // Tasks waiting for this worker never ran: they fail with the broken pool's error (or, shutting down,
            // go back to the queue for another worker).
            for task in queue where !task.cancelled {
                if let broken {
                    countFailure()
                    actions.append(.deliver(.failure(task.sink, broken)))
                } else {
                    requeueFront([task])
                }
            }
            queue = []
        } else if var head = queue.first {
            queue.removeFirst()
            let started = journal.map { $0.progress.taskID == head.id } ?? true
            if head.cancelled {
                // Already ended as cancelled (this may be the kill that stopped it).
            } else if !started {
                queue.insert(head, at: 0)  // died before starting it: not its fault
            } else if head.isBatch {
                if let journal, journal.progress.taskID == head.id {
                    absorb(journal, into: &head)
                }
                let running = journal?.progress.taskID == head.id ? journal?.progress.runningItem : nil
                if let item = running, item == head.nextItem {
                    let error = taskError(head, item: item, slot: dead, termination: termination, stderr: stderr)
                    if retryable(error, head) {
                        head.attempts += 1
                    } else {
                        head.failures[item] = error
                        head.nextItem += 1
                    }
                }
                if head.isComplete {
                    head.outputs = head.outputs.isEmpty ? [BinaryTag.unkeyed] : head.outputs
                    head.outputs.append(BinaryTag.end)
                    let context = DecodeContext(workerPID: handles.pid, describe: head.describe)
                    actions.append(
                        .deliver(
                            .batch(
                                head.sink,
                                outputs: head.outputs,
                                failures: head.failures,
                                count: head.itemCount ?? 0,
                                context: context
                            )
                        )
                    )
                } else {
                    queue.insert(head, at: 0)  // the rest of the batch never started: it runs again, from its next item
                }
            } else {
                let error = taskError(head, item: nil, slot: dead, termination: termination, stderr: stderr)
                if retryable(error, head) {
                    head.attempts += 1
                    queue.insert(head, at: 0)
                } else {
                    countFailure()
                    actions.append(.deliver(.failure(head.sink, error)))
                }
            }
        }
        let requeued = queue.filter { !$0.cancelled }
        requeueFront(requeued)
        if let broken, !requeued.isEmpty { markBroken(broken, actions: &actions) }
        spawnMissing(actions: &actions)
        dispatch(now: now, actions: &actions)
        advanceLifecycle(now: now, actions: &actions)
        finishLifecycleIfDone(actions: &actions)
    }

    private func retryable(_ error: OffloadError, _ task: PoolTask) -> Bool {
        (error.code == .workerCrashed || error.code == .memoryLimitExceeded) && task.isIdempotent
            && task.attempts < settings.retries && broken == nil
    }

    /// The outputs a dead worker had recorded but not sent.
    private func absorb(_ journal: JournalSnapshot, into task: inout PoolTask) {
        let end = journal.firstItem + journal.resolved
        guard end > task.nextItem, journal.firstItem <= task.nextItem else { return }
        guard journal.firstItem == task.nextItem else { return }  // partly sent already: the frames are authoritative
        if task.outputs.isEmpty { task.outputs.append(BinaryTag.unkeyed) }
        task.outputs.append(contentsOf: journal.outputs)
        task.nextItem = min(end, task.itemCount ?? end)
    }

    /// The error of the job (or batch item) a dead worker was running.
    private func taskError(
        _ task: PoolTask,
        item: Int?,
        slot: SlotState,
        termination: OffloadError.Termination,
        stderr: [String]
    ) -> OffloadError {
        let job = task.describe(item)
        let pid = slot.handles?.pid ?? 0
        let error: OffloadError
        switch slot.killReason {
        case .taskTimeout(_, _, let timeout):
            error = .taskTimedOut(
                job: job,
                pid: pid,
                timeout: .nanoseconds(Int64(clamping: timeout)),
                termination: termination,
                stderr: stderr
            )
        case .memory(let resident, let limit):
            error = .memoryLimitExceeded(
                job: job,
                pid: pid,
                resident: resident,
                limit: limit,
                termination: termination,
                stderr: stderr
            )
        case .protocolViolation(let violation):
            error = OffloadError(
                violation.code,
                violation.message,
                workerPID: pid,
                job: job,
                termination: termination,
                workerStderr: stderr
            )
        case .startTimeout, .shutdown, .cancelled, .broken, .none:
            error = .workerCrashed(job: job, pid: pid, termination: termination, stderr: stderr)
        }
        return item.map { error.attributed(toIndex: $0, job: job) } ?? error
    }

    /// Why a worker that never said hello could not start.
    private func startError(_ slot: SlotState, termination: OffloadError.Termination, stderr: [String]) -> OffloadError
    {
        let pid = slot.handles?.pid ?? 0
        switch slot.killReason {
        case .startTimeout:
            return .entryPointMissing(executable: settings.executableName, pid: pid, termination: nil, stderr: stderr)
        case .protocolViolation(let violation):
            return .workerStartGarbled(
                executable: settings.executableName,
                pid: pid,
                violation: violation,
                stderr: stderr
            )
        default:
            break
        }
        switch termination {
        case .exited:
            return .entryPointMissing(
                executable: settings.executableName,
                pid: pid,
                termination: termination,
                stderr: stderr
            )
        case .signaled:
            return .workerStartCrashed(
                executable: settings.executableName,
                pid: pid,
                termination: termination,
                stderr: stderr
            )
        }
    }

    // MARK: - Deadlines

    /// Enforces start-up deadlines, per-job timeouts (from each worker's observed progress), the memory polling
    /// schedule and the shutdown escalation. Returns when to tick again (`nil`: only on events).
    mutating func tick(now: UInt64, progress: [WorkerProgress?], actions: inout [Action]) -> UInt64? {
        var next = UInt64.max
        let checkMemory = settings.memoryLimit != nil && now >= nextMemoryCheckTime
        var measured = false
        var busyWorkers = false
        for index in slots.indices {
            let slot = slots[index]
            guard slot.killReason == nil, let handles = slot.handles else { continue }
            switch slot.phase {
            case .starting(let deadline):
                if now >= deadline {
                    kill(slot: index, reason: .startTimeout, actions: &actions)
                } else {
                    next = min(next, deadline)
                }
            case .ready, .retiring:
                guard let head = slot.inFlight.first else { continue }
                busyWorkers = true
                if checkMemory {
                    actions.append(.measureMemory(slot: index, generation: slot.generation, pid: handles.pid))
                    measured = true
                }
                guard let timeout = head.timeout else { continue }
                let observed = index < progress.count ? progress[index] : nil
                if let observed {
                    guard observed.taskID == head.id, let item = observed.runningItem else {
                        next = min(next, now &+ ProcessPoolStateMachine.progressRecheck)
                        continue
                    }
                    if now &- observed.itemStart >= timeout {
                        kill(
                            slot: index,
                            reason: .taskTimeout(taskID: head.id, item: item, timeout: timeout),
                            actions: &actions
                        )
                    } else {
                        next = min(next, observed.itemStart &+ timeout)
                    }
                } else if now &- slot.headSince >= timeout {
                    kill(
                        slot: index,
                        reason: .taskTimeout(taskID: head.id, item: nil, timeout: timeout),
                        actions: &actions
                    )
                } else {
                    next = min(next, slot.headSince &+ timeout)
                }
            case .empty, .spawning:
                continue
            }
        }
        // The polling schedule advances only when a worker was measured: the first check of a newly busy worker is
        // never pushed back by idle time.
        if measured { scheduleMemoryCheck(after: now) }
        if busyWorkers, settings.memoryLimit != nil { next = min(next, nextMemoryCheckTime) }
        advanceLifecycle(now: now, actions: &actions)
        if case .stopping(_, let deadline) = lifecycle { next = min(next, deadline) }
        return next == .max ? nil : next
    }

    /// A memory reading of worker `index` (VmRSS); over the limit, the worker is killed.
    mutating func memoryMeasured(slot index: Int, generation: Int, bytes: Int?, actions: inout [Action]) {
        guard let limit = settings.memoryLimit, let bytes, bytes > limit, slots[index].generation == generation,
            slots[index].killReason == nil, !slots[index].inFlight.isEmpty
        else { return }
        kill(slot: index, reason: .memory(residentBytes: bytes, limit: limit), actions: &actions)
    }
}
