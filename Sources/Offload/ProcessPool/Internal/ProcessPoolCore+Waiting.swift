import OffloadCore
import OffloadSystem
import Synchronization

/// A caller that awaits a result from a worker on the shared-memory transport reads the reply rings itself for a
/// short, adaptive spin before it suspends. A warm one-job round trip then involves two threads, the caller's and
/// the worker's, instead of three: the manager would otherwise read the reply and resume the caller on Swift's
/// cooperative pool, and on a machine with two cores that third thread had to take a CPU from one of the others.
///
/// Only when the manager itself may spin (``SpinPolicy``: fewer workers than cores), so a spinning caller never
/// takes a CPU that a worker needs. The caller holds the pool's ``ReplyDrain`` token while it reads; the manager
/// stays off the rings then, and takes them back when the caller lets go.
extension ProcessPoolCore {
    /// One live worker's reply ring, as a waiting caller saw it under the lock.
    private struct WaitRing {
        let index: Int
        let generation: Int
        let resultFD: Int32
        let transport: SharedTransport
        let replyState: RingReplyState
    }

    /// Reads the reply rings until `cell` ends or the budget runs out; returns without waiting when the transport,
    /// the pool's shape or the budget rule it out, or when the manager or another caller is reading.
    func awaiting(_ cell: CompletionCell) {
        guard spin.manager > 0, configuration.usesSharedMemory else { return }
        let budget = waitSpin.withLock(self) { $0.current }
        guard budget > 0 else {
            // No spin now; a result that comes soon grows the budget back (``noteDeliveryAfterWaitGaveUp()``).
            waitGaveUpAt.store(Syscalls.monotonicNanoseconds(), ordering: .relaxed)
            return
        }
        guard replyDrain.tryAcquire() else { return }
        let rings = liveRings()
        // This thread is the reader now: workers need not ring the manager's doorbell.
        for ring in rings { ring.transport.replies.withdrawReaderSleeping() }
        var refused = false
        var read = false
        let waited = SpinWait.until(budget: rings.isEmpty ? 0 : budget) {
            for ring in rings where ring.transport.replies.availableBytes != 0 {
                // What the worker wrote on its result pipe comes first (see `drainRing`): the manager reads it.
                guard Syscalls.pendingBytes(ring.resultFD) == 0 else {
                    refused = true
                    return true
                }
                switch readReplies(
                    slot: ring.index,
                    generation: ring.generation,
                    ring.transport,
                    ring.replyState,
                    onManager: false
                ) {
                case .delivered: read = true
                case .nothing: break
                case .stale:
                    refused = true
                    return true
                }
            }
            return cell.isFinished
        }
        if replyDrain.releaseByCaller() {
            // The manager sleeps with the rings unarmed: arm them (every live worker's: one may have been started
            // since), then look once more, since what a worker published before the arming rang no doorbell.
            let current = liveRings()
            for ring in current { ring.transport.replies.announceReaderSleeping() }
            if current.contains(where: { $0.transport.replies.availableBytes != 0 }) { wake() }
        }
        guard !refused, !rings.isEmpty else { return }
        if let waited {
            if read { waitsServedBySpinning.add(1, ordering: .relaxed) }
            waitSpin.withLock(self) { $0.arrivedWhileSpinning(after: waited) }
        } else {
            waitGaveUpAt.store(Syscalls.monotonicNanoseconds(), ordering: .relaxed)
        }
    }

    /// The reply rings of the live workers, under the lock.
    private func liveRings() -> [WaitRing] {
        state.withLock(self) { machine in
            machine.slots.indices.compactMap { index -> WaitRing? in
                guard machine.slots[index].isLive, let handles = machine.slots[index].handles,
                    let transport = handles.transport, let replyState = handles.replyState, !replyState.isClosed
                else { return nil }
                return WaitRing(
                    index: index,
                    generation: handles.generation,
                    resultFD: handles.resultFD,
                    transport: transport,
                    replyState: replyState
                )
            }
        }
    }

    /// A delivery after a waiting caller gave up: how long after tells the budget whether a longer spin would
    /// have caught it (``SpinBudget/arrivedAfterSleeping(_:)``).
    func noteDeliveryAfterWaitGaveUp() {
        let gaveUp = waitGaveUpAt.load(ordering: .relaxed)
        guard gaveUp != 0,
            waitGaveUpAt.compareExchange(expected: gaveUp, desired: 0, ordering: .relaxed).exchanged
        else { return }
        let gap = Syscalls.monotonicNanoseconds() &- gaveUp
        waitSpin.withLock(self) { $0.arrivedAfterSleeping(gap) }
    }
}
