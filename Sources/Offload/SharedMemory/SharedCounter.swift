import COffloadShims

/// A 64-bit integer in shared memory that the parent and its workers update atomically: the analogue of
/// `multiprocessing.Value('q', 0)` used with `with value.get_lock(): value.value += 1`, except that every operation is
/// a single lock-free atomic instruction, so there is no lock to forget.
///
/// Like ``SharedBuffer``, it is `~Copyable`, lives in an anonymous memory file by default (nothing to leak) and
/// releases its segment exactly once; pass ``handle`` to jobs.
///
/// ```swift
/// let done = try SharedCounter()
/// try await pool.map(jobs.map { CountingJob(counter: done.handle, item: $0) })
/// print(done.load())
/// ```
public struct SharedCounter: ~Copyable, Sendable {
    private let region: SharedMemoryRegion

    /// Creates a counter.
    /// - Parameters:
    ///   - initialValue: the starting value.
    ///   - backing: an anonymous memory file (the default) or a named POSIX segment (for unrelated processes).
    /// - Throws: ``OffloadError/Code/sharedMemoryFailed`` when the segment cannot be created.
    public init(_ initialValue: Int = 0, backing: SharedMemoryBacking = .anonymousFile) throws(OffloadError) {
        region = try SharedMemoryRegion(creatingBytes: 8, backing: backing)
        SharedCounter.store(initialValue, at: region.base)
    }

    /// A `Codable` reference to put inside a ``Job``.
    public var handle: Handle { Handle(segment: region.segment) }

    /// The current value.
    /// - Returns: the value.
    public func load() -> Int { SharedCounter.load(at: region.base) }

    /// Adds `delta` and returns the new value.
    /// - Parameter delta: the amount to add.
    /// - Returns: the value after the addition.
    @discardableResult
    public func add(_ delta: Int) -> Int { SharedCounter.add(delta, at: region.base) }

    /// Unmaps and releases the segment now.
    public consuming func release() {}

    /// A `Codable` reference to a ``SharedCounter``, usable in a worker process.
    public struct Handle: Codable, Sendable, Hashable {
        /// Where the counter lives.
        public let segment: SharedMemorySegment

        /// Adds `delta` to the shared value and returns the new value.
        /// - Parameter delta: the amount to add.
        /// - Returns: the value after the addition.
        /// - Throws: ``OffloadError/Code/sharedMemoryFailed`` when the counter's owner released it.
        @discardableResult
        public func add(_ delta: Int) throws(OffloadError) -> Int {
            let region = try SharedMemoryRegion(opening: segment, byteCount: 8, writable: true)
            return region.withBase { SharedCounter.add(delta, at: $0) }
        }

        /// Reads the shared value.
        /// - Returns: the value.
        /// - Throws: ``OffloadError/Code/sharedMemoryFailed`` when the counter's owner released it.
        public func load() throws(OffloadError) -> Int {
            let region = try SharedMemoryRegion(opening: segment, byteCount: 8, writable: false)
            return region.withBase { SharedCounter.load(at: $0) }
        }
    }

    private static func pointer(_ base: UnsafeMutableRawPointer) -> UnsafeMutablePointer<CLongLong> {
        base.assumingMemoryBound(to: CLongLong.self)
    }

    private static func load(at base: UnsafeMutableRawPointer) -> Int {
        Int(coffload_atomic_load(pointer(base)))
    }

    private static func store(_ value: Int, at base: UnsafeMutableRawPointer) {
        coffload_atomic_store(pointer(base), CLongLong(value))
    }

    private static func add(_ delta: Int, at base: UnsafeMutableRawPointer) -> Int {
        Int(coffload_atomic_fetch_add(pointer(base), CLongLong(delta))) + delta
    }
}
