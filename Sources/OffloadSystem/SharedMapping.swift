import COffloadShims

/// A `MAP_SHARED` mapping of a memory file, unmapped when the last reference goes: the memory a process pool shares
/// with one worker (its progress journal). Word accesses are sequentially consistent atomics, so the two processes
/// can hand each other flags without a lock.
///
/// `@unchecked Sendable`: the mapping's address and size never change after `init`, and all access to the shared
/// words goes through the atomic operations below; byte ranges are read or written only by protocol (the worker
/// writes its output area, the parent reads it after the worker died).
package final class SharedMapping: @unchecked Sendable {
    package let base: UnsafeMutableRawPointer
    package let byteCount: Int

    /// Maps `byteCount` bytes of `fd` read-write. The descriptor may be closed afterwards.
    package init(fd: Int32, byteCount: Int) throws(SystemCallError) {
        base = try Syscalls.mapShared(fd, byteCount: byteCount, writable: true, populate: false)
        self.byteCount = byteCount
    }

    deinit {
        Syscalls.unmap(base, byteCount: byteCount)
    }

    @usableFromInline @inline(__always)
    func word(_ index: Int) -> UnsafeMutablePointer<UInt64> {
        precondition(index >= 0 && (index + 1) * 8 <= byteCount, "shared word \(index) out of range")
        return (base + index * 8).assumingMemoryBound(to: UInt64.self)
    }

    // The word accessors and `write` are inlinable: a worker calls them several times per item of a batch, from
    // another module.

    /// Atomically loads 64-bit word `index`.
    @inlinable @inline(__always)
    package func load(_ index: Int) -> UInt64 {
        coffload_shared_load(word(index))
    }

    /// Atomically stores 64-bit word `index` (sequentially consistent).
    @inlinable @inline(__always)
    package func store(_ index: Int, _ value: UInt64) {
        coffload_shared_store(word(index), value)
    }

    /// Atomically stores 64-bit word `index` with release ordering.
    @inlinable @inline(__always)
    package func storeRelease(_ index: Int, _ value: UInt64) {
        coffload_shared_store_release(word(index), value)
    }

    /// Copies `bytes` to `offset`.
    @inlinable
    package func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) {
        precondition(offset >= 0 && offset + bytes.count <= byteCount, "shared write out of range")
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        (base + offset).copyMemory(from: source, byteCount: bytes.count)
    }

    /// The bytes at `offset..<offset + count`.
    package func read(at offset: Int, count: Int) -> [UInt8] {
        precondition(offset >= 0 && count >= 0 && offset + count <= byteCount, "shared read out of range")
        return [UInt8](UnsafeRawBufferPointer(start: base + offset, count: count))
    }

    /// `body` with the bytes at `offset..<offset + count`.
    package func withBytes<R>(at offset: Int, count: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        precondition(offset >= 0 && count >= 0 && offset + count <= byteCount, "shared read out of range")
        return try body(UnsafeRawBufferPointer(start: base + offset, count: count))
    }
}
