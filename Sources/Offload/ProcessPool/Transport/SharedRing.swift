import OffloadSystem

/// One direction of the shared-memory transport: a single-producer, single-consumer byte ring in a mapping shared
/// with one worker (Aeron's and Tachyon's design reduced to one stream of frames). It carries exactly the bytes a
/// pipe would carry — the same length-prefixed frames — so every parser, limit and protocol check stays the one the
/// pipes use, and a frame larger than the ring simply goes through in pieces, as it would through a pipe.
///
/// Header (64-bit words, each group on its own 64-byte line so that the two sides never write the same line):
/// ```
/// word  0  head: bytes published by the writer since the start (only the writer stores it)
/// word  8  tail: bytes consumed by the reader since the start (only the reader stores it)
/// word 16  readerSleeping: 1 while the reader sleeps or is about to; the writer takes it down and wakes the reader
/// word 24  writerWaiting: 1 while the writer waits for space; the reader takes it down and wakes the writer
/// word 30  capacity, word 31 magic
/// bytes 256…  data, `capacity` bytes (a power of two); byte n of the stream lives at n % capacity
/// ```
///
/// Publication: the writer copies bytes, then stores the new head; the reader loads the head (acquire), copies,
/// then stores the new tail. Bytes past the head — a writer that died mid-copy — are never read. Both sleep
/// handshakes are Dekker's: a side stores its flag, then loads the other side's position; the other side stores its
/// position, then loads the flag (all sequentially consistent), so either the sleeper sees the new position or the
/// other side sees the flag and wakes it. No lost wake-up, and no system call while both sides are busy.
///
/// The header is written by an untrusted process too (a worker can scribble over it): the reader checks that the
/// published count never exceeds the capacity and reports a protocol violation otherwise.
struct SharedRing: Sendable {
    static let headerBytes = 256
    static let magic: UInt64 = 0x4F46_464C_5249_4E47  // "OFFLRING"

    private enum Word {
        static let head = 0
        static let tail = 8
        static let readerSleeping = 16
        static let writerWaiting = 24
        static let capacity = 30
        static let magic = 31
    }

    let mapping: SharedMapping
    /// Index of the header's first 64-bit word in `mapping`.
    private let header: Int
    private let dataOffset: Int
    let capacity: Int
    private let mask: Int

    /// The ring at byte `offset` of `mapping` (a multiple of 64) with `capacity` data bytes (a power of two).
    init(mapping: SharedMapping, offset: Int, capacity: Int) {
        precondition(offset % 64 == 0 && capacity > 0 && capacity & (capacity - 1) == 0, "bad ring geometry")
        precondition(offset + SharedRing.byteCount(capacity: capacity) <= mapping.byteCount, "ring out of range")
        self.mapping = mapping
        self.header = offset / 8
        self.dataOffset = offset + SharedRing.headerBytes
        self.capacity = capacity
        self.mask = capacity - 1
    }

    static func byteCount(capacity: Int) -> Int { headerBytes + capacity }

    /// Creator side: stamps the geometry so the other process can check it maps the same ring.
    func format() {
        mapping.store(header + Word.capacity, UInt64(capacity))
        mapping.store(header + Word.magic, SharedRing.magic)
    }

    /// Whether the header carries this ring's geometry (the worker checks before use).
    var isFormatted: Bool {
        mapping.load(header + Word.magic) == SharedRing.magic
            && mapping.load(header + Word.capacity) == UInt64(capacity)
    }

    // MARK: Writer

    /// Copies as much of `bytes` as fits and publishes it; returns the count (0 when the ring is full), or `nil`
    /// when the reader's position is impossible (the header was corrupted).
    func write(_ bytes: UnsafeRawBufferPointer) -> Int? {
        let head = mapping.load(header + Word.head)
        let tail = mapping.loadAcquire(header + Word.tail)
        let used = head &- tail
        guard used <= UInt64(capacity) else { return nil }
        let count = min(capacity - Int(used), bytes.count)
        guard count > 0, let source = bytes.baseAddress else { return 0 }
        let start = Int(truncatingIfNeeded: head) & mask
        let first = min(count, capacity - start)
        mapping.copyIn(from: source, count: first, at: dataOffset + start)
        if count > first { mapping.copyIn(from: source + first, count: count - first, at: dataOffset) }
        mapping.store(header + Word.head, head &+ UInt64(count))
        return count
    }

