import OffloadTestJobs
import Testing

@testable import Offload
@testable import OffloadCore
@testable import OffloadSystem
@testable import OffloadWire

/// A worker that dies while another thread is writing a command to it: its slot must still get a replacement once
/// that write ends. The write happens outside the pool's lock (on the submitting thread), so the manager can reap the
/// worker between the `write` system call and the writer's report of it (`wrote`); the slot's descriptors are then
/// closed only after the write, and the replacement used to be forgotten there: a one-worker pool with requeued
/// tasks then had no worker, and its manager waited on its wake-up descriptor alone, for ever.
///
/// Driven through the pure state machine, in the exact order the threads interleave (no threads, no processes).
@Suite struct ProcessPoolReplacementAfterWriteTests {
    private static func settings(retries: Int) -> ProcessPoolStateMachine.Settings {
        ProcessPoolStateMachine.Settings(
            workers: 1,
            maxTasksPerWorker: nil,
            maxPrefetch: 64,
            prefetchWindow: 200_000,
            retries: retries,
            startTimeout: 10_000_000_000,
            shutdownGrace: 1_000_000_000,
            memoryLimit: nil,
            memoryPollInterval: 5_000_000
        )
    }

    private static func handles(pid: Int32) -> WorkerHandles {
        WorkerHandles(generation: 0, pid: pid, pidfd: -1, commandFD: 10, resultFD: -1, stderrFD: -1)
    }

    private static func task(idempotent: Bool) -> (PoolTask, FakeSink) {
        let sink = FakeSink()
        let task = PoolTask(
            jobName: "CrashOnce",
            payload: [0],
            itemCount: nil,
            isIdempotent: idempotent,
            timeout: nil,
            sink: sink,
            describe: { _ in "CrashOnce" }
        )
        return (task, sink)
    }

    private struct Outcome {
        var spawns: [Int] = []
        var writes: [(generation: Int, bytes: [UInt8])] = []
        var deliveries = 0
    }

    /// Sorts actions as the pool's core would perform them (writes are left pending: the test decides when they end).
    private static func collect(_ actions: [ProcessPoolStateMachine.Action], into outcome: inout Outcome) {
        for action in actions {
            switch action {
            case .spawn(let slot): outcome.spawns.append(slot)
            case .write(_, let generation, _, _, let bytes): outcome.writes.append((generation, bytes))
            case .deliver: outcome.deliveries += 1
            default: break
            }
        }
    }

    private static func ready(_ machine: inout ProcessPoolStateMachine, pid: Int32, now: UInt64) {
        var actions: [ProcessPoolStateMachine.Action] = []
        machine.spawned(slot: 0, handles: handles(pid: pid), now: now, actions: &actions)
        hello(&machine, pid: pid, now: now, actions: &actions)
    }

    private static func hello(
        _ machine: inout ProcessPoolStateMachine,
        pid: Int32,
        now: UInt64,
        actions: inout [ProcessPoolStateMachine.Action]
    ) {
        let hello = Message.hello(Message.Hello(formatVersion: JobCodec.formatVersion, pid: pid))
        machine.received(hello, slot: 0, now: now, actions: &actions)
    }

    @Test(
        "a worker reaped while a write to it is in progress is replaced when the write ends, and its retried task runs",
        arguments: [true, false]
    )
    func replacedAfterWriteEnds(retried: Bool) throws {
        let now: UInt64 = 1_000_000_000
        var machine = ProcessPoolStateMachine(settings: Self.settings(retries: retried ? 1 : 0))
        var actions: [ProcessPoolStateMachine.Action] = []
        machine.spawnMissing(actions: &actions)
        #expect(actions.count == 1)
        Self.ready(&machine, pid: 1000, now: now)

        // The first task runs. Without retries it fails with the crash, and a second one waits in the pool's queue
        // (its duration is unknown, so the prefetch rule keeps it off the busy worker): it must run on the replacement.
        var outcome = Outcome()
        let (first, firstSink) = Self.task(idempotent: true)
        actions = []
        _ = try machine.submit(first, now: now, actions: &actions)
        Self.collect(actions, into: &outcome)
        let write = try #require(outcome.writes.first)
        var second: FakeSink?
        if !retried {
            let (task, sink) = Self.task(idempotent: false)
            actions = []
            _ = try machine.submit(task, now: now, actions: &actions)
            Self.collect(actions, into: &outcome)
            second = sink
        }

        // The submitting thread has written the bytes but not yet said so; the worker read them, crashed, and the
        // manager reaped it.
        actions = []
        machine.exited(
            slot: 0,
            termination: .signaled(Signals.kill),
            journal: nil,
            stderr: [],
            now: now,
            actions: &actions
        )
        var afterExit = Outcome()
        Self.collect(actions, into: &afterExit)
        #expect(machine.hasWork, "the crashed task (retried) or the queued one waits for a replacement")

        // The write ends: the dead worker's descriptors are closed now, and its slot must be respawned.
        actions = []
        machine.wrote(
            slot: 0,
            generation: write.generation,
            bytes: write.bytes,
            written: write.bytes.count,
            failed: false,
            actions: &actions
        )
        var afterWrite = Outcome()
        Self.collect(actions, into: &afterWrite)
        #expect(afterExit.spawns + afterWrite.spawns == [0], "the slot gets exactly one replacement")
        #expect(machine.slots[0].phase == .spawning)

        // The replacement says hello and gets the waiting task.
        actions = []
        machine.spawned(slot: 0, handles: Self.handles(pid: 1001), now: now, actions: &actions)
        Self.hello(&machine, pid: 1001, now: now, actions: &actions)
        #expect(machine.slots[0].inFlight.count == 1)
        #expect(machine.pending.isEmpty)
        if retried {
            #expect(machine.slots[0].inFlight.first?.sink === firstSink)
        } else {
            #expect(machine.slots[0].inFlight.first?.sink === second)
        }
    }
}

/// The same race on real processes: a one-worker pool whose worker crashes on every job's first run, the job then
/// retried on its replacement. Each job is written by the test's thread and its crash reaped by the manager, so now
/// and then the manager reaps the worker before the writer reports its write; the pool then used to hang with no
/// worker. `OFFLOAD_TEST_CRASH_ROUNDS` sets the number of crashes (200).
@Suite(
    .serialized, .timeLimit(.minutes(2)),
    .disabled(if: ThreadSanitizer.isActive, "under ThreadSanitizer pools spawn their workers (it cannot follow clones)")
)
struct ProcessPoolCrashLoopTests {
    @Test(
        "a one-worker pool replaces its worker after every crash, through the fork server or spawned",
        arguments: (TestWorker.forkServerTestsEnabled ? [ProcessPool.StartMethod.forkServer] : []) + [.spawn]
    )
    func replacesAfterEveryCrash(startMethod: ProcessPool.StartMethod) async throws {
        let rounds = Int(Syscalls.environmentValue("OFFLOAD_TEST_CRASH_ROUNDS") ?? "") ?? 200
        let configuration = TestWorker.configuration(workers: 1) {
            $0.startMethod = startMethod
            $0.retries = 1
        }
        try await withProcessPool(configuration: configuration) { pool async throws in
            for _ in 0..<rounds {
                let counter = try SharedCounter()
                #expect(try await pool.run(CrashOnce(counter: counter.handle)) == 42)
            }
            #expect(pool.stats.workersReplaced == rounds)
            #expect(pool.stats.isConsistent)
        }
    }
}
