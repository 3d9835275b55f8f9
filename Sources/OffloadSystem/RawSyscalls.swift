import COffloadShims
import Glibc

/// The thin layer: one C call each, no loop, no policy, `errno` read right after the call (swift-system's
/// `Internals/Syscalls.swift` shape). ``Syscalls`` sits one level up and decides what an error means — `EINTR` is
/// retried there by ``retryingOnInterrupt(_:)``, `EAGAIN` becomes ``Syscalls/IOResult/wouldBlock`` — so a policy
/// change touches one place and the raw calls stay auditable against their man pages.
package enum RawSyscalls {
    /// `read(2)`: the byte count, or -1 with `errno`.
    @inline(__always)
    package static func read(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer) -> (Int, errno: Int32) {
        let count = Glibc.read(fd, buffer.baseAddress, buffer.count)
        return (count, count < 0 ? errno : 0)
    }

    /// `write(2)`: the byte count, or -1 with `errno`.
    @inline(__always)
    package static func write(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) -> (Int, errno: Int32) {
        let count = Glibc.write(fd, buffer.baseAddress, buffer.count)
        return (count, count < 0 ? errno : 0)
    }

    /// `poll(2)`: the number of ready descriptors, or -1 with `errno`.
    @inline(__always)
    package static func poll(_ entries: UnsafeMutableBufferPointer<pollfd>, _ timeoutMilliseconds: Int32)
        -> (Int32, errno: Int32)
    {
        let count = Glibc.poll(entries.baseAddress, nfds_t(entries.count), timeoutMilliseconds)
        return (count, count < 0 ? errno : 0)
    }

    /// `waitid(P_PIDFD, …)` through the shim: 0, or -1 with `errno`; `reaped` is 0 when `noHang` and still running.
    @inline(__always)
    package static func waitPIDFD(
        _ pidfd: Int32, noHang: Bool, reaped: inout Int32, exited: inout Int32, status: inout Int32
    ) -> (Int32, errno: Int32) {
        let rc = coffload_wait_pidfd(pidfd, noHang ? 1 : 0, &reaped, &exited, &status)
        return (rc, rc < 0 ? errno : 0)
    }

    /// `waitpid(2)` through the shim: the pid, 0 when `noHang` and still running, or -1 with `errno`.
    @inline(__always)
    package static func waitPID(_ pid: pid_t, noHang: Bool, exited: inout Int32, status: inout Int32)
        -> (Int32, errno: Int32)
    {
        let rc = coffload_wait_pid(pid, noHang ? 1 : 0, &exited, &status)
        return (rc, rc < 0 ? errno : 0)
    }
}

/// The interruption policy, one level above the raw calls: a call that fails with `EINTR` (a signal arrived before it
/// did anything) is simply made again. Every blocking or partial call in ``Syscalls`` goes through here; `close` is
/// the documented exception (Linux releases the descriptor even when it reports `EINTR`, so retrying could close a
/// descriptor another thread just received).
@inline(__always)
package func retryingOnInterrupt<Value>(_ call: () -> (Value, errno: Int32)) -> (Value, errno: Int32) {
    while true {
        let outcome = call()
        if outcome.errno != EINTR { return outcome }
    }
}
