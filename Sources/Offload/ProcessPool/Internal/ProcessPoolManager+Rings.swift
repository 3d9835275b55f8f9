import OffloadCore
import OffloadSystem
import OffloadWire

/// The manager's side of the shared-memory transport (``SharedTransport``): it flushes queued commands into
/// command rings that have room again, drains reply rings into the same state machine events the pipes produce,
/// wakes a worker blocked on a full reply ring, spins for its ``SpinBudget`` while replies are due, and arms the
/// rings' "reader sleeps" flags before it sleeps in `poll` (a worker that then publishes rings the doorbell).
extension ProcessPoolCore {
    /// A live worker using rings, as the manager loop collected it under the lock.
    struct RingSlot {
        let index: Int
        let transport: SharedTransport
        let wantsWritable: Bool
    }

    /// While rings keep delivering, the manager still polls its descriptors (exits, wake-ups, stderr) this often.
    static let busyPollInterval: UInt64 = 200_000

    /// Flushes queued commands to rings that may have room and drains every reply ring. Returns whether any reply
    /// bytes arrived.
    func serviceRings(_ rings: [RingSlot], _ local: inout [ManagerSlot], buffer: inout [UInt8]) -> Bool {
        var progressed = false
        for ring in rings {
            if ring.wantsWritable {
                var actions: [ProcessPoolStateMachine.Action] = []
                state.withLock(self) { $0.flush(slot: ring.index, actions: &actions) }
                apply(actions, onManager: true)
            }
            if drainRing(&local[ring.index], slot: ring.index, buffer: &buffer) { progressed = true }
        }
        return progressed
    }

    /// Reads everything the worker published in its reply ring and hands the frames to the machine, unless a
    /// waiting caller holds the pool's ``ReplyDrain`` token (it reads them then); `waitForToken` when the worker
    /// exited, so that its last replies are read before its exit is handled. Returns whether any bytes arrived.
    func drainRing(_ local: inout ManagerSlot, slot index: Int, buffer: inout [UInt8], waitForToken: Bool = false) -> Bool
    {
        guard let handles = local.handles, let transport = handles.transport, let replyState = handles.replyState,
            !replyState.isClosed, transport.replies.availableBytes != 0
        else { return false }
        // Whatever the worker wrote on its result pipe before publishing these bytes comes first, as one stream
        // would deliver it: its hello, and anything a program or a job wrote to descriptor 4 (which breaks the
        // framing there and ends the worker before the ring is read). One non-blocking read per drain.
        if !local.resultClosed { readResults(&local, slot: index, buffer: &buffer) }
        if waitForToken { replyDrain.acquire() } else if !replyDrain.tryAcquire() { return false }
        defer { replyDrain.release() }
        return readReplies(slot: index, generation: handles.generation, transport, replyState, onManager: true)
            == .delivered
    }

    enum RepliesRead { case nothing, delivered, stale }

    /// Reads a reply ring to its end and hands the frames to the machine; the caller holds the ``ReplyDrain`` token.
    /// A corrupted ring header or frame is a protocol violation: the worker is killed. Frames of a worker whose
    /// exit was already handled (its slot has another generation) are dropped: its tasks were failed or re-queued.
    func readReplies(
        slot index: Int,
        generation: Int,
        _ transport: SharedTransport,
        _ replyState: RingReplyState,
        onManager: Bool
    ) -> RepliesRead {
        let replies = transport.replies
        var outcome = RepliesRead.nothing
        while !replyState.isClosed {
            let count = replies.read(into: replyDrain.buffer)
            // The worker may wait for room (a reply larger than the free space): there is some now.
            if replies.takeWriterWaiting() { replies.wakeWriter() }
            var messages: [Message] = []
            var violation: OffloadError?
            if let count {
                guard count > 0 else { return outcome }
                outcome = .delivered
                replyState.reader.append(UnsafeRawBufferPointer(rebasing: replyDrain.buffer[..<count]))
                do {
                    while let frame = try replyState.reader.next() { messages.append(try Message(frame)) }
                } catch {
                    violation = error
                }
            } else {
                violation = OffloadError(
                    .protocolViolation,
                    "the worker's shared-memory reply ring holds impossible positions (memory corrupted)"
                )
            }
            if violation != nil { replyState.close() }
            var actions: [ProcessPoolStateMachine.Action] = []
            let current = state.withLock(self) { machine -> Bool in
                guard machine.slots[index].handles?.generation == generation else { return false }
                let now = Syscalls.monotonicNanoseconds()
                for message in messages { machine.received(message, slot: index, now: now, actions: &actions) }
                if let violation {
                    machine.kill(slot: index, reason: .protocolViolation(violation), actions: &actions)
                }
                return true
            }
            guard current else { return .stale }
            apply(actions, onManager: onManager)
        }
        return outcome
    }

    /// Busy-waits up to the budget for any reply ring to receive bytes (``SpinWait``: memory loads, and a yield of
    /// the CPU every few microseconds).
    /// Stops at once when a waiting caller took the ``ReplyDrain`` token (it reads the rings; the manager then
    /// leaves the CPU to it).
    func spinForReplies(_ rings: [RingSlot], budget: inout SpinBudget) -> Bool {
        let waited = SpinWait.until(budget: budget.current) {
            replyDrain.isHeld || rings.contains { $0.transport.replies.availableBytes != 0 }
        }
        guard let waited, !replyDrain.isHeld else { return false }
        budget.arrivedWhileSpinning(after: waited)
        return true
    }

    /// Announces to every worker that the manager sleeps (they ring the doorbell after publishing); returns whether
    /// a ring received bytes meanwhile (then the manager must not sleep).
    func armRings(_ rings: [RingSlot]) -> Bool {
        for ring in rings { ring.transport.replies.announceReaderSleeping() }
        return rings.contains { $0.transport.replies.availableBytes != 0 }
    }

    /// The manager is awake again: workers need not ring.
    func disarmRings(_ rings: [RingSlot]) {
        for ring in rings { ring.transport.replies.withdrawReaderSleeping() }
    }
}
