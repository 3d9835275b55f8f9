import Testing

@testable import Offload
@testable import OffloadCore
@testable import OffloadSystem
@testable import OffloadWire

@Suite struct WireTests {
    @Test("frames survive a round trip through a byte stream split at every position")
    func frameRoundTripAnySplit() throws {
        var writer = FrameWriter()
        let messages: [Message] = [
            .hello(Message.Hello(formatVersion: 1, pid: 42)),
            .run(taskID: 7, jobName: "Square", isBatch: false, firstItem: 0, job: [1, 2, 3]),
            .run(taskID: 9, jobName: "Square", isBatch: true, firstItem: 12, job: [4, 5]),
            .result(taskID: 7, isBatch: false, runNanoseconds: 5, firstItem: 0, count: 1, output: [7]),
            .result(
                taskID: 9,
                isBatch: true,
                runNanoseconds: 1234,
                firstItem: 12,
                count: 3,
                output: Array(repeating: 9, count: 300)
            ),
            .partial(taskID: 9, firstItem: 2, count: 10, outputs: [1, 2, 3]),
            .itemFailure(taskID: 9, index: 15, RemoteFailure(code: .jobFailed, errorType: "E", message: "item")),
            .failure(taskID: 8, RemoteFailure(code: .jobFailed, errorType: "E", message: "boom", index: 3)),
            .cancelled(taskID: 10),
            .shutdown,
        ]
        for message in messages { message.append(to: &writer) }
        let bytes = writer.take()
        for split in stride(from: 0, through: bytes.count, by: 7) {
            var reader = FrameReader(maxPayload: 1 << 20)
            var decoded: [Message] = []
            reader.append(Array(bytes[..<split]))
            while let frame = try reader.next() { decoded.append(try Message(frame)) }
            reader.append(Array(bytes[split...]))
            while let frame = try reader.next() { decoded.append(try Message(frame)) }
            #expect(decoded == messages)
            #expect(reader.bufferedCount == 0)
        }
    }

    @Test("an announced payload above the limit is a protocol violation before any allocation")
    func oversizedFrame() {
        var reader = FrameReader(maxPayload: 1024)
        var header: [UInt8] = []
        Frame.appendHeader(to: &header, kind: .result, flags: 0, taskID: 1, payloadLength: 4096)
        reader.append(header)
        let error = #expect(throws: OffloadError.self) { _ = try reader.next() }
        #expect(error?.code == .protocolViolation)
        // The reader stays failed: a stream that lost its framing cannot be trusted again.
        #expect(throws: OffloadError.self) { _ = try reader.next() }
    }

    @Test("a frame cut short yields nothing until its last byte arrives")
    func truncatedStream() throws {
        var reader = FrameReader(maxPayload: 1024)
        var bytes: [UInt8] = []
        Frame(kind: .result, taskID: 3, payload: Array(repeating: 1, count: 100)).append(to: &bytes)
        reader.append(Array(bytes.prefix(50)))
        #expect(try reader.next() == nil)
        #expect(reader.bufferedCount == 50)
        reader.append(Array(bytes.dropFirst(50)))
        #expect(try reader.next()?.payload.count == 100)
    }

    @Test("a batch frame whose fields are cut short is a protocol violation")
    func truncatedBatchFields() {
        let frame = Frame(kind: .result, flags: Frame.batchFlag, taskID: 1, payload: [0, 0, 0, 0, 0, 0, 0, 0, 1, 0])
        let error = #expect(throws: OffloadError.self) { _ = try Message(frame) }
        #expect(error?.code == .protocolViolation)
        let partial = Frame(kind: .cancelled, taskID: 1, payload: [1])
        #expect(throws: OffloadError.self) { _ = try Message(partial) }
    }

