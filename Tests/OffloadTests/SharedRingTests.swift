import Synchronization
import Testing

@testable import Offload
@testable import OffloadSystem

/// The shared-memory transport's ring on its own, in one process: one mapping of a memory file, as both ends of a
/// worker's transport see it.
@Suite(.timeLimit(.minutes(1)))
struct SharedRingTests {
    static func makeRing(capacity: Int = 4096) throws -> SharedRing {
        let bytes = SharedRing.byteCount(capacity: capacity)
        let fd = try Syscalls.memoryFile(name: "offload-ring-test", byteCount: bytes)
        defer { Syscalls.close(fd) }
        let ring = SharedRing(mapping: try SharedMapping(fd: fd, byteCount: bytes), offset: 0, capacity: capacity)
        ring.format()
        return ring
    }

    static func read(_ ring: SharedRing, upTo count: Int) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: count)
        guard let got = buffer.withUnsafeMutableBytes({ ring.read(into: $0) }) else { return nil }
        return Array(buffer[..<got])
    }

    @Test("bytes come out in the order they went in, across the end of the ring, many times over")
    func wrapsAroundInOrder() throws {
        let ring = try Self.makeRing(capacity: 4096)
        var next: UInt8 = 0
        var expected: UInt8 = 0
        // 1,000 rounds of 1,000 bytes through a 4,096-byte ring: the data wraps about 244 times, at every offset.
        for _ in 0..<1_000 {
            let chunk = (0..<1_000).map { _ in
                defer { next &+= 1 }
                return next
            }
            #expect(chunk.withUnsafeBytes { ring.write($0) } == 1_000)
            let got = try #require(Self.read(ring, upTo: 1_000))
            #expect(got.count == 1_000)
            for byte in got {
                #expect(byte == expected)
                expected &+= 1
            }
        }
        #expect(ring.availableBytes == 0)
    }

    @Test("a full ring takes only what fits, and takes the rest once the reader consumed some")
    func fullRingTakesWhatFits() throws {
        let ring = try Self.makeRing(capacity: 4096)
        let bytes = [UInt8](repeating: 9, count: 10_000)
        #expect(bytes.withUnsafeBytes { ring.write($0) } == 4096)
        #expect(ring.freeBytes == 0)
        #expect(bytes.withUnsafeBytes { ring.write($0) } == 0)
        #expect(Self.read(ring, upTo: 1000)?.count == 1000)
        #expect(bytes.withUnsafeBytes { ring.write($0) } == 1000)
        #expect(ring.availableBytes == 4096)
    }

    @Test("impossible positions in the header (a writer scribbled over it) are reported, never read through")
    func corruptedHeaderIsReported() throws {
        let ring = try Self.makeRing(capacity: 4096)
        ring.mapping.store(0, 1 << 40)  // head far beyond tail + capacity
        #expect(ring.availableBytes == nil)
        #expect(Self.read(ring, upTo: 100) == nil)
        #expect([UInt8](repeating: 0, count: 8).withUnsafeBytes { ring.write($0) } == nil)
    }

    @Test("the reader's sleep announcement is seen and taken down by exactly one write")
    func sleepAnnouncementIsTakenOnce() throws {
        let ring = try Self.makeRing()
        #expect(!ring.takeReaderSleeping())
        ring.announceReaderSleeping()
        #expect(ring.takeReaderSleeping())
        #expect(!ring.takeReaderSleeping())
        ring.announceWriterWaiting()
        #expect(ring.takeWriterWaiting())
        #expect(!ring.takeWriterWaiting())
    }

    @Test("a reader asleep on the futex is woken by the writer that sees its announcement")
    func sleepingReaderIsWoken() throws {
        let ring = try Self.makeRing()
        let received = Mutex<[UInt8]>([])
        let reader = try OSThread.spawn(name: "ring-reader") {
            while true {
                ring.announceReaderSleeping()
                if ring.availableBytes != 0 { break }
                ring.sleepWhileReaderSleeping(timeoutNanoseconds: 30_000_000_000)
                if ring.availableBytes != 0 { break }
            }
            ring.withdrawReaderSleeping()
            let bytes = Self.read(ring, upTo: 16) ?? []
            received.withLock { $0 = bytes }
        }
        [UInt8]([1, 2, 3]).withUnsafeBytes { _ = ring.write($0) }
        if ring.takeReaderSleeping() { ring.wakeReader() }
        reader.join()
        #expect(received.withLock { $0 } == [1, 2, 3])
    }

    /// A message of the fuzz: sequence number, length and a checksum over a payload derived from both.
    static func message(_ sequence: UInt64, length: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.appendLittleEndian(sequence, 8)
        bytes.appendLittleEndian(UInt64(length), 4)
        var state = sequence &* 0x9E37_79B9_7F4A_7C15 | 1
        for _ in 0..<length {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            bytes.append(UInt8(truncatingIfNeeded: state))
        }
        return bytes
    }

    @Test(
        "fuzz: random message sizes and random producer/consumer timing; every message arrives once, in order, intact",
        arguments: [(4096, UInt64(1)), (4096, 2), (8192, 3), (65536, 4)]
    )
    func fuzzProducerConsumer(capacity: Int, seed: UInt64) throws {
        let ring = try Self.makeRing(capacity: capacity)
        // Fewer messages for larger rings (their messages are larger): each case moves about the same bytes.
        let messages = capacity > 8192 ? 300 : 1_500
        let producer = try OSThread.spawn(name: "ring-producer") {
            var random = SplitMix64(seed: seed)
            for sequence in 0..<UInt64(messages) {
                // Sizes from empty to three times the ring (those go through in pieces).
                let length = random.next() % 4 == 0 ? Int(random.next() % UInt64(3 * capacity)) : Int(random.next() % 200)
                let bytes = Self.message(sequence, length: length)
                var offset = 0
                while offset < bytes.count {
                    let chunk = min(bytes.count - offset, 1 + Int(random.next() % UInt64(bytes.count)))
                    let wrote = bytes.withUnsafeBytes {
                        ring.write(UnsafeRawBufferPointer(rebasing: $0[offset..<offset + chunk]))
                    }
                    guard let wrote else { return }
                    offset += wrote
                    if wrote > 0, ring.takeReaderSleeping() { ring.wakeReader() }
                    if wrote == 0 {
                        ring.announceWriterWaiting()
                        if ring.freeBytes == 0 { ring.sleepWhileWriterWaiting(timeoutNanoseconds: 1_000_000_000) }
                        ring.withdrawWriterWaiting()
                    }
                    if random.next() % 8 == 0 { Syscalls.cpuRelax() }
                }
            }
        }
        var random = SplitMix64(seed: seed ^ 0xFFFF)
        var stream: [UInt8] = []
        var next: UInt64 = 0
        var failures = 0
        while next < UInt64(messages), failures == 0 {
            let want = 1 + Int(random.next() % UInt64(capacity))
            var buffer = [UInt8](repeating: 0, count: want)
            guard let got = buffer.withUnsafeMutableBytes({ ring.read(into: $0) }) else {
                failures += 1
                break
            }
            if ring.takeWriterWaiting() { ring.wakeWriter() }
            if got == 0 {
                ring.announceReaderSleeping()
                if ring.availableBytes == 0 { ring.sleepWhileReaderSleeping(timeoutNanoseconds: 1_000_000_000) }
                ring.withdrawReaderSleeping()
                continue
            }
            stream += buffer[..<got]
            // Take every complete message off the front of the stream.
            while stream.count >= 12 {
                let sequence = stream.littleEndian(at: 0, 8)
                let length = Int(stream.littleEndian(at: 8, 4))
                guard stream.count >= 12 + length else { break }
                if sequence != next || Array(stream[..<(12 + length)]) != Self.message(sequence, length: length) {
                    failures += 1
                    break
                }
                stream.removeFirst(12 + length)
                next += 1
            }
        }
        producer.join()
        #expect(failures == 0)
        #expect(next == UInt64(messages))
        #expect(stream.isEmpty && ring.availableBytes == 0)
    }
}

extension [UInt8] {
    fileprivate mutating func appendLittleEndian(_ value: UInt64, _ bytes: Int) {
        for shift in 0..<bytes { append(UInt8(truncatingIfNeeded: value >> UInt64(8 * shift))) }
    }

    fileprivate func littleEndian(at offset: Int, _ bytes: Int) -> UInt64 {
        (0..<bytes).reduce(0) { $0 | UInt64(self[offset + $1]) << UInt64(8 * $1) }
    }
}
