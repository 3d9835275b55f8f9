/// A fixed-size array of trivially copyable elements in shared memory, filled by the parent and read (or written) by
/// worker processes without copying.
///
/// The memory is an anonymous memory file by default (``SharedMemoryBacking/anonymousFile``): it has no name, and
/// the kernel frees it when the owner and every worker that mapped it are gone, so nothing leaks even when the owner
/// is killed with SIGKILL. Ask for ``SharedMemoryBacking/namedSegment`` only to share with processes that are not
/// the owner's workers.
///
/// The buffer is `~Copyable`: it has exactly one owner, and the segment is unmapped and released exactly once, when
/// the owner goes away (or ``release()`` is called) — whether the workers that used it finished, failed or crashed.
/// Pass it to a job by its ``handle``, a small `Codable` value; in the worker, ``Handle/withUnsafeBufferPointer(_:)``
/// maps the segment for the duration of a closure. Keep the owner alive until the jobs that use the handle are done.
///
/// ```swift
/// let buffer = try SharedBuffer<Double>(count: 32_000_000)
/// buffer.withUnsafeMutableBufferPointer { $0.initialize(repeating: 1) }
/// let sum = try await pool.run(SumJob(input: buffer.handle))   // the job maps the same pages
/// ```
///
/// Python mapping: `multiprocessing.shared_memory.SharedMemory` / `multiprocessing.Array` (without its lock). Unlike
/// Python, a segment cannot outlive its owner through a forgotten `unlink()` or a killed owner.
public struct SharedBuffer<Element: BitwiseCopyable>: ~Copyable, Sendable {
    private let region: SharedMemoryRegion

    /// The number of elements.
    public let count: Int

    /// Creates a zero-filled buffer of `count` elements.
    /// - Parameters:
    ///   - count: number of elements, at least 1.
    ///   - backing: an anonymous memory file (the default: nothing to leak) or a named POSIX segment (for unrelated
    ///     processes).
    /// - Throws: ``OffloadError/Code/invalidArgument`` for a count below 1 or one that overflows,
    ///   ``OffloadError/Code/sharedMemoryFailed`` when the segment cannot be created or mapped.
    public init(count: Int, backing: SharedMemoryBacking = .anonymousFile) throws(OffloadError) {
        let (bytes, overflow) = count.multipliedReportingOverflow(by: MemoryLayout<Element>.stride)
        guard count >= 1, !overflow else {
            throw OffloadError(
                .invalidArgument,
                "SharedBuffer count must be between 1 and Int.max / stride, got \(count)"
            )
        }
        self.region = try SharedMemoryRegion(creatingBytes: bytes, backing: backing)
        self.count = count
    }

    /// A `Codable` reference to this buffer, to put inside a ``Job``.
    public var handle: Handle {
        Handle(segment: region.segment, count: count, stride: MemoryLayout<Element>.stride)
    }

    /// Where the memory lives: an anonymous file of this process, or a named segment (under `/dev/shm` on Linux).
    public var segment: SharedMemorySegment { region.segment }

    /// Calls `body` with the elements, for reading.
    /// - Parameter body: receives the buffer's elements.
    /// - Returns: what `body` returns.
    /// - Throws: what `body` throws.
    public func withUnsafeBufferPointer<R, E: Error>(
        _ body: (UnsafeBufferPointer<Element>) throws(E) -> R
    ) throws(E) -> R {
        try body(UnsafeBufferPointer(start: region.base.assumingMemoryBound(to: Element.self), count: count))
    }

    /// Calls `body` with the elements, for writing (fill the buffer before submitting the jobs that read it).
    /// - Parameter body: receives the buffer's elements.
    /// - Returns: what `body` returns.
    /// - Throws: what `body` throws.
    public func withUnsafeMutableBufferPointer<R, E: Error>(
        _ body: (UnsafeMutableBufferPointer<Element>) throws(E) -> R
    ) throws(E) -> R {
        try body(UnsafeMutableBufferPointer(start: region.base.assumingMemoryBound(to: Element.self), count: count))
    }

    /// Reads or writes one element.
    /// - Parameter index: position in `0..<count`; out of range is a precondition failure.
    public subscript(index: Int) -> Element {
        get {
            precondition(index >= 0 && index < count, "SharedBuffer index \(index) out of range 0..<\(count)")
            return region.base.load(fromByteOffset: index * MemoryLayout<Element>.stride, as: Element.self)
        }
        nonmutating set {
            precondition(index >= 0 && index < count, "SharedBuffer index \(index) out of range 0..<\(count)")
            region.base.storeBytes(of: newValue, toByteOffset: index * MemoryLayout<Element>.stride, as: Element.self)
        }
    }

    /// Unmaps and releases the segment now (otherwise this happens when the buffer goes out of scope).
    public consuming func release() {}

    /// A `Codable` reference to a ``SharedBuffer``: where its memory lives, the element count and the element stride.
    public struct Handle: Codable, Sendable, Hashable {
        /// Where the memory lives (the owner's descriptor of an anonymous file, or a segment name).
        public let segment: SharedMemorySegment
        /// The number of elements.
        public let count: Int
        /// `MemoryLayout<Element>.stride` where the buffer was created (checked when mapping).
        public let stride: Int

        /// Maps the buffer for the duration of `body`, read-only.
        /// - Parameter body: receives the elements.
        /// - Returns: what `body` returns.
        /// - Throws: ``OffloadError/Code/sharedMemoryFailed`` when the segment is gone (its owner released it or
        ///   exited), cannot be reached (an anonymous file of a process this one may not inspect), or the element
        ///   type does not match; what `body` throws.
        public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Element>) throws -> R) throws -> R {
            let region = try map(writable: false)
            return try region.withBase { base in
                try body(UnsafeBufferPointer(start: base.assumingMemoryBound(to: Element.self), count: count))
            }
        }

        /// Maps the buffer for the duration of `body`, for writing (results written here are seen by the owner).
        /// - Parameter body: receives the elements.
        /// - Returns: what `body` returns.
        /// - Throws: as ``withUnsafeBufferPointer(_:)``.
        public func withUnsafeMutableBufferPointer<R>(
            _ body: (UnsafeMutableBufferPointer<Element>) throws -> R
        ) throws -> R {
            let region = try map(writable: true)
            return try region.withBase { base in
                try body(UnsafeMutableBufferPointer(start: base.assumingMemoryBound(to: Element.self), count: count))
            }
        }

        private func map(writable: Bool) throws(OffloadError) -> SharedMemoryRegion {
            guard stride == MemoryLayout<Element>.stride, count >= 1 else {
                throw OffloadError(
                    .sharedMemoryFailed,
                    "handle for \(count) elements of stride \(stride) used as SharedBuffer<\(Element.self)> "
                        + "(stride \(MemoryLayout<Element>.stride))"
                )
            }
            return try SharedMemoryRegion(opening: segment, byteCount: count * stride, writable: writable)
        }
    }
}
