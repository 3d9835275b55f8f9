import COffloadShims
import Glibc

/// The one system-call layer (swift-system's `Internals/Syscalls.swift` model). Every `read`, `write`, `poll`, pipe,
/// eventfd, pidfd, spawn, shared-memory, thread and thread-local call Offload makes goes through this module; nothing
/// above it imports `Glibc` for a call. The C calls themselves are in ``RawSyscalls`` (one call each, no policy); this
/// level applies the policy: `EINTR` is retried (``retryingOnInterrupt(_:)``), `errno` comes back as a value
/// (``SystemCallError``), and `SIGPIPE` never fires (the pools ignore it, see ``Signals``).
///
/// Linux only: the shims (`pipe2`, `pidfd_open`, `memfd_create`, `prctl`, `close_range`) have no portable equivalent,
/// and the package declares no other platform.
package enum Syscalls {
    /// Outcome of a read or write on a non-blocking descriptor.
    package enum IOResult: Equatable, Sendable {
        /// This many bytes moved (never 0 for reads: that is ``endOfFile``).
        case transferred(Int)
        /// The descriptor would block (`EAGAIN`).
        case wouldBlock
        /// The peer closed its end (read returned 0).
        case endOfFile
        /// The call failed with this `errno` (`EPIPE` for a write to a dead reader).
        case failed(Int32)
    }

    package static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> IOResult {
        let (count, code) = retryingOnInterrupt { RawSyscalls.read(fd, buffer) }
        if count > 0 { return .transferred(count) }
        if count == 0 { return .endOfFile }
        if code == EAGAIN || code == EWOULDBLOCK { return .wouldBlock }
        return .failed(code)
    }

    package static func write(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) -> IOResult {
        let (count, code) = retryingOnInterrupt { RawSyscalls.write(fd, buffer) }
        if count >= 0 { return .transferred(count) }
        if code == EAGAIN || code == EWOULDBLOCK { return .wouldBlock }
        return .failed(code)
    }

    /// Writes all of `bytes`, waiting in `poll` when the descriptor is non-blocking and full. Returns `nil` or the
    /// `errno` that stopped it.
    package static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32? {
        var offset = 0
        while offset < bytes.count {
            switch write(fd, UnsafeRawBufferPointer(rebasing: bytes[offset...])) {
            case .transferred(let count): offset += count
            case .wouldBlock:
                var entry = [pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)]
                _ = poll(&entry, timeoutMilliseconds: -1)
            case .endOfFile: return EPIPE
            case .failed(let code): return code
            }
        }
        return nil
    }

    /// `poll` with `EINTR` retried (the timeout restarts; callers recompute deadlines every turn anyway).
    package static func poll(_ entries: inout [pollfd], timeoutMilliseconds: Int32) -> Int32 {
        let (count, _) = entries.withUnsafeMutableBufferPointer { buffer in
            retryingOnInterrupt { RawSyscalls.poll(buffer, timeoutMilliseconds) }
        }
        return count
    }

    package static func close(_ fd: Int32) {
        guard fd >= 0 else { return }
        // Linux always releases the descriptor, even when close reports EINTR: never retry.
        _ = Glibc.close(fd)
    }

    /// A close-on-exec pipe `(read, write)`, both ends created atomically with `O_CLOEXEC` (`pipe2`).
    package static func pipe(nonBlocking: Bool) throws(SystemCallError) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        let rc = fds.withUnsafeMutableBufferPointer { coffload_pipe_cloexec($0.baseAddress, nonBlocking ? 1 : 0) }
        guard rc == 0 else { throw SystemCallError("pipe2", errno: errno) }
        return (fds[0], fds[1])
    }

    package static func setNonBlocking(_ fd: Int32, _ on: Bool) {
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0 else { return }
        _ = fcntl(fd, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK)
    }

    /// Whether `fd` is an open descriptor of this process.
    package static func isOpen(_ fd: Int32) -> Bool { fcntl(fd, F_GETFD) >= 0 }

    package static func eventFD() throws(SystemCallError) -> Int32 {
        let fd = coffload_eventfd()
        guard fd >= 0 else { throw SystemCallError("eventfd", errno: errno) }
        return fd
    }

    /// Adds one to an eventfd (wakes whoever polls it). Never blocks: a saturated counter is still readable.
    package static func signalEventFD(_ fd: Int32) {
        var one: UInt64 = 1
        _ = withUnsafeBytes(of: &one) { write(fd, $0) }
    }

    /// The bytes waiting to be read from a pipe (`FIONREAD`); -1 when the descriptor cannot tell.
    package static func pendingBytes(_ fd: Int32) -> Int {
        Int(coffload_pending_bytes(fd))
    }

    /// Resets an eventfd to zero.
    package static func drainEventFD(_ fd: Int32) {
        var value: UInt64 = 0
        _ = withUnsafeMutableBytes(of: &value) { read(fd, into: $0) }
    }

    /// `CLOCK_MONOTONIC` in nanoseconds.
    package static func monotonicNanoseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec)
    }

    /// The number of CPUs this process may run on (`sched_getaffinity`), else the online processor count; at least 1.
    package static func availableCPUCount() -> Int {
        let affinity = Int(coffload_available_cpu_count())
        if affinity > 0 { return affinity }
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// `strerror` as a Swift string.
    package static func errnoDescription(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "errno \(code)" }
        return String(cString: text)
    }
}