    @Test("random, garbled and truncated bytes never crash the decoder: frames or protocolViolation")
    func fuzzFrameDecoder() {
        var generator = SplitMix64(seed: 0x0FF1_0AD)
        let valid = Message.result(
            taskID: 5,
            isBatch: true,
            runNanoseconds: 9,
            firstItem: 0,
            count: 2,
            output: [1, 2, 3]
        )
        var validWriter = FrameWriter()
        valid.append(to: &validWriter)
        let validBytes = validWriter.take()
        var violations = 0
        for iteration in 0..<20_000 {
            var bytes: [UInt8]
            switch iteration % 3 {
            case 0:  // random bytes
                bytes = (0..<Int(generator.next() % 64)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            case 1:  // a valid frame with flipped bytes
                bytes = validBytes
                for _ in 0..<3 {
                    bytes[Int(generator.next() % UInt64(bytes.count))] ^= UInt8(
                        truncatingIfNeeded: generator.next() | 1
                    )
                }
            default:  // a valid frame truncated
                bytes = Array(validBytes.prefix(Int(generator.next() % UInt64(validBytes.count))))
            }
            var reader = FrameReader(maxPayload: 1 << 16)
            reader.append(bytes)
            do {
                while let frame = try reader.next() { _ = try Message(frame) }
            } catch {
                #expect(error.code == .protocolViolation)
                violations += 1
            }
        }
        #expect(violations > 1_000)
    }

    @Test("the binary codec round-trips nested structs, optionals, enums, dictionaries and arrays")
    func binaryCodecRoundTrip() throws {
        let value = Sample(
            id: -42,
            name: "héllo",
            ratio: 0.25,
            small: 200,
            flags: [true, false],
            nested: [Sample.Inner(x: 1, label: nil), Sample.Inner(x: Int.min, label: "min")],
            table: ["a": 1, "b": 2],
            numbered: [3: "three"],
            choice: .pair(1, "one"),
            bytes: [0, 255, 7],
            missing: nil,
            float: 1.5,
            ints: [0, -1, Int.max, Int.min],
            doubles: [0.5, -2, .infinity],
            counts: [0, UInt64.max]
        )
        let bytes = try JobCodec.encode(value)
        #expect(try JobCodec.decode(Sample.self, from: bytes) == value)
    }

    @Test("numeric arrays are copied as bytes and read back as their own type only")
    func numericArraysCopiedAsBytes() throws {
        let ints = try JobCodec.encode([1, -2, 300] as [Int])
        #expect(ints.first == BinaryTag.fixedArray)
        #expect(try JobCodec.decode([Int].self, from: ints) == [1, -2, 300])
        // An [Int32] is another layout: the receiver says so instead of misreading the bytes.
        #expect(throws: OffloadError.self) { _ = try JobCodec.decode([Int32].self, from: ints) }
        #expect(try JobCodec.decode([Int32].self, from: try JobCodec.encode([1, -2, 300] as [Int32])) == [1, -2, 300])
        #expect(throws: OffloadError.self) { _ = try JobCodec.decode([Int].self, from: try JobCodec.encode(["x"])) }
    }

    @Test("the binary codec rejects garbage with decodingFailed")
    func binaryCodecRejectsGarbage() throws {
        var generator = SplitMix64(seed: 99)
        let valid = try JobCodec.encode(Sample.Inner(x: 5, label: "five"))
        for _ in 0..<5_000 {
            var bytes = valid
            bytes[Int(generator.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: generator.next())
            if generator.next() % 2 == 0 { bytes = Array(bytes.prefix(Int(generator.next() % UInt64(bytes.count)))) }
            do {
                _ = try JobCodec.decode(Sample.Inner.self, from: bytes)
            } catch {
                #expect(error.code == .decodingFailed)
            }
        }
        // Deep nesting is bounded rather than overflowing the stack.
        let deep = [UInt8](repeating: BinaryTag.unkeyed, count: 100_000)
        #expect(throws: OffloadError.self) { _ = try JobCodec.decode([[[[Int]]]].self, from: deep) }
    }
}

struct Sample: Codable, Equatable {
    struct Inner: Codable, Equatable {
        var x: Int
        var label: String?
    }
    enum Choice: Codable, Equatable {
        case none
        case pair(Int, String)
    }
    var id: Int
    var name: String
    var ratio: Double
    var small: UInt8
    var flags: [Bool]
    var nested: [Inner]
    var table: [String: Int]
    var numbered: [Int: String]
    var choice: Choice
    var bytes: [UInt8]
    var missing: Int?
    var float: Float
    var ints: [Int]
    var doubles: [Double]
    var counts: [UInt64]
}

/// A small deterministic generator, so fuzz failures reproduce.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
