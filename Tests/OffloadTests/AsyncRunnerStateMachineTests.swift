import Testing

@testable import Offload

/// The async runner's decisions without tasks or continuations: entries and waiters are plain values.
@Suite struct AsyncRunnerStateMachineTests {
    typealias Machine = AsyncRunnerStateMachine<String, Int>

    @Test("work launches while slots are free and queues beyond the limit")
    func launchesUpToTheLimit() {
        var machine = Machine(limit: 2)
        #expect(isLaunch(machine.submit("a")) && isLaunch(machine.submit("b")))
        #expect(isQueued(machine.submit("c")))
        #expect(machine.active == 2 && Array(machine.queue) == ["c"] && machine.accounting.pending == 3)
    }

    @Test("a freed slot goes to the oldest queued entry, else it is released")
    func releaseHandsTheSlotOnInOrder() {
        var machine = Machine(limit: 1)
        _ = machine.submit("a")
        _ = machine.submit("b")
        _ = machine.submit("c")
        guard case .launch("b") = machine.release() else { Issue.record("expected b"); return }
        guard case .launch("c") = machine.release() else { Issue.record("expected c"); return }
        guard case .none = machine.release() else { Issue.record("expected none"); return }
        #expect(machine.active == 0)
    }

    @Test("counters move through pending, running and an outcome, and always add up")
    func accountingAddsUp() {
        var machine = Machine(limit: 2)
        _ = machine.submit("a")
        _ = machine.submit("b")
        _ = machine.submit("c")
        machine.started()
        machine.finished(succeeded: true, nanoseconds: 5)
        machine.started()
        machine.finished(succeeded: false, nanoseconds: 7)
        machine.cancelledBeforeStart()
        let stats = machine.accounting.stats(workers: 2)
        #expect(stats.completed == 1 && stats.failed == 1 && stats.cancelled == 1 && stats.pending == 0)
        #expect(stats.isConsistent && machine.busyNanoseconds == 12)
    }

    @Test("shutdown refuses new work and, when asked, hands back the queue to cancel")
    func shutdownRefusesAndWithdraws() {
        var machine = Machine(limit: 1)
        _ = machine.submit("running")
        _ = machine.submit("queued-1")
        _ = machine.submit("queued-2")
        #expect(machine.shutdown(cancelPending: true) == ["queued-1", "queued-2"])
        #expect(machine.queue.isEmpty && machine.lifecycle == .draining)
        guard case .refuse = machine.submit("late") else { Issue.record("expected refuse"); return }
        #expect(machine.shutdown(cancelPending: false).isEmpty)  // idempotent
    }

    @Test("a drain waiter is resumed by the release of the last running task, exactly once")
    func drainWaitersResumeOnce() {
        var machine = Machine(limit: 2)
        _ = machine.submit("a")
        _ = machine.submit("b")
        _ = machine.shutdown(cancelPending: false)
        #expect(machine.awaitDrain(1) == false)
        #expect(machine.awaitDrain(2) == false)
        guard case .none = machine.release() else { Issue.record("one task still runs"); return }
        guard case .resume(let waiters) = machine.release() else { Issue.record("expected resume"); return }
        #expect(waiters == [1, 2] && machine.lifecycle == .stopped)
        #expect(machine.awaitDrain(3) == true)  // nothing runs: resume at once
    }

    @Test("draining an idle runner stops it at once")
    func idleDrainStops() {
        var machine = Machine(limit: 1)
        _ = machine.shutdown(cancelPending: false)
        #expect(machine.awaitDrain(1) && machine.lifecycle == .stopped)
    }

    private func isLaunch(_ action: Machine.SubmitAction) -> Bool {
        if case .launch = action { return true }
        return false
    }

    private func isQueued(_ action: Machine.SubmitAction) -> Bool {
        if case .queued = action { return true }
        return false
    }
}
