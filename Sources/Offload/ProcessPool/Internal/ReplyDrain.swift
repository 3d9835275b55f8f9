import OffloadSystem
import OffloadWire
import Synchronization

/// The parent's reading state of one worker's reply ring (shared-memory transport): the frame reader, since a frame
/// may span two drains, and whether the ring was closed for a protocol violation. Created with the worker's handles,
/// so a replacement starts with a fresh reader.
///
/// `@unchecked Sendable`: `reader` is used only by the holder of the pool's ``ReplyDrain`` token (the manager, or a
/// caller that waits for a result), which the token's acquire/release orders; `closed` is atomic.
final class RingReplyState: @unchecked Sendable {
    var reader: FrameReader
    private let closedFlag = Atomic<Bool>(false)

    init(maxPayload: Int) {
        reader = FrameReader(maxPayload: maxPayload)
    }

    /// Nothing more is read from this ring (its worker broke the protocol).
    var isClosed: Bool { closedFlag.load(ordering: .acquiring) }

    func close() { closedFlag.store(true, ordering: .releasing) }
}

/// Who reads the reply rings of a pool: its manager thread, or a caller that waits for a result that is due soon
/// and drains the rings itself instead of suspending (then no thread wakes up anywhere on the way back).
///
/// One token per pool. The manager takes it for each drain (`tryAcquire`; a worker's exit waits for it, so nothing
/// the worker published before dying is left unread). While a caller holds it the manager neither spins nor arms
/// the rings' "reader sleeps" flags — the caller is the reader. The hand-back is Dekker's handshake on two
/// sequentially consistent flags: the manager stores `managerAsleep` and then loads the token; the caller releases
/// the token and then loads `managerAsleep`. If the manager saw the token held and slept without arming, the
/// caller sees it asleep and arms the rings itself, then looks at them once more: bytes published before the
/// arming would otherwise reach nobody, so it wakes the manager for them.
final class ReplyDrain: @unchecked Sendable {
    private let held = Atomic<Bool>(false)
    private let asleep = Atomic<Bool>(false)
    /// Where the token's holder copies ring bytes to. `@unchecked Sendable` for this buffer alone: only the
    /// holder of the token touches it, and the token's acquire and release order those uses.
    let buffer: UnsafeMutableRawBufferPointer

    init() {
        buffer = .allocate(byteCount: 1 << 16, alignment: 16)
    }

    deinit { buffer.deallocate() }

    func tryAcquire() -> Bool {
        held.compareExchange(expected: false, desired: true, ordering: .sequentiallyConsistent).exchanged
    }

    /// Waits for the token (a caller holds it for one bounded spin at most).
    func acquire() {
        var spins = 0
        while !tryAcquire() {
            Syscalls.cpuRelax()
            spins &+= 1
            if spins & 63 == 0 { Syscalls.yieldProcessor() }
        }
    }

    func release() { held.store(false, ordering: .sequentiallyConsistent) }

    /// Whether someone holds the token: for the manager, which never asks while holding it, "a caller reads".
    var isHeld: Bool { held.load(ordering: .sequentiallyConsistent) }

    /// The manager is about to sleep in `poll`: returns whether it must arm the rings itself (no caller reads).
    func managerWillSleep() -> Bool {
        asleep.store(true, ordering: .sequentiallyConsistent)
        return !held.load(ordering: .sequentiallyConsistent)
    }

    func managerAwoke() { asleep.store(false, ordering: .sequentiallyConsistent) }

    /// A caller releases the token: returns whether the manager sleeps, so that the caller must arm the rings.
    func releaseByCaller() -> Bool {
        held.store(false, ordering: .sequentiallyConsistent)
        return asleep.load(ordering: .sequentiallyConsistent)
    }
}
