import COffloadShims
import Glibc

/// Reaching a descriptor that another process holds: how a worker maps an anonymous (`memfd`) shared-memory file its
/// parent created after the worker started. Both calls need the kernel's ptrace permission for the owner: the same
/// user, and a process that is not marked non-dumpable. Measured on Linux 6.18 (no Yama): both work from a child
/// for its parent, also as an unprivileged user. Under Yama's `ptrace_scope = 1` only the first does, because it
/// asks for read access (`PTRACE_MODE_READ_FSCREDS`), which Yama does not restrict, while `pidfd_getfd` asks for
/// attach access (`PTRACE_MODE_ATTACH_REALCREDS`), which Yama grants only towards descendants.
extension Syscalls {
    /// `open("/proc/<pid>/fd/<descriptor>", O_RDWR or O_RDONLY | O_CLOEXEC)`: a new open file description of the file
    /// behind another process's descriptor.
    package static func openDescriptor(
        ofProcess pid: Int32,
        _ descriptor: Int32,
        writable: Bool
    ) throws(SystemCallError) -> Int32 {
        let path = "/proc/\(pid)/fd/\(descriptor)"
        let (fd, code) = retryingOnInterrupt { () -> (Int32, errno: Int32) in
            let fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC)
            return (fd, fd < 0 ? errno : 0)
        }
        guard fd >= 0 else { throw SystemCallError("open \(path)", errno: code) }
        return fd
    }

    /// `pidfd_open` + `pidfd_getfd`: a duplicate (close-on-exec) of another process's descriptor.
    package static func duplicateDescriptor(
        ofProcess pid: Int32,
        _ descriptor: Int32
    ) throws(SystemCallError) -> Int32 {
        let pidfd = coffload_pidfd_open(pid)
        guard pidfd >= 0 else { throw SystemCallError("pidfd_open", errno: errno) }
        defer { close(pidfd) }
        let fd = coffload_pidfd_getfd(pidfd, descriptor)
        guard fd >= 0 else { throw SystemCallError("pidfd_getfd", errno: errno) }
        return fd
    }

    /// The device and inode of the file behind `fd` (`fstat`): what identifies a memory file across processes.
    package static func fileIdentity(_ fd: Int32) throws(SystemCallError) -> (device: UInt64, inode: UInt64) {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw SystemCallError("fstat", errno: errno) }
        return (UInt64(info.st_dev), UInt64(info.st_ino))
    }
}
