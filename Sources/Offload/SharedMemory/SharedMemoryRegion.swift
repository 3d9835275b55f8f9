import OffloadSystem
import Synchronization

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
        let name = "/offload-\(Syscalls.processID)-\(serial)-\(UInt32.random(in: 0...UInt32.max))"
        let fd: Int32
        do {
            fd = try Syscalls.sharedMemoryCreate(name)
        } catch {
            throw OffloadError(.sharedMemoryFailed, "shm_open(\(name)) failed", underlyingErrno: error.errno)
        }
        defer { Syscalls.close(fd) }
        do {
            try Syscalls.resize(fd, to: byteCount)
        } catch {
            Syscalls.sharedMemoryUnlink(name)
            throw OffloadError(
                .sharedMemoryFailed,
                "could not size \(name) to \(byteCount) bytes",
                underlyingErrno: error.errno
            )
        }
        do {
            self.base = try Syscalls.mapShared(fd, byteCount: byteCount, writable: true, populate: false)
        } catch {
            Syscalls.sharedMemoryUnlink(name)
            throw OffloadError(
                .sharedMemoryFailed,
                "could not map \(name) (\(byteCount) bytes)",
                underlyingErrno: error.errno
            )
        }
        self.name = name
        self.byteCount = byteCount
        self.ownsName = true
    }

    /// Maps an existing segment created by another process (a worker mapping its parent's buffer).
    package init(opening name: String, byteCount: Int, writable: Bool) throws(OffloadError) {
        guard name.hasPrefix("/offload-"), !name.dropFirst().contains("/") else {
            throw OffloadError(.sharedMemoryFailed, "'\(name)' is not an Offload shared-memory segment name")
        }
        let fd: Int32
        do {
            fd = try Syscalls.sharedMemoryOpen(name, writable: writable)
        } catch {
            throw OffloadError(
                .sharedMemoryFailed,
                "shm_open(\(name)) failed: the owner may have released the buffer",
                underlyingErrno: error.errno
            )
        }
        defer { Syscalls.close(fd) }
        guard let size = try? Syscalls.fileSize(fd), size >= byteCount else {
            throw OffloadError(.sharedMemoryFailed, "segment \(name) is smaller than the \(byteCount) bytes expected")
        }
        do {
            self.base = try Syscalls.mapShared(fd, byteCount: max(byteCount, 1), writable: writable, populate: true)
        } catch {
            throw OffloadError(.sharedMemoryFailed, "could not map \(name)", underlyingErrno: error.errno)
        }
        self.name = name
        self.byteCount = byteCount
        self.ownsName = false
    }

    /// Calls `body` with the mapping's base address while the region is borrowed (so it stays mapped).
    package func withBase<R, E: Error>(_ body: (UnsafeMutableRawPointer) throws(E) -> R) throws(E) -> R {
        try body(base)
    }

    deinit {
        Syscalls.unmap(base, byteCount: max(byteCount, 1))
        if ownsName { Syscalls.sharedMemoryUnlink(name) }
    }
}
