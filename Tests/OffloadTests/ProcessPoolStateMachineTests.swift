import DequeModule
import Testing

@testable import Offload
@testable import OffloadCore
@testable import OffloadSystem
@testable import OffloadWire

/// Drives a ``ProcessPoolStateMachine`` through events, as the pool's core and manager would, without threads or
/// processes: writes "succeed" at once, spawns are answered by `spawn(_:)`, and the clock is a number.
private struct Harness {
    var machine: ProcessPoolStateMachine
    var now: UInt64 = 1_000_000_000
    /// Task IDs sent to each slot, in order.
    var sent: [[UInt64]]
    /// Write actions performed for each slot.
    var writes: [Int]
    var spawnRequests: [Int] = []
    var signals: [(pid: Int32, signal: Int32)] = []
    var deliveries: [ProcessPoolStateMachine.Delivery] = []
    var shutdownFramesSent: Set<Int> = []
    var closed: [Int32] = []
    var terminated = false
    var readiness: [Bool] = []
    var memoryRequests: [(slot: Int, generation: Int)] = []
    var events: [PoolEvent] = []
    var relayed: [(route: ProgressRoute, item: Int, fraction: Double)] = []

    init(workers: Int = 2, _ adjust: (inout ProcessPoolStateMachine.Settings) -> Void = { _ in }) {
        var settings = ProcessPoolStateMachine.Settings(
            workers: workers,
            maxTasksPerWorker: nil,
            maxPrefetch: 64,
            prefetchWindow: 200_000,
            retries: 0,
            startTimeout: 10_000_000_000,
            shutdownGrace: 1_000_000_000,
            memoryLimit: nil,
            memoryPollInterval: 5_000_000
        )
        adjust(&settings)
        machine = ProcessPoolStateMachine(settings: settings)
        sent = Array(repeating: [], count: workers)
        writes = Array(repeating: 0, count: workers)
        var actions: [ProcessPoolStateMachine.Action] = []
        machine.spawnMissing(actions: &actions)
        perform(actions)
    }

    static func handles(_ slot: Int) -> WorkerHandles {
        WorkerHandles(
            generation: 0,
            pid: Int32(1000 + slot),
            pidfd: -1,
            commandFD: Int32(10 + slot),
            resultFD: -1,
            stderrFD: -1
        )
    }

    mutating func perform(_ actions: [ProcessPoolStateMachine.Action]) {
        var queue = actions
        while !queue.isEmpty {
            let action = queue.removeFirst()
            var more: [ProcessPoolStateMachine.Action] = []
            switch action {
            case .write(let slot, let generation, _, _, let bytes):
                writes[slot] += 1
                var reader = FrameReader(maxPayload: 1 << 20)
                reader.append(bytes)
                while let frame = try? reader.next(), let message = try? Message(frame) {
                    switch message {
                    case .run(let taskID, _, _, _, _): sent[slot].append(taskID)
                    case .shutdown: shutdownFramesSent.insert(slot)
                    default: break
                    }
                }
                machine.wrote(
                    slot: slot,
                    generation: generation,
                    bytes: bytes,
                    written: bytes.count,
                    failed: false,
                    actions: &more
                )
            case .spawn(let slot):
                spawnRequests.append(slot)
            case .signal(_, _, let pid, _, let signal):
                signals.append((pid, signal))
            case .deliver(let delivery):
                deliveries.append(delivery)
                switch delivery {
                case .value: machine.resultsDecoded(completed: 1, failed: 0)
                case .batch(_, _, let failures, _, _):
                    machine.resultsDecoded(completed: failures.isEmpty ? 1 : 0, failed: failures.isEmpty ? 0 : 1)
                case .failure, .cancelled: break
                }
            case .close(let handles):
                closed.append(handles.commandFD)
            case .readiness(let result):
                readiness.append((try? result.get()) != nil)
            case .measureMemory(let slot, let generation, _):
                memoryRequests.append((slot, generation))
            case .wakeManager:
                break
            case .event(let event):
                events.append(event)
            case .progress(let route, let item, let fraction):
                relayed.append((route, item, fraction))
            case .terminate:
                terminated = true
            }
            queue += more
        }
        #expect(machine.accounting.isConsistent, "\(machine.accounting)")
    }

