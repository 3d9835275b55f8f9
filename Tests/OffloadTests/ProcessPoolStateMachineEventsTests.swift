import Testing

@testable import Offload
@testable import OffloadCore
@testable import OffloadSystem
@testable import OffloadWire

/// The process pool's life-cycle events and progress relay, driven through the pure state machine (no processes).
@Suite struct ProcessPoolStateMachineEventsTests {
    static func settings(_ adjust: (inout ProcessPoolStateMachine.Settings) -> Void = { _ in })
        -> ProcessPoolStateMachine.Settings
    {
        var settings = ProcessPoolStateMachine.Settings(
            workers: 1,
            maxTasksPerWorker: nil,
            maxPrefetch: 64,
            prefetchWindow: 200_000,
            retries: 0,
            startTimeout: 10_000_000_000,
            shutdownGrace: 1_000_000_000,
            memoryLimit: nil,
            memoryPollInterval: 5_000_000,
            poolName: "events"
        )
        adjust(&settings)
        return settings
    }

    static func handles(generation: Int = 0, pid: Int32) -> WorkerHandles {
        WorkerHandles(generation: generation, pid: pid, pidfd: -1, commandFD: 10, resultFD: -1, stderrFD: -1)
    }

    static func events(_ actions: [ProcessPoolStateMachine.Action]) -> [PoolEvent] {
        actions.compactMap { if case .event(let event) = $0 { return event } else { return nil } }
    }

    static func task(progress: ProgressRoute? = nil) -> PoolTask {
        var task = PoolTask(
            jobName: "Job",
            payload: [0],
            itemCount: 2,
            isIdempotent: false,
            timeout: nil,
            sink: FakeSink(),
            describe: { _ in "Job" }
        )
        task.progress = progress
        return task
    }

    /// Starts the one worker: spawned, then hello.
    static func start(_ machine: inout ProcessPoolStateMachine, pid: Int32) -> [ProcessPoolStateMachine.Action] {
        var actions: [ProcessPoolStateMachine.Action] = []
        machine.spawnMissing(actions: &actions)
        machine.spawned(slot: 0, handles: handles(pid: pid), now: 1, actions: &actions)
        machine.received(.hello(Message.Hello(formatVersion: JobCodec.formatVersion, pid: pid)), slot: 0, now: 1,
                         actions: &actions)
        return actions
    }

    @Test("start, crash with its signal and stderr, replacement: each an event with the worker's PID and cause")
    func crashEvents() throws {
        var machine = ProcessPoolStateMachine(settings: Self.settings())
        let started = Self.events(Self.start(&machine, pid: 41))
        #expect(started.map(\.kind) == [.workerStarted, .poolStarted])
        #expect(started[0].workerPID == 41 && started[0].pool == "events" && started[0].executor == .processes)

        var actions: [ProcessPoolStateMachine.Action] = []
        _ = try machine.submit(Self.task(), now: 2, actions: &actions)
        actions = []
        machine.exited(slot: 0, termination: .signaled(11), journal: nil, stderr: ["boom"], now: 3,
                       actions: &actions)
        let exited = try #require(Self.events(actions).first)
        #expect(exited.kind == .workerExited && exited.cause == .crashed && exited.workerPID == 41)
        #expect(exited.signal == "SIGSEGV" && exited.exitStatus == nil && exited.stderrTail == ["boom"])

        actions = []
        machine.spawned(slot: 0, handles: Self.handles(pid: 42), now: 4, actions: &actions)
        #expect(Self.events(actions).map(\.kind) == [.workerReplaced])
        #expect(Self.events(actions).first?.workerPID == 42)
    }

    @Test("a worker killed for its timeout or memory, or retired after its quota, exits with that cause")
    func exitCauses() throws {
        let cases: [(ProcessPoolStateMachine.KillReason, PoolEvent.Cause)] = [
            (.taskTimeout(taskID: 1, item: nil, timeout: 5), .timedOut),
            (.memory(residentBytes: 10, limit: 5), .memoryLimit),
            (.startTimeout, .startFailed),
            (.cancelled(taskID: 1), .cancelled),
            (.shutdown, .recycled),
        ]
        for (reason, cause) in cases {
            var machine = ProcessPoolStateMachine(settings: Self.settings())
            _ = Self.start(&machine, pid: 7)
            var actions: [ProcessPoolStateMachine.Action] = []
            if reason == .shutdown {
                machine.retire(slot: 0, reason: reason, actions: &actions)
            } else {
                machine.kill(slot: 0, reason: reason, actions: &actions)
            }
            actions = []
            let termination: OffloadError.Termination = reason == .shutdown ? .exited(0) : .signaled(Signals.kill)
            machine.exited(slot: 0, termination: termination, journal: nil, stderr: [], now: 5, actions: &actions)
            #expect(Self.events(actions).first?.cause == cause, "\(reason)")
        }
    }

    @Test("a watched task is announced to its worker before it runs, and its progress frames are relayed as actions")
    func progressRelay() throws {
        var machine = ProcessPoolStateMachine(settings: Self.settings())
        _ = Self.start(&machine, pid: 9)
        let monitor = ProgressMonitor()
        var actions: [ProcessPoolStateMachine.Action] = []
        let id = try machine.submit(Self.task(progress: ProgressRoute(monitor: monitor, chunkStart: 40)), now: 2,
                                    actions: &actions)
        var frames: [Message] = []
        for case .write(_, _, _, _, let bytes) in actions {
            var reader = FrameReader(maxPayload: 1 << 20)
            reader.append(bytes)
            while let frame = try reader.next() { frames.append(try Message(frame)) }
        }
        #expect(frames.first == .watch(taskID: id))
        if case .run(let taskID, _, _, _, _)? = frames.dropFirst().first { #expect(taskID == id) } else {
            Issue.record("no run frame after watch: \(frames)")
        }

        actions = []
        machine.received(.progress(taskID: id, item: 1, fraction: 0.5), slot: 0, now: 3, actions: &actions)
        let relayed = actions.compactMap { action -> (ProgressRoute, Int, Double)? in
            if case .progress(let route, let item, let fraction) = action { return (route, item, fraction) }
            return nil
        }
        #expect(relayed.count == 1 && relayed.first?.0.chunkStart == 40 && relayed.first?.1 == 1)
        #expect(relayed.first?.2 == 0.5)
        #expect(machine.stats.running == 1)  // a progress report changes nothing else

        actions = []
        machine.received(.progress(taskID: id + 99, item: 0, fraction: 0.5), slot: 0, now: 3, actions: &actions)
        #expect(actions.isEmpty)  // for a task the worker is not running: dropped
    }
}
