import Glibc

extension Syscalls {
    /// `shm_open` of a new segment (`O_CREAT | O_EXCL`, mode 0600, close-on-exec).
    package static func sharedMemoryCreate(_ name: String) throws(SystemCallError) -> Int32 {
        let fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SystemCallError("shm_open", errno: errno) }
        return fd
    }

    /// `shm_open` of an existing segment, close-on-exec.
    package static func sharedMemoryOpen(_ name: String, writable: Bool) throws(SystemCallError) -> Int32 {
        let fd = shm_open(name, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC, 0)
        guard fd >= 0 else { throw SystemCallError("shm_open", errno: errno) }
        return fd
    }

    /// `shm_unlink`.
    package static func sharedMemoryUnlink(_ name: String) {
        _ = shm_unlink(name)
    }

    /// `ftruncate`.
    package static func resize(_ fd: Int32, to byteCount: Int) throws(SystemCallError) {
        guard ftruncate(fd, off_t(byteCount)) == 0 else { throw SystemCallError("ftruncate", errno: errno) }
    }

    /// The size of the file behind `fd` (`fstat`).
    package static func fileSize(_ fd: Int32) throws(SystemCallError) -> Int {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw SystemCallError("fstat", errno: errno) }
        return Int(info.st_size)
    }

    /// `mmap(MAP_SHARED)` of `byteCount` bytes of `fd`; `populate` pre-faults the pages (`MAP_POPULATE`).
    package static func mapShared(
        _ fd: Int32,
        byteCount: Int,
        writable: Bool,
        populate: Bool
    ) throws(SystemCallError) -> UnsafeMutableRawPointer {
        let protection = writable ? PROT_READ | PROT_WRITE : PROT_READ
        let flags = MAP_SHARED | (populate ? MAP_POPULATE : 0)
        guard let base = mmap(nil, byteCount, protection, flags, fd, 0), base != MAP_FAILED else {
            throw SystemCallError("mmap", errno: errno)
        }
        return base
    }

    /// `munmap`.
    package static func unmap(_ base: UnsafeMutableRawPointer, byteCount: Int) {
        _ = munmap(base, byteCount)
    }
}