    /// Spawns every requested slot; `hello` also makes them ready.
    mutating func startWorkers(hello: Bool = true) {
        let slots = spawnRequests
        spawnRequests = []
        for slot in slots {
            var actions: [ProcessPoolStateMachine.Action] = []
            machine.spawned(slot: slot, handles: Harness.handles(slot), now: now, actions: &actions)
            perform(actions)
            if hello {
                receive(
                    .hello(Message.Hello(formatVersion: JobCodec.formatVersion, pid: Int32(1000 + slot))),
                    from: slot
                )
            }
        }
    }

    @discardableResult
    mutating func submit(
        _ name: String = "Job",
        items: Int? = nil,
        idempotent: Bool = false,
        timeout: UInt64? = nil
    ) -> (id: UInt64, sink: FakeSink) {
        let sink = FakeSink()
        var actions: [ProcessPoolStateMachine.Action] = []
        let task = PoolTask(
            jobName: name,
            payload: [0],
            itemCount: items,
            isIdempotent: idempotent,
            timeout: timeout,
            sink: sink,
            describe: { index in index.map { "\(name)#\($0)" } ?? name }
        )
        let id = try! machine.submit(task, now: now, actions: &actions)
        perform(actions)
        return (id, sink)
    }

    mutating func receive(_ message: Message, from slot: Int) {
        var actions: [ProcessPoolStateMachine.Action] = []
        machine.received(message, slot: slot, now: now, actions: &actions)
        perform(actions)
    }

    mutating func result(_ taskID: UInt64, from slot: Int, nanoseconds: UInt64 = 1_000) {
        receive(
            .result(taskID: taskID, isBatch: false, runNanoseconds: nanoseconds, firstItem: 0, count: 1, output: [1]),
            from: slot
        )
    }

    mutating func exit(
        _ slot: Int,
        _ termination: OffloadError.Termination = .signaled(Signals.kill),
        journal: JournalSnapshot? = nil
    ) {
        var actions: [ProcessPoolStateMachine.Action] = []
        machine.exited(
            slot: slot,
            termination: termination,
            journal: journal,
            stderr: ["last words"],
            now: now,
            actions: &actions
        )
        perform(actions)
    }

    mutating func tick(progress: [WorkerProgress?] = []) {
        var actions: [ProcessPoolStateMachine.Action] = []
        _ = machine.tick(now: now, progress: progress, actions: &actions)
        perform(actions)
    }

    var failures: [OffloadError] {
        deliveries.compactMap { if case .failure(_, let error) = $0 { return error } else { return nil } }
    }

    var cancelledCount: Int {
        deliveries.filter { if case .cancelled = $0 { return true } else { return false } }.count
    }

    var batches: [(failures: [Int: OffloadError], outputs: [UInt8], count: Int)] {
        deliveries.compactMap {
            if case .batch(_, let outputs, let failures, let count, _) = $0 {
                return (failures, outputs, count)
            } else {
                return nil
            }
        }
    }

    /// Tasks not running on a live worker, in the order they will run: those handed to a worker being (re)spawned,
    /// then the pool's queue.
    var waiting: [PoolTask] {
        machine.slots.flatMap { $0.handles == nil ? Array($0.inFlight) : [] } + Array(machine.pending)
    }

    static func progress(_ taskID: UInt64, item: Int?, start: UInt64) -> WorkerProgress {
        WorkerProgress(taskID: taskID, runningItem: item, itemStart: start)
    }
}

@Suite struct ProcessPoolStateMachineTests {
    @Test("jobs of unknown duration go one per worker, least-loaded first; the rest wait in the pool's queue")
    func leastLoadedAndNoPrefetchOfUnknownJobs() {
        var pool = Harness(workers: 2)
        pool.startWorkers()
        let tasks = (0..<4).map { _ in pool.submit("Slow") }
        #expect(pool.sent == [[tasks[0].id], [tasks[1].id]])
        #expect(pool.machine.pending.count == 2)
        pool.result(tasks[1].id, from: 1, nanoseconds: 50_000_000)
        #expect(pool.sent[1] == [tasks[1].id, tasks[2].id])
        #expect(pool.machine.stats.running == 2 && pool.machine.stats.pending == 1)
    }

