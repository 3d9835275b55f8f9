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

    /// Reads everything the worker published in its reply ring and hands the frames to the machine. Returns
    /// whether any bytes arrived. A corrupted ring header or frame is a protocol violation: the worker is killed.
    func drainRing(_ local: inout ManagerSlot, slot index: Int, buffer: inout [UInt8]) -> Bool {
        guard let replies = local.handles?.transport?.replies, !local.ringClosed else { return false }
        guard replies.availableBytes != 0 else { return false }
        // Whatever the worker wrote on its result pipe before publishing these bytes comes first, as one stream
        // would deliver it: its hello, and anything a program or a job wrote to descriptor 4 (which breaks the
        // framing there and ends the worker before the ring is read). One non-blocking read per drain.
        if !local.resultClosed { readResults(&local, slot: index, buffer: &buffer) }
        if local.ringClosed { return false }
        var arrived = false
        while true {
            let count = buffer.withUnsafeMutableBytes { replies.read(into: $0) }
            // The worker may wait for room (a reply larger than the free space): there is some now.
            if replies.takeWriterWaiting() { replies.wakeWriter() }
            var messages: [Message] = []
            var violation: OffloadError?
            if let count {
                guard count > 0 else { return arrived }
                arrived = true
                buffer.withUnsafeBytes { local.ringReader.append(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
                do {
                    while let frame = try local.ringReader.next() { messages.append(try Message(frame)) }
                } catch {
                    violation = error
                }
            } else {
                violation = OffloadError(
                    .protocolViolation,
                    "the worker's shared-memory reply ring holds impossible positions (memory corrupted)"
                )
            }
            if violation != nil { local.ringClosed = true }
            var actions: [ProcessPoolStateMachine.Action] = []
            state.withLock(self) { machine in
                let now = Syscalls.monotonicNanoseconds()
                for message in messages { machine.received(message, slot: index, now: now, actions: &actions) }
                if let violation {
                    machine.kill(slot: index, reason: .protocolViolation(violation), actions: &actions)
                }
            }
            apply(actions, onManager: true)
            if violation != nil { return arrived }
        }
    }

    /// Busy-waits up to the budget for any reply ring to receive bytes (``SpinWait``: memory loads, and a yield of
    /// the CPU every few microseconds).
    func spinForReplies(_ rings: [RingSlot], budget: inout SpinBudget) -> Bool {
        let waited = SpinWait.until(budget: budget.current) {
            rings.contains { $0.transport.replies.availableBytes != 0 }
        }
        guard let waited else { return false }
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