    /// Free space now (a snapshot).
    var freeBytes: Int {
        let used = mapping.load(header + Word.head) &- mapping.loadAcquire(header + Word.tail)
        return used <= UInt64(capacity) ? capacity - Int(used) : 0
    }

    /// After publishing: `true` when the reader had announced it sleeps; the flag is taken down and the caller must
    /// wake it (one wake per announced sleep).
    func takeReaderSleeping() -> Bool {
        mapping.load(header + Word.readerSleeping) != 0 && mapping.exchange(header + Word.readerSleeping, 0) != 0
    }

    /// Writer: announces it waits for space. Re-check ``freeBytes`` afterwards, then sleep.
    func announceWriterWaiting() { mapping.store(header + Word.writerWaiting, 1) }

    /// Writer: sleeps until the reader took the waiting flag down (or the timeout passed). `false` on timeout.
    @discardableResult
    func sleepWhileWriterWaiting(timeoutNanoseconds: UInt64) -> Bool {
        mapping.futexWait(header + Word.writerWaiting, expected: 1, timeoutNanoseconds: timeoutNanoseconds)
    }

    /// Writer: withdraws its waiting announcement (it found space).
    func withdrawWriterWaiting() { mapping.store(header + Word.writerWaiting, 0) }

    /// Wakes a reader that sleeps on the futex (worker side).
    func wakeReader() { mapping.futexWake(header + Word.readerSleeping) }

    // MARK: Reader

    /// Bytes published and not consumed yet, or `nil` when the header is corrupted.
    var availableBytes: Int? {
        let available = mapping.loadAcquire(header + Word.head) &- mapping.load(header + Word.tail)
        return available <= UInt64(capacity) ? Int(available) : nil
    }

    /// Moves up to `buffer.count` published bytes into `buffer` and consumes them. Returns the count, or `nil` when
    /// the header is corrupted.
    func read(into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        let tail = mapping.load(header + Word.tail)
        let available = mapping.loadAcquire(header + Word.head) &- tail
        guard available <= UInt64(capacity) else { return nil }
        let count = min(Int(available), buffer.count)
        guard count > 0, let destination = buffer.baseAddress else { return 0 }
        let start = Int(truncatingIfNeeded: tail) & mask
        let first = min(count, capacity - start)
        mapping.copyOut(at: dataOffset + start, count: first, to: destination)
        if count > first { mapping.copyOut(at: dataOffset, count: count - first, to: destination + first) }
        mapping.store(header + Word.tail, tail &+ UInt64(count))
        return count
    }

    /// After consuming: `true` when the writer had announced it waits for space; the flag is taken down and the
    /// caller must wake it.
    func takeWriterWaiting() -> Bool {
        mapping.load(header + Word.writerWaiting) != 0 && mapping.exchange(header + Word.writerWaiting, 0) != 0
    }

    /// Reader: announces it is about to sleep. Re-check ``availableBytes`` afterwards, then sleep.
    func announceReaderSleeping() { mapping.store(header + Word.readerSleeping, 1) }

    /// Reader: withdraws the announcement (it found bytes, or woke up).
    func withdrawReaderSleeping() { mapping.store(header + Word.readerSleeping, 0) }

    /// Reader: sleeps on the futex until the writer took the flag down (or the timeout passed). `false` on timeout.
    @discardableResult
    func sleepWhileReaderSleeping(timeoutNanoseconds: UInt64) -> Bool {
        mapping.futexWait(header + Word.readerSleeping, expected: 1, timeoutNanoseconds: timeoutNanoseconds)
    }

    /// Wakes a writer that sleeps waiting for space (worker side).
    func wakeWriter() { mapping.futexWake(header + Word.writerWaiting) }
}