    @Test("short jobs are prefetched up to the window; a long job is never queued behind another")
    func prefetchFollowsMeasuredDuration() {
        var pool = Harness(workers: 1)
        pool.startWorkers()
        let first = pool.submit("Short")
        pool.result(first.id, from: 0, nanoseconds: 20_000)  // 20 µs per job: 200 µs window holds about 10
        let burst = (0..<30).map { _ in pool.submit("Short") }
        let prefetched = pool.machine.slots[0].inFlight.map(\.id)  // assigned to the worker (sent or about to be)
        #expect(prefetched.count >= 9 && prefetched.count <= 13, "\(prefetched.count)")
        #expect(prefetched.first == burst[0].id)

        var slow = Harness(workers: 1)
        slow.startWorkers()
        let a = slow.submit("Long")
        slow.result(a.id, from: 0, nanoseconds: 30_000_000)
        _ = slow.submit("Long")
        _ = slow.submit("Long")
        #expect(slow.sent[0].count == 2, "one running, never one queued behind it")
        _ = slow.submit("NeverSeen")
        #expect(slow.sent[0].count == 2)
    }

    @Test("a busy worker gets the run frames submitted meanwhile in one write, with its next outcome")
    func runFramesCoalesceWhileTheWorkerIsBusy() {
        var pool = Harness(workers: 1)
        pool.startWorkers()
        let first = pool.submit("Tiny")
        pool.result(first.id, from: 0, nanoseconds: 1_000)  // 1 µs per job: prefetch takes all of the burst
        let writesBefore = pool.writes[0]
        let burst = (0..<30).map { _ in pool.submit("Tiny") }
        let ahead = ProcessPoolStateMachine.sentAheadForCoalescing
        #expect(pool.machine.slots[0].inFlight.count == 30)
        #expect(pool.sent[0].dropFirst() == burst.prefix(ahead).map(\.id)[...], "the worker has enough to do")
        #expect(pool.writes[0] - writesBefore == ahead, "one write per task while it had little queued")

        pool.result(burst[0].id, from: 0, nanoseconds: 1_000)
        #expect(pool.sent[0].dropFirst() == burst.map(\.id)[...], "every frame sent, in order")
        #expect(pool.writes[0] - writesBefore == ahead + 1, "the rest in one write")
    }

    @Test("a fresh pool spreads its first jobs over workers that have not said hello yet")
    func fairStart() {
        var pool = Harness(workers: 2)
        pool.startWorkers(hello: false)
        let a = pool.submit("Slow")
        let b = pool.submit("Slow")
        #expect(pool.sent == [[a.id], [b.id]])
        #expect(pool.readiness.isEmpty)
        pool.receive(.hello(Message.Hello(formatVersion: JobCodec.formatVersion, pid: 1000)), from: 0)
        #expect(pool.readiness.isEmpty)
        pool.receive(.hello(Message.Hello(formatVersion: JobCodec.formatVersion, pid: 1001)), from: 1)
        #expect(pool.readiness == [true])
    }

    @Test("a crash fails the running job and requeues what the worker held, in order, ahead of the queue")
    func requeueOrderAfterCrash() {
        var pool = Harness(workers: 1)
        pool.startWorkers()
        let warm = pool.submit("Short")
        pool.result(warm.id, from: 0, nanoseconds: 1_000)
        let held = (0..<3).map { _ in pool.submit("Short") }
        #expect(pool.sent[0].suffix(3) == held.map(\.id)[...])
        pool.exit(
            0,
            journal: JournalSnapshot(
                progress: Harness.progress(held[0].id, item: 0, start: 0),
                firstItem: 0,
                resolved: 0,
                outputs: []
            )
        )
        #expect(pool.failures.count == 1 && pool.failures[0].code == .workerCrashed && pool.failures[0].job == "Short")
        #expect(pool.waiting.map(\.id) == [held[1].id, held[2].id])
        #expect(pool.spawnRequests == [0])
        pool.startWorkers()
        #expect(pool.sent[0].suffix(2) == [held[1].id, held[2].id])
        #expect(pool.machine.workersReplaced == 1)
    }

    @Test("a worker that died before starting its next job does not fail it")
    func deathBeforeStartRequeues() {
        var pool = Harness(workers: 1)
        pool.startWorkers()
        let task = pool.submit()
        pool.exit(
            0,
            journal: JournalSnapshot(
                progress: Harness.progress(0, item: nil, start: 0),
                firstItem: 0,
                resolved: 0,
                outputs: []
            )
        )
        #expect(pool.failures.isEmpty)
        #expect(pool.waiting.map(\.id) == [task.id])
    }

