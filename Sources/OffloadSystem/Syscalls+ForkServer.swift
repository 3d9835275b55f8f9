import COffloadShims
import Glibc

/// The calls of the process pool's fork server: a `SOCK_SEQPACKET` pair, messages carrying descriptors
/// (`SCM_RIGHTS`), the thread count, `clone(CLONE_PARENT)` and a cloned worker's descriptor set-up.
extension Syscalls {
    /// A connected `AF_UNIX`/`SOCK_SEQPACKET` pair, both ends close-on-exec: one message per `send`, boundaries kept.
    package static func seqpacketPair() throws(SystemCallError) -> (Int32, Int32) {
        var fds: [Int32] = [-1, -1]
        guard coffload_seqpacket_pair(&fds) == 0 else { throw SystemCallError("socketpair", errno: errno) }
        return (fds[0], fds[1])
    }

    /// Sends `bytes` and (`SCM_RIGHTS`) duplicates of `descriptors` (at most 8) in one message; never raises SIGPIPE.
    package static func send(_ socket: Int32, _ bytes: [UInt8], descriptors: [Int32]) throws(SystemCallError) {
        let sent = bytes.withUnsafeBytes { raw in
            descriptors.withUnsafeBufferPointer { fds in
                coffload_send_with_fds(socket, raw.baseAddress, UInt(raw.count), fds.baseAddress, Int32(fds.count))
            }
        }
        guard sent == bytes.count else { throw SystemCallError("sendmsg", errno: sent < 0 ? errno : EMSGSIZE) }
    }

    /// One message received: its bytes and the descriptors it carried (close-on-exec). `nil` at end of file.
    package static func receive(
        _ socket: Int32,
        capacity: Int,
        maxDescriptors: Int
    ) throws(SystemCallError) -> (bytes: [UInt8], descriptors: [Int32])? {
        var bytes = [UInt8](repeating: 0, count: capacity)
        var fds = [Int32](repeating: -1, count: maxDescriptors)
        var count = Int32(maxDescriptors)
        let received = bytes.withUnsafeMutableBytes { raw in
            coffload_receive_with_fds(socket, raw.baseAddress, UInt(raw.count), &fds, &count)
        }
        guard received >= 0 else { throw SystemCallError("recvmsg", errno: errno) }
        if received == 0, count == 0 { return nil }
        return (Array(bytes[..<received]), Array(fds[..<Int(count)]))
    }

    /// The calling process's thread count (entries of `/proc/self/task`), `nil` when it cannot be read.
    package static func threadCount() -> Int? {
        let count = coffload_thread_count()
        return count < 0 ? nil : Int(count)
    }

    /// What ``cloneAsSibling()`` returned.
    package enum CloneOutcome: Equatable, Sendable {
        /// In the caller: the new process's PID (a child of the caller's parent).
        case parent(child: Int32)
        /// In the new process.
        case child
    }

    /// `clone(CLONE_PARENT | SIGCHLD)` of a single-threaded caller holding no lock (see `coffload_clone_parent`): the
    /// new process is a child of the caller's parent, which can `pidfd_open` and `waitid` it.
    package static func cloneAsSibling() throws(SystemCallError) -> CloneOutcome {
        let pid = coffload_clone_parent()
        if pid < 0 { throw SystemCallError("clone(CLONE_PARENT)", errno: errno) }
        return pid == 0 ? .child : .parent(child: pid)
    }

    /// In a cloned worker: `stderr`, `command`, `result`, `journal` become descriptors 2–5, every other descriptor
    /// from there up is closed, the signal mask is emptied and dispositions reset (as `posix_spawn` does for workers).
    package static func installWorkerDescriptors(
        stderr: Int32,
        command: Int32,
        result: Int32,
        journal: Int32
    ) throws(SystemCallError) {
        guard coffload_install_worker_fds(stderr, command, result, journal) == 0 else {
            throw SystemCallError("dup2", errno: errno)
        }
    }

    /// Moves descriptor `fd` to the lowest free number ≥ `minimum` (close-on-exec) and closes `fd`.
    package static func moveDescriptor(_ fd: Int32, atLeast minimum: Int32) throws(SystemCallError) -> Int32 {
        let moved = fcntl(fd, F_DUPFD_CLOEXEC, minimum)
        guard moved >= 0 else { throw SystemCallError("fcntl(F_DUPFD_CLOEXEC)", errno: errno) }
        Glibc.close(fd)
        return moved
    }

    /// Whether `fd` is a socket (`fstat`).
    package static func isSocket(_ fd: Int32) -> Bool {
        var info = stat()
        return fstat(fd, &info) == 0 && (info.st_mode & S_IFMT) == S_IFSOCK
    }

    /// Opens `path` for writing (a FIFO: waits for its reader), writes `text` and closes it; errors are ignored.
    /// For a test hook only.
    package static func writeToPath(_ path: String, _ text: String) {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        var text = text
        _ = text.withUTF8 { Glibc.write(fd, $0.baseAddress, $0.count) }
        Glibc.close(fd)
    }

    /// `setenv(key, value, 1)`, or `unsetenv(key)` for `nil`.
    package static func setEnvironmentValue(_ key: String, _ value: String?) {
        if let value { setenv(key, value, 1) } else { unsetenv(key) }
    }
}
