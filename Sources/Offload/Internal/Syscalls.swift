import COffloadShims

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The process pool's system calls, in one place (swift-system `Internals/Syscalls.swift` model): every call retries
/// `EINTR`, reports `errno` as a value, and never raises `SIGPIPE` (the pool ignores it; see ``Signals``).
enum Syscalls {
    /// Outcome of a read or write on a non-blocking descriptor.
    enum IOResult: Equatable {
        /// This many bytes moved (never 0 for reads: that is ``endOfFile``).
        case transferred(Int)
        /// The descriptor would block (`EAGAIN`).
        case wouldBlock
        /// The peer closed its end (read returned 0).
        case endOfFile
        /// The call failed with this `errno` (`EPIPE` for a write to a dead worker).
        case failed(Int32)
    }

    static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> IOResult {
        while true {
            let count = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if count > 0 { return .transferred(count) }
            if count == 0 { return .endOfFile }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return .wouldBlock }
            return .failed(code)
        }
    }

    static func write(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) -> IOResult {
        while true {
            let count = Glibc.write(fd, buffer.baseAddress, buffer.count)
            if count >= 0 { return .transferred(count) }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return .wouldBlock }
            return .failed(code)
        }
    }

    /// Writes all of `bytes` to a *blocking* descriptor. Returns `nil` or the `errno` that stopped it.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32? {
        var offset = 0
        while offset < bytes.count {
            switch write(fd, UnsafeRawBufferPointer(rebasing: bytes[offset...])) {
            case .transferred(let count): offset += count
            case .wouldBlock:
                var entry = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = Glibc.poll(&entry, 1, -1)
            case .endOfFile: return EPIPE
            case .failed(let code): return code
            }
        }
        return nil
    }

    /// `poll` with `EINTR` retried (the timeout restarts; callers recompute deadlines every turn anyway).
    static func poll(_ entries: inout [pollfd], timeoutMilliseconds: Int32) -> Int32 {
        while true {
            let count = entries.withUnsafeMutableBufferPointer { buffer in
                Glibc.poll(buffer.baseAddress, nfds_t(buffer.count), timeoutMilliseconds)
            }
            if count >= 0 { return count }
            if errno == EINTR { continue }
            return -1
        }
    }

    static func close(_ fd: Int32) {
        guard fd >= 0 else { return }
        // Linux always releases the descriptor, even when close reports EINTR: never retry.
        _ = Glibc.close(fd)
    }

    /// A close-on-exec pipe `(read, write)`. Non-blocking ends are what the manager uses.
    static func pipe(nonBlocking: Bool) throws(OffloadError) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        let rc = fds.withUnsafeMutableBufferPointer { coffload_pipe_cloexec($0.baseAddress, nonBlocking ? 1 : 0) }
        guard rc == 0 else { throw OffloadError.systemCall("pipe2", errno: errno) }
        return (fds[0], fds[1])
    }

    static func setNonBlocking(_ fd: Int32, _ on: Bool) {
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0 else { return }
        _ = fcntl(fd, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK)
    }

    static func eventFD() throws(OffloadError) -> Int32 {
        let fd = coffload_eventfd()
        guard fd >= 0 else { throw OffloadError.systemCall("eventfd", errno: errno) }
        return fd
    }

    /// Adds one to an eventfd (wakes whoever polls it). Never blocks: a saturated counter is still readable.
    static func signalEventFD(_ fd: Int32) {
        var one: UInt64 = 1
        _ = withUnsafeBytes(of: &one) { write(fd, $0) }
    }

    /// Resets an eventfd to zero.
    static func drainEventFD(_ fd: Int32) {
        var value: UInt64 = 0
        _ = withUnsafeMutableBytes(of: &value) { read(fd, into: $0) }
    }

    static func pidfdOpen(_ pid: pid_t) -> Int32 {
        coffload_pidfd_open(pid)
    }

    /// Signals the worker: through its pidfd when there is one (immune to PID reuse), else by PID.
    static func signal(pid: pid_t, pidfd: Int32, _ signal: Int32) {
        if pidfd >= 0, coffload_pidfd_send_signal(pidfd, signal) == 0 { return }
        _ = kill(pid, signal)
    }

    /// Reaps a child. Returns its termination, or `nil` if `noHang` and it is still running.
    static func reap(pid: pid_t, pidfd: Int32, noHang: Bool) -> OffloadError.Termination? {
        var reaped: Int32 = 0
        var exited: Int32 = 0
        var status: Int32 = 0
        if pidfd >= 0, coffload_wait_pidfd(pidfd, noHang ? 1 : 0, &reaped, &exited, &status) == 0 {
            guard reaped != 0 else { return nil }
            return exited != 0 ? .exited(status) : .signaled(status)
        }
        let rc = coffload_wait_pid(pid, noHang ? 1 : 0, &exited, &status)
        guard rc > 0 else { return rc == 0 ? nil : .exited(-1) }
        return exited != 0 ? .exited(status) : .signaled(status)
    }

    static func monotonicNanoseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec)
    }

    /// `/proc/<pid>/status` `VmRSS` in bytes, or `nil` when the process is gone.
    static func residentBytes(of pid: pid_t) -> Int? {
        let fd = open("/proc/\(pid)/status", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 4096)
        let count = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        let text = String(decoding: bytes[..<count], as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let digits = line.dropFirst(6).filter { $0.isNumber }
            return Int(digits).map { $0 * 1024 }
        }
        return nil
    }
}
