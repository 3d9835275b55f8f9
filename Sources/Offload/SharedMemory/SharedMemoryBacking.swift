/// What a ``SharedBuffer`` or ``SharedCounter`` lives in.
///
/// Python mapping: `multiprocessing.shared_memory.SharedMemory` always makes a named segment (`.namedSegment`);
/// the default here is the anonymous file, which nothing can leak.
public enum SharedMemoryBacking: Sendable, Hashable {
    /// An anonymous memory file (`memfd_create`), the default. It has no name anywhere: workers reach it through the
    /// owner's descriptor (`/proc/<owner pid>/fd/<n>`), and the kernel frees it when the last process that has it
    /// open or mapped is gone — also when the owner is killed with SIGKILL. Reachable by processes of the same user
    /// that may inspect the owner (its process pool's workers always can).
    case anonymousFile
    /// A named POSIX segment (`shm_open`, under `/dev/shm` on Linux), for processes that are not the owner's
    /// workers and cannot reach its descriptors. The owner unlinks it when released; an owner killed with SIGKILL
    /// cannot, and the segment stays until it is removed by hand or the machine restarts.
    case namedSegment
}

/// Where a shared-memory segment lives, as a handle carries it to another process: a descriptor of its owner, or a
/// POSIX name.
public struct SharedMemorySegment: Codable, Sendable, Hashable, CustomStringConvertible {
    enum Location: Codable, Sendable, Hashable {
        /// The owner's descriptor of a memory file, and the file's device and inode (checked after opening it, so a
        /// descriptor number reused after the owner released the buffer is never mistaken for it).
        case anonymousFile(ownerPID: Int32, descriptor: Int32, device: UInt64, inode: UInt64)
        case namedSegment(String)
    }

    let location: Location

    /// The POSIX name of a named segment (``SharedMemoryBacking/namedSegment``); `nil` for an anonymous file.
    public var name: String? {
        if case .namedSegment(let name) = location { return name }
        return nil
    }

    /// How the segment is backed.
    public var backing: SharedMemoryBacking {
        switch location {
        case .anonymousFile: .anonymousFile
        case .namedSegment: .namedSegment
        }
    }

    /// `memfd <descriptor> of process <pid>` or the POSIX name.
    public var description: String {
        switch location {
        case .anonymousFile(let pid, let descriptor, _, let inode): "memfd \(descriptor) of process \(pid) (inode \(inode))"
        case .namedSegment(let name): name
        }
    }
}
