import COffloadShims
import Glibc

/// The operations a shared-memory ring needs on a ``SharedMapping``: acquire loads, exchanges, a futex on a word,
/// and raw copies in and out. The futex is the process-shared kind (not `FUTEX_PRIVATE_FLAG`): waiter and waker are
/// different processes mapping the same memory file.
extension SharedMapping {
    @inline(__always)
    private func wordAddress(_ index: Int) -> UnsafeMutablePointer<UInt64> {
        precondition(index >= 0 && (index + 1) * 8 <= byteCount, "shared word \(index) out of range")
        return (base + index * 8).assumingMemoryBound(to: UInt64.self)
    }

    /// Atomically loads 64-bit word `index` with acquire ordering.
    @inline(__always)
    package func loadAcquire(_ index: Int) -> UInt64 {
        coffload_shared_load_acquire(wordAddress(index))
    }

    /// Atomically replaces 64-bit word `index` (sequentially consistent); returns the previous value.
    @inline(__always)
    package func exchange(_ index: Int, _ value: UInt64) -> UInt64 {
        coffload_shared_exchange(wordAddress(index), value)
    }

    /// Sleeps while the low 32 bits of word `index` equal `expected`, at most `timeoutNanoseconds` (`nil`: no limit).
    /// Returns `false` on a timeout; `true` when woken, interrupted, or the value already differed (callers re-check
    /// their condition either way). The corresponding system call is `futex(FUTEX_WAIT)`.
    @discardableResult
    package func futexWait(_ index: Int, expected: UInt32, timeoutNanoseconds: UInt64?) -> Bool {
        // Little-endian (x86-64, AArch64): the low half of the 64-bit word is the 32-bit word at its address.
        let address = UnsafeMutableRawPointer(wordAddress(index)).assumingMemoryBound(to: UInt32.self)
        let timeout = timeoutNanoseconds.map { Int64(clamping: $0) } ?? -1
        // Policy: EINTR and EAGAIN count as a wake-up (the caller re-checks its condition either way), so the
        // call is not retried here; only a timeout is reported.
        let (rc, error) = RawSyscalls.futexWait(address, expected: expected, timeoutNanoseconds: timeout)
        return rc == 0 || error != ETIMEDOUT
    }

    /// Wakes every process sleeping in ``futexWait(_:expected:timeoutNanoseconds:)`` on word `index`.
    /// The corresponding system call is `futex(FUTEX_WAKE)`.
    package func futexWake(_ index: Int) {
        let address = UnsafeMutableRawPointer(wordAddress(index)).assumingMemoryBound(to: UInt32.self)
        _ = RawSyscalls.futexWake(address, count: Int32.max)
    }

    /// Copies `count` bytes from `offset` to `destination`.
    @inline(__always)
    package func copyOut(at offset: Int, count: Int, to destination: UnsafeMutableRawPointer) {
        precondition(offset >= 0 && count >= 0 && offset + count <= byteCount, "shared read out of range")
        destination.copyMemory(from: base + offset, byteCount: count)
    }

    /// Copies `count` bytes from `source` to `offset`.
    @inline(__always)
    package func copyIn(from source: UnsafeRawPointer, count: Int, at offset: Int) {
        precondition(offset >= 0 && count >= 0 && offset + count <= byteCount, "shared write out of range")
        (base + offset).copyMemory(from: source, byteCount: count)
    }
}

extension Syscalls {
    /// Tells the CPU the caller is busy-waiting (`pause` / `yield`): cheaper for the sibling hyperthread, no system
    /// call.
    @inline(__always)
    package static func cpuRelax() {
        coffload_cpu_relax()
    }

    /// Gives the calling thread's CPU to another runnable thread, if any (`sched_yield`).
    package static func yieldProcessor() {
        _ = sched_yield()
    }
}
