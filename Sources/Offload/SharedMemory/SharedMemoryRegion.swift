import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A mapped POSIX shared-memory segment (`shm_open` + `mmap`). `~Copyable`, so it is unmapped — and, for the
/// creator, unlinked — exactly once, in `deinit` (swift-system `IORing` model).
package struct SharedMemoryRegion: ~Copyable, @unchecked Sendable {
    // @unchecked Sendable: the region owns `base` exclusively (it is ~Copyable); concurrent access to the bytes is
    // the user's business, as with any UnsafeMutableRawPointer into shared memory.
    package let name: String
    package let byteCount: Int
    package let base: UnsafeMutableRawPointer
    private let ownsName: Bool

    private static let counter = Atomic<Int>(0)

    /// Creates, sizes and maps a new segment with a unique name; the creator unlinks it on release.
    package init(creatingBytes byteCount: Int) throws(OffloadError) {
        guard byteCount > 0 else {
            throw OffloadError(.invalidArgument, "a shared-memory segment needs at least 1 byte, got \(byteCount)")
        }
        let serial = SharedMemoryRegion.counter.add(1, ordering: .relaxed).newValue
        let name = "/offload-\(getpid())-\(serial)-\(UInt32.random(in: 0...UInt32.max))"
        let fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw OffloadError(.sharedMemoryFailed, "shm_open(\(name)) failed", underlyingErrno: errno)
        }
        defer { Syscalls.close(fd) }
        guard ftruncate(fd, off_t(byteCount)) == 0 else {
            let code = errno
            shm_unlink(name)
            throw OffloadError(
                .sharedMemoryFailed,
                "could not size \(name) to \(byteCount) bytes",
                underlyingErrno: code
            )
        }
        guard let base = mmap(nil, byteCount, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), base != MAP_FAILED else {
            let code = errno
            shm_unlink(name)
            throw OffloadError(.sharedMemoryFailed, "could not map \(name) (\(byteCount) bytes)", underlyingErrno: code)
        }
        self.name = name
        self.byteCount = byteCount
        self.base = base
        self.ownsName = true
    }

    /// Maps an existing segment created by another process (a worker mapping its parent's buffer).
    package init(opening name: String, byteCount: Int, writable: Bool) throws(OffloadError) {
        guard name.hasPrefix("/offload-"), !name.dropFirst().contains("/") else {
            throw OffloadError(.sharedMemoryFailed, "'\(name)' is not an Offload shared-memory segment name")
        }
        let fd = shm_open(name, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC, 0)
        guard fd >= 0 else {
            throw OffloadError(
                .sharedMemoryFailed,
                "shm_open(\(name)) failed: the owner may have released the buffer",
                underlyingErrno: errno
            )
        }
        defer { Syscalls.close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, Int(info.st_size) >= byteCount else {
            throw OffloadError(.sharedMemoryFailed, "segment \(name) is smaller than the \(byteCount) bytes expected")
        }
        let protection = writable ? PROT_READ | PROT_WRITE : PROT_READ
        guard let base = mmap(nil, max(byteCount, 1), protection, MAP_SHARED | MAP_POPULATE, fd, 0), base != MAP_FAILED
        else {
            throw OffloadError(.sharedMemoryFailed, "could not map \(name)", underlyingErrno: errno)
        }
        self.name = name
        self.byteCount = byteCount
        self.base = base
        self.ownsName = false
    }

    /// Calls `body` with the mapping's base address while the region is borrowed (so it stays mapped).
    package func withBase<R, E: Error>(_ body: (UnsafeMutableRawPointer) throws(E) -> R) throws(E) -> R {
        try body(base)
    }

    deinit {
        munmap(base, max(byteCount, 1))
        if ownsName { shm_unlink(name) }
    }
}
