@testable import Offload
@testable import OffloadCore
@testable import OffloadSystem
@testable import OffloadWire
import Testing

/// A queue entry whose start can be refused, as a cancelled task's is.
private final class FakeEntry: SchedulerEntry {
    let isTask: Bool
    var cancelled = false
    init(isTask: Bool = true) { self.isTask = isTask }
    func start() -> Bool { !cancelled }
}

/// The pure state machine, without threads (async-algorithms' ChannelStateMachine tests, in spirit).
@Suite struct WorkerSchedulerTests {
    @Test("submitting wakes the most recently idle worker, or queues when none sleeps")
    func submitWakesSleepers() {
        var scheduler = WorkerScheduler<FakeEntry>(workers: 2)
        var batch: [FakeEntry] = []
        guard case .sleep = scheduler.next(worker: 0, into: &batch) else { Issue.record("expected sleep"); return }
        guard case .sleep = scheduler.next(worker: 1, into: &batch) else { Issue.record("expected sleep"); return }
        #expect(scheduler.submit(FakeEntry()) == .wake(1))
        #expect(scheduler.submit(FakeEntry()) == .wake(0))
        #expect(scheduler.submit(FakeEntry()) == .queued)
        #expect(scheduler.stats().pending == 3)
    }

    @Test("an empty queue answers idle without registering the worker when it may not sleep")
    func idleDoesNotRegister() {
        var scheduler = WorkerScheduler<FakeEntry>(workers: 2)
        var batch: [FakeEntry] = []
        guard case .idle = scheduler.next(worker: 0, into: &batch, maySleep: false) else {
            Issue.record("expected idle")
            return
        }
        // Only one worker polls: the second one sleeps.
        guard case .sleep = scheduler.next(worker: 1, into: &batch, maySleep: false) else {
            Issue.record("expected sleep")
            return
        }
        // The poller can take one entry without a wake-up; a second queued entry wakes the sleeper.
        #expect(scheduler.submit(FakeEntry()) == .queued)
        #expect(scheduler.submit(FakeEntry()) == .wake(1))
    }

    @Test("a batch takes at most an even share of the queue among awake workers, up to the limit")
    func batchesShareTheQueue() {
        var scheduler = WorkerScheduler<FakeEntry>(workers: 2)
        for _ in 0..<10 { _ = scheduler.submit(FakeEntry()) }
        var batch: [FakeEntry] = []
        guard case .run = scheduler.next(worker: 0, into: &batch, limit: 16) else { Issue.record("expected run"); return }
        #expect(batch.count == 5)  // 10 queued, 2 workers awake
        batch.removeAll()
        guard case .run = scheduler.next(worker: 1, into: &batch, limit: 2) else { Issue.record("expected run"); return }
        #expect(batch.count == 2)
        #expect(scheduler.stats().running == 7 && scheduler.stats().pending == 3)
        scheduler.tasksFinished(completed: 6, failed: 1)
        #expect(scheduler.stats() == PoolStats(workers: 2, submitted: 10, completed: 6, failed: 1, pending: 3))
    }

    @Test("next skips entries cancelled while queued and counts started ones as running")
    func nextSkipsCancelled() {
        var scheduler = WorkerScheduler<FakeEntry>(workers: 1)
        let cancelled = FakeEntry()
        let live = FakeEntry()
        _ = scheduler.submit(cancelled)
        _ = scheduler.submit(live)
        cancelled.cancelled = true
        scheduler.taskCancelled()
        var batch: [FakeEntry] = []
        guard case .run = scheduler.next(worker: 0, into: &batch) else { Issue.record("expected run"); return }
        #expect(batch.count == 1 && batch[0] === live)
        let stats = scheduler.stats()
        #expect(stats.running == 1 && stats.pending == 0 && stats.cancelled == 1 && stats.isConsistent)
        scheduler.tasksFinished(completed: 0, failed: 1)
        #expect(scheduler.stats().failed == 1 && scheduler.stats().running == 0)
    }

    @Test("shutdown refuses tasks, still accepts executor jobs while workers live, and stops after the last exits")
    func shutdownLifecycle() {
        var scheduler = WorkerScheduler<FakeEntry>(workers: 2)
        var batch: [FakeEntry] = []
        guard case .sleep = scheduler.next(worker: 0, into: &batch) else { Issue.record("expected sleep"); return }
        _ = scheduler.submit(FakeEntry())
        let (wake, withdrawn) = scheduler.shutdown(cancelPending: true)
        #expect(withdrawn.count == 1)
        #expect(wake.isEmpty)  // worker 0 was woken by the submit already
        #expect(scheduler.submit(FakeEntry()) == .rejected)
        #expect(scheduler.submit(FakeEntry(isTask: false)) == .queued)
        guard case .run = scheduler.next(worker: 0, into: &batch), batch.count == 1, !batch[0].isTask else {
            Issue.record("expected the job")
            return
        }
        batch.removeAll()
        guard case .exit(last: false) = scheduler.next(worker: 0, into: &batch) else {
            Issue.record("expected exit")
            return
        }
        guard case .exit(last: true) = scheduler.next(worker: 1, into: &batch) else {
            Issue.record("expected last exit")
            return
        }
        #expect(scheduler.lifecycle == .stopped)
        #expect(scheduler.submit(FakeEntry(isTask: false)) == .rejected)
    }
}
