import COffloadShims
import Glibc

extension RawSyscalls {
    /// `futex(address, FUTEX_WAIT, expected, timeout)` on memory shared between processes: 0, or -1 with `errno`
    /// (`EAGAIN`: the word differed; `ETIMEDOUT`; `EINTR`). A negative timeout waits without limit.
    @inline(__always)
    package static func futexWait(
        _ address: UnsafeMutablePointer<UInt32>,
        expected: UInt32,
        timeoutNanoseconds: Int64
    ) -> (Int32, errno: Int32) {
        let rc = coffload_futex_wait(address, expected, timeoutNanoseconds)
        return (rc, rc < 0 ? errno : 0)
    }

    /// `futex(address, FUTEX_WAKE, count)` on shared memory: the number woken, or -1 with `errno`.
    @inline(__always)
    package static func futexWake(_ address: UnsafeMutablePointer<UInt32>, count: Int32) -> (Int32, errno: Int32) {
        let rc = coffload_futex_wake(address, count)
        return (rc, rc < 0 ? errno : 0)
    }
}
