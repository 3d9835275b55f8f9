import OffloadSystem
import Synchronization

/// A mapped shared-memory segment: an anonymous memory file (`memfd_create`) or a named POSIX segment (`shm_open`),
/// plus `mmap`. `~Copyable`, so it is unmapped — and, for the creator, closed or unlinked — exactly once, in `deinit`
/// (swift-system `IORing` model).
package struct SharedMemoryRegion: ~Copyable, @unchecked Sendable {
    // @unchecked Sendable: the region owns `base` exclusively (it is ~Copyable); concurrent access to the bytes is
    // the user's business, as with any UnsafeMutableRawPointer into shared memory.
    package let segment: SharedMemorySegment
    package let byteCount: Int
    package let base: UnsafeMutableRawPointer
    /// The creator's descriptor of an anonymous file (kept open so workers can reach it), or -1.
    private let ownedDescriptor: Int32
    /// The name the creator unlinks on release, or `nil`.
    private let ownedName: String?

    private static let counter = Atomic<Int>(0)

    /// Creates, sizes and maps a new segment; the creator closes (anonymous file) or unlinks (named) it on release.
    package init(creatingBytes byteCount: Int, backing: SharedMemoryBacking) throws(OffloadError) {
        guard byteCount > 0 else {
            throw OffloadError(.invalidArgument, "a shared-memory segment needs at least 1 byte, got \(byteCount)")
        }
        switch backing {
        case .anonymousFile:
            let fd: Int32
            do {
                fd = try Syscalls.memoryFile(name: "offload-shared", byteCount: byteCount)
            } catch {
                throw OffloadError(
                    .sharedMemoryFailed,
                    "could not create a memory file of \(byteCount) bytes",
                    underlyingErrno: error.errno
                )
            }
            do {
                let identity = try Syscalls.fileIdentity(fd)
                self.base = try Syscalls.mapShared(fd, byteCount: byteCount, writable: true, populate: false)
                self.segment = SharedMemorySegment(
                    location: .anonymousFile(
                        ownerPID: Syscalls.processID,
                        descriptor: fd,
                        device: identity.device,
                        inode: identity.inode
                    )
                )
            } catch {
                Syscalls.close(fd)
                throw OffloadError(
                    .sharedMemoryFailed,
                    "could not map a memory file of \(byteCount) bytes",
                    underlyingErrno: error.errno
                )
            }
            self.ownedDescriptor = fd
            self.ownedName = nil
        case .namedSegment:
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
                self.base = try Syscalls.mapShared(fd, byteCount: byteCount, writable: true, populate: false)
            } catch {
                Syscalls.sharedMemoryUnlink(name)
                throw OffloadError(
                    .sharedMemoryFailed,
                    "could not size and map \(name) (\(byteCount) bytes)",
                    underlyingErrno: error.errno
                )
            }
            self.segment = SharedMemorySegment(location: .namedSegment(name))
            self.ownedDescriptor = -1
            self.ownedName = name
        }
        self.byteCount = byteCount
    }

    /// Maps an existing segment created by another process (a worker mapping its parent's buffer).
    package init(opening segment: SharedMemorySegment, byteCount: Int, writable: Bool) throws(OffloadError) {
        let fd = try SharedMemoryRegion.open(segment, writable: writable)
        defer { Syscalls.close(fd) }
        guard let size = try? Syscalls.fileSize(fd), size >= byteCount else {
            throw OffloadError(
                .sharedMemoryFailed,
                "segment \(segment) is smaller than the \(byteCount) bytes expected"
            )
        }
        do {
            self.base = try Syscalls.mapShared(fd, byteCount: max(byteCount, 1), writable: writable, populate: true)
        } catch {
            throw OffloadError(.sharedMemoryFailed, "could not map \(segment)", underlyingErrno: error.errno)
        }
        self.segment = segment
        self.byteCount = byteCount
        self.ownedDescriptor = -1
        self.ownedName = nil
    }

    /// A descriptor of `segment`: the owner's memory file through `/proc/<pid>/fd/<n>` (which Yama's
    /// `ptrace_scope = 1` allows), else through `pidfd_getfd`; checked to be the same file (device and inode).
    private static func open(_ segment: SharedMemorySegment, writable: Bool) throws(OffloadError) -> Int32 {
        switch segment.location {
        case .namedSegment(let name):
            guard name.hasPrefix("/offload-"), !name.dropFirst().contains("/") else {
                throw OffloadError(.sharedMemoryFailed, "'\(name)' is not an Offload shared-memory segment name")
            }
            do {
                return try Syscalls.sharedMemoryOpen(name, writable: writable)
            } catch {
                throw OffloadError(
                    .sharedMemoryFailed,
                    "shm_open(\(name)) failed: the owner may have released the buffer",
                    underlyingErrno: error.errno
                )
            }
        case .anonymousFile(let pid, let descriptor, let device, let inode):
            let fd: Int32
            do {
                fd = try Syscalls.openDescriptor(ofProcess: pid, descriptor, writable: writable)
            } catch let first {
                do {
                    fd = try Syscalls.duplicateDescriptor(ofProcess: pid, descriptor)
                } catch {
                    throw OffloadError(
                        .sharedMemoryFailed,
                        "could not reach \(segment): the owner may have released the buffer or exited "
                            + "(\(first); \(error))",
                        underlyingErrno: first.errno
                    )
                }
            }
            guard let identity = try? Syscalls.fileIdentity(fd), identity == (device, inode) else {
                Syscalls.close(fd)
                throw OffloadError(
                    .sharedMemoryFailed,
                    "\(segment) is gone: the owner released the buffer, and its descriptor now names another file"
                )
            }
            return fd
        }
    }

    /// Calls `body` with the mapping's base address while the region is borrowed (so it stays mapped).
    package func withBase<R, E: Error>(_ body: (UnsafeMutableRawPointer) throws(E) -> R) throws(E) -> R {
        try body(base)
    }

    deinit {
        Syscalls.unmap(base, byteCount: max(byteCount, 1))
        if ownedDescriptor >= 0 { Syscalls.close(ownedDescriptor) }
        if let ownedName { Syscalls.sharedMemoryUnlink(ownedName) }
    }
}