    @Test("idempotent jobs are retried after a crash up to `retries` times; others fail at once")
    func retriesOnlyIdempotent() {
        var pool = Harness(workers: 1) { $0.retries = 1 }
        pool.startWorkers()
        let safe = pool.submit("Safe", idempotent: true)
        pool.exit(0)
        #expect(pool.failures.isEmpty && pool.waiting.first?.id == safe.id)
        pool.startWorkers()
        pool.exit(0)
        #expect(pool.failures.count == 1, "the second crash exhausts the retry")
        pool.startWorkers()
        _ = pool.submit("Unsafe")
        pool.exit(0)
        #expect(pool.failures.count == 2)
    }

    @Test("a crash mid-batch fails only the running item; finished items are kept; the rest re-runs on the replacement")
    func crashMidBatch() {
        var pool = Harness(workers: 1)
        pool.startWorkers()
        let batch = pool.submit("Item", items: 6)
        // Items 0 and 1 were sent; 2 and 3 are recorded in the journal; item 4 crashed the worker.
        pool.receive(.partial(taskID: batch.id, firstItem: 0, count: 2, outputs: [3, 4]), from: 0)
        let journal = JournalSnapshot(
            progress: Harness.progress(batch.id, item: 4, start: 0),
            firstItem: 2,
            resolved: 2,
            outputs: [5, 6]
        )
        pool.exit(0, journal: journal)
        #expect(pool.batches.isEmpty && pool.failures.isEmpty)
        let requeued = pool.waiting.first
        #expect(requeued?.id == batch.id && requeued?.nextItem == 5 && requeued?.failures[4]?.code == .workerCrashed)
        #expect(requeued?.failures[4]?.index == 4 && requeued?.failures[4]?.job == "Item#4")
        pool.startWorkers()
        pool.receive(
            .result(taskID: batch.id, isBatch: true, runNanoseconds: 10, firstItem: 5, count: 1, output: [7]),
            from: 0
        )
        #expect(pool.batches.count == 1)
        #expect(pool.batches[0].outputs == [BinaryTag.unkeyed, 3, 4, 5, 6, 7, BinaryTag.end])
        #expect(Array(pool.batches[0].failures.keys) == [4])
        #expect(pool.machine.stats.failed == 1 && pool.machine.stats.isConsistent)
    }

    @Test("a job over its timeout inside a batch kills the worker; that item times out, the rest re-runs")
    func perJobTimeoutInsideBatch() {
        var pool = Harness(workers: 1)
        pool.startWorkers()
        let batch = pool.submit("Nap", items: 10, timeout: 200_000_000)
        let start = pool.now
        // Nine items of 100 ms: the batch runs for 900 ms, each item stays under its 200 ms limit.
        for item in 0..<9 {
            pool.now = start + UInt64(item) * 100_000_000 + 150_000_000
            pool.tick(progress: [Harness.progress(batch.id, item: item, start: start + UInt64(item) * 100_000_000)])
            #expect(pool.signals.isEmpty, "item \(item)")
        }
        // Item 9 hangs.
        let hangStart = start + 900_000_000
        pool.now = hangStart + 200_000_000
        pool.tick(progress: [Harness.progress(batch.id, item: 9, start: hangStart)])
        #expect(pool.signals.map(\.signal) == [Signals.kill])
        pool.exit(
            0,
            journal: JournalSnapshot(
                progress: Harness.progress(batch.id, item: 9, start: hangStart),
                firstItem: 0,
                resolved: 9,
                outputs: Array(repeating: 1, count: 9)
            )
        )
        #expect(pool.batches.count == 1)
        #expect(pool.batches[0].failures[9]?.code == .taskTimedOut && pool.batches[0].failures[9]?.index == 9)
    }

    @Test("a single job's timeout counts from when the worker started it, not when it was sent")
    func singleJobTimeoutFromObservedStart() {
        var pool = Harness(workers: 1)
        pool.startWorkers()
        let task = pool.submit("Nap", timeout: 100_000_000)
        pool.now += 150_000_000
        pool.tick(progress: [Harness.progress(0, item: nil, start: 0)])  // not started yet
        #expect(pool.signals.isEmpty)
        pool.tick(progress: [Harness.progress(task.id, item: 0, start: pool.now - 50_000_000)])
        #expect(pool.signals.isEmpty)
        pool.now += 60_000_000
        pool.tick(progress: [Harness.progress(task.id, item: 0, start: pool.now - 110_000_000)])
        #expect(pool.signals.count == 1)
        pool.exit(0)
        #expect(pool.failures.first?.code == .taskTimedOut)
    }

    @Test("cancelling a prefetched job withdraws it without touching the worker; its skip is acknowledged")
    func cancelPrefetched() {
        var pool = Harness(workers: 1)
        pool.startWorkers()
        let warm = pool.submit("Short")
        pool.result(warm.id, from: 0)
        let running = pool.submit("Short")
        let queued = pool.submit("Short")
        #expect(pool.sent[0].suffix(2) == [running.id, queued.id])
        var actions: [ProcessPoolStateMachine.Action] = []
        let found = pool.machine.locateInFlight { $0 === queued.sink }
        #expect(found?.isHead == false)
        #expect(
            pool.machine.cancelInFlight(
                slot: 0,
                taskID: queued.id,
                mode: .stopRunning,
                started: false,
                actions: &actions
            )
        )
        pool.perform(actions)
        #expect(pool.cancelledCount == 1 && pool.signals.isEmpty)
        pool.result(running.id, from: 0)
        pool.receive(.cancelled(taskID: queued.id), from: 0)
        let stats = pool.machine.stats
        #expect(stats.cancelled == 1 && stats.completed == 2 && stats.running == 0 && stats.isConsistent)
    }

    @Test("cancelling a job handed to a worker still being spawned withdraws it: the worker never sees it, nor dies")
    func cancelBeforeTheWorkerExists() {
        for mode in [CancellationMode.stopRunning, .finishRunning] {
            var pool = Harness(workers: 1)  // spawn requested, not answered: the slot has no descriptors yet
            let task = pool.submit("Slow")
            #expect(pool.machine.slots[0].inFlight.map(\.id) == [task.id], "handed to the spawning worker")
            var actions: [ProcessPoolStateMachine.Action] = []
            // The pool cannot read a journal that does not exist, so it reports the head task as started.
            #expect(pool.machine.cancelInFlight(slot: 0, taskID: task.id, mode: mode, started: true, actions: &actions))
            pool.perform(actions)
            #expect(pool.cancelledCount == 1)
            #expect(pool.signals.isEmpty && pool.machine.slots[0].killReason == nil, "\(mode): nothing to kill")
            #expect(pool.machine.slots[0].inFlight.isEmpty)

            pool.startWorkers()
            #expect(pool.sent[0].isEmpty, "\(mode): the cancelled job's run frame never reached the worker")
            let next = pool.submit("Slow")
            #expect(pool.sent[0] == [next.id])
            pool.result(next.id, from: 0)
            let stats = pool.machine.stats
            #expect(stats.cancelled == 1 && stats.completed == 1 && stats.running == 0 && stats.isConsistent)
            #expect(pool.machine.workersReplaced == 0)
        }
    }

    @Test("cancelling a running job: .stopRunning kills its worker, .finishRunning lets it finish and drops the result")
    func cancelRunningBothModes() {
        for mode in [CancellationMode.stopRunning, .finishRunning] {
            var pool = Harness(workers: 1)
            pool.startWorkers()
            let task = pool.submit("Slow")
            let behind = pool.submit("Slow")
            var actions: [ProcessPoolStateMachine.Action] = []
            #expect(pool.machine.cancelInFlight(slot: 0, taskID: task.id, mode: mode, started: true, actions: &actions))
            pool.perform(actions)
            #expect(pool.cancelledCount == 1)
            if mode == .stopRunning {
                #expect(pool.signals.map(\.signal) == [Signals.kill])
                pool.exit(0)
                #expect(pool.failures.isEmpty, "the kill is the cancellation, not a crash")
                #expect(pool.waiting.map(\.id) == [behind.id])
            } else {
                #expect(pool.signals.isEmpty)
                pool.result(task.id, from: 0)
                #expect(pool.sent[0] == [task.id, behind.id])
            }
            #expect(pool.machine.stats.cancelled == 1 && pool.machine.stats.isConsistent)
        }
    }

    @Test("a worker that exits before hello breaks the pool with the right error, and queued work fails with it")
    func brokenPoolErrors() {
        let cases: [(OffloadError.Termination, ProcessPoolStateMachine.KillReason?, OffloadError.Code)] = [
            (.exited(78), nil, .workerEntryPointMissing),
            (.signaled(Signals.segmentationFault), nil, .workerStartFailed),
            (.signaled(Signals.kill), .startTimeout, .workerEntryPointMissing),
            (.signaled(Signals.kill), .protocolViolation(.protocolViolation("garbage")), .workerStartFailed),
        ]
        for (termination, reason, code) in cases {
            var pool = Harness(workers: 1)
            pool.startWorkers(hello: false)
            let task = pool.submit()
            let other = pool.submit()
            if let reason {
                var actions: [ProcessPoolStateMachine.Action] = []
                pool.machine.kill(slot: 0, reason: reason, actions: &actions)
                pool.perform(actions)
            }
            pool.exit(0, termination)
            #expect(pool.failures.map(\.code) == [code, code], "\(termination) \(String(describing: reason))")
            if reason != nil {
                #expect(pool.failures.first?.termination == nil, "the pool's own kill is not the cause")
            }
            _ = (task, other)
            #expect(pool.spawnRequests.isEmpty, "a broken pool does not respawn")
            var actions: [ProcessPoolStateMachine.Action] = []
            let sink = FakeSink()
            #expect(throws: OffloadError.self) {
                _ = try pool.machine.submit(
                    PoolTask(
                        jobName: "J",
                        payload: [],
                        itemCount: nil,
                        isIdempotent: false,
                        timeout: nil,
                        sink: sink,
                        describe: { _ in "J" }
                    ),
                    now: pool.now,
                    actions: &actions
                )
            }
            #expect(pool.readiness == [false])
        }
    }

    @Test("an initializer failure or a failed spawn breaks the pool")
    func initializerAndSpawnFailures() {
        var pool = Harness(workers: 2)
        pool.startWorkers(hello: false)
        _ = pool.submit()
        let failure = RemoteFailure(code: .workerInitializationFailed, errorType: "E", message: "no cache")
        pool.receive(
            .hello(Message.Hello(formatVersion: JobCodec.formatVersion, pid: 1000, initializerFailure: failure)),
            from: 0
        )
        #expect(pool.failures.map(\.code) == [.workerInitializationFailed])

        var spawn = Harness(workers: 1)
        _ = spawn.submit()
        var actions: [ProcessPoolStateMachine.Action] = []
        spawn.machine.spawnFailed(slot: 0, error: .spawnFailed("/x", errno: 2), now: spawn.now, actions: &actions)
        spawn.perform(actions)
        #expect(spawn.failures.map(\.code) == [.spawnFailed])
    }

    @Test("a protocol violation from a worker kills it; its job fails with protocolViolation")
    func violationKills() {
        var pool = Harness(workers: 1)
        pool.startWorkers()
        let task = pool.submit()
        pool.result(task.id + 99, from: 0)
        #expect(pool.signals.map(\.signal) == [Signals.kill])
        pool.exit(
            0,
            journal: JournalSnapshot(
                progress: Harness.progress(task.id, item: 0, start: 0),
                firstItem: 0,
                resolved: 0,
                outputs: []
            )
        )
        #expect(pool.failures.first?.code == .protocolViolation)
    }

    @Test("shutdown drains, asks workers to exit, then escalates to SIGTERM and SIGKILL at each grace deadline")
    func shutdownEscalation() {
        var pool = Harness(workers: 2)
        pool.startWorkers()
        let task = pool.submit()
        var actions: [ProcessPoolStateMachine.Action] = []
        _ = pool.machine.shutdown(cancelPending: false, now: pool.now, actions: &actions)
        pool.perform(actions)
        #expect(pool.shutdownFramesSent.isEmpty, "work is left: drain first")
        pool.result(task.id, from: 0)
        #expect(pool.shutdownFramesSent == [0, 1])
        pool.now += 999_000_000
        pool.tick()
        #expect(pool.signals.isEmpty)
        pool.now += 1_000_000
        pool.tick()
        #expect(pool.signals.map(\.signal) == [Signals.terminate, Signals.terminate])
        pool.exit(0, .exited(0))
        pool.now += 1_000_000_000
        pool.tick()
        #expect(pool.signals.map(\.signal) == [Signals.terminate, Signals.terminate, Signals.kill])
        #expect(!pool.terminated)
        pool.exit(1)
        #expect(pool.terminated && pool.machine.lifecycle == .terminated)
        #expect(pool.spawnRequests.isEmpty, "no respawn while stopping")
        #expect(pool.closed.count == 2)
    }

    @Test("shutdown with cancelPending withdraws queued tasks; a worker recycles after maxTasksPerWorker")
    func shutdownCancelsAndRecycling() {
        var pool = Harness(workers: 1) { $0.maxTasksPerWorker = 2 }
        pool.startWorkers()
        let a = pool.submit("Slow")
        let b = pool.submit("Slow")
        var actions: [ProcessPoolStateMachine.Action] = []
        let withdraw = pool.machine.shutdown(cancelPending: true, now: pool.now, actions: &actions)
        #expect(withdraw.count == 1 && withdraw[0] === b.sink)
        pool.perform(actions)
        _ = b.sink.cancelIfPending { if $0 { pool.machine.pendingWithdrawn() } }
        pool.result(a.id, from: 0)
        #expect(pool.machine.stats.cancelled == 1 && pool.shutdownFramesSent == [0])

        var recycle = Harness(workers: 1) { $0.maxTasksPerWorker = 2 }
        recycle.startWorkers()
        let first = recycle.submit()
        recycle.result(first.id, from: 0)
        let second = recycle.submit()
        let third = recycle.submit()
        recycle.result(second.id, from: 0)
        #expect(recycle.shutdownFramesSent == [0])
        #expect(recycle.machine.pending.map(\.id) == [third.id])
        recycle.exit(0, .exited(0))
        #expect(recycle.spawnRequests == [0])
    }

    @Test("a write that the pipe took only in part is resumed in order before anything queued later")
    func partialWriteKeepsOrder() throws {
        var pool = Harness(workers: 1)
        pool.startWorkers()
        var writer = FrameWriter()
        Message.run(taskID: 1, jobName: "A", isBatch: false, firstItem: 0, job: [1, 2, 3]).append(to: &writer)
        var actions: [ProcessPoolStateMachine.Action] = []
        pool.machine.slots[0].outbox = writer
        pool.machine.flush(slot: 0, actions: &actions)
        guard case .write(_, let generation, _, _, let bytes)? = actions.first else {
            Issue.record("expected a write")
            return
        }
        Message.shutdown.append(to: &pool.machine.slots[0].outbox)
        var more: [ProcessPoolStateMachine.Action] = []
        pool.machine.wrote(slot: 0, generation: generation, bytes: bytes, written: 5, failed: false, actions: &more)
        #expect(pool.machine.wantsWritable(slot: 0))
        var rest = pool.machine.slots[0].outbox.take()
        rest = Array(bytes.prefix(5)) + rest
        var reader = FrameReader(maxPayload: 1024)
        reader.append(rest)
        #expect(try reader.next()?.kind == .run)
        #expect(try reader.next()?.kind == .shutdown)
    }

    @Test("memory readings are requested on schedule for busy workers; one over the limit kills the worker")
    func memoryLimit() {
        var pool = Harness(workers: 1) {
            $0.memoryLimit = 100
            $0.memoryPollInterval = 5_000_000
        }
        pool.startWorkers()
        pool.tick()
        #expect(pool.memoryRequests.isEmpty, "an idle worker is not measured")
        let task = pool.submit("Big", idempotent: true)
        pool.tick()
        #expect(pool.memoryRequests.count == 1)
        pool.now += 1_000_000
        pool.tick()
        #expect(pool.memoryRequests.count == 1, "not before the poll interval")
        var actions: [ProcessPoolStateMachine.Action] = []
        let (slot, generation) = pool.memoryRequests[0]
        pool.machine.memoryMeasured(slot: slot, generation: generation, bytes: 50, actions: &actions)
        #expect(actions.isEmpty)
        pool.machine.memoryMeasured(slot: slot, generation: generation, bytes: 500, actions: &actions)
        pool.perform(actions)
        #expect(pool.signals.map(\.signal) == [Signals.kill])
        pool.exit(0, journal: JournalSnapshot(progress: Harness.progress(task.id, item: 0, start: 0), firstItem: 0, resolved: 0, outputs: []))
        #expect(pool.failures.first?.code == .memoryLimitExceeded)
        #expect(pool.failures.first?.message.contains("500 bytes") == true)
    }
}
