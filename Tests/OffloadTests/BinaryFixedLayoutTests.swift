import OffloadTestJobs
import Testing

@testable import Offload
@testable import OffloadCore

/// The codec's plain-data path: values and arrays of trivially copyable types travel as their bytes behind a layout
/// fingerprint; everything else, and everything format version 1 wrote, still travels (and decodes) through Codable.
@Suite struct BinaryFixedLayoutTests {
    /// The same layout as ``PlainPoint`` under another name: a build where the type changed.
    struct RenamedPoint: Codable, Equatable {
        var x: Int
        var y: Double
    }

    /// Plain data that insists on its Codable conformance.
    struct OptedOut: Codable, Equatable, CodableEncodingRequired {
        var x: Int
    }

    struct Flags: Codable, Equatable {
        var on: Bool
        var count: UInt8
    }

    @Test("a plain-data struct and an array of them are copied as bytes and round-trip")
    func plainDataIsCopiedAsBytes() throws {
        let point = PlainPoint(x: -7, y: 2.25)
        let single = try JobCodec.encode(point)
        #expect(single.first == BinaryTag.fixed)
        #expect(single.count == 1 + FixedLayoutFingerprint.encodedCount + MemoryLayout<PlainPoint>.size)
        #expect(try JobCodec.decode(PlainPoint.self, from: single) == point)

        let points = (0..<1_000).map { PlainPoint(x: $0, y: Double($0) / 4) }
        let batch = try JobCodec.encode(points)
        #expect(batch.first == BinaryTag.fixedArray)
        // Header, count, then exactly the elements' bytes: nothing per item.
        #expect(batch.count == 1 + FixedLayoutFingerprint.encodedCount + 2 + 1_000 * MemoryLayout<PlainPoint>.stride)
        #expect(try JobCodec.decode([PlainPoint].self, from: batch) == points)
    }

    @Test("arrays of the standard numbers are copied as bytes, also inside a struct")
    func numericArraysAreCopiedAsBytes() throws {
        let doubles: [Double] = [0.5, -2, .infinity, .leastNonzeroMagnitude]
        let encoded = try JobCodec.encode(doubles)
        #expect(encoded.first == BinaryTag.fixedArray)
        #expect(try JobCodec.decode([Double].self, from: encoded) == doubles)
        let job = InlineSum(values: [1, 2, 3.5])
        let decoded = try JobCodec.decode(InlineSum.self, from: try JobCodec.encode(job))
        #expect(decoded.values == [1, 2, 3.5])
        let flags = [true, false, true]
        #expect(try JobCodec.decode([Bool].self, from: try JobCodec.encode(flags)) == flags)
        let empty: [Int] = []
        #expect(try JobCodec.decode([Int].self, from: try JobCodec.encode(empty)) == empty)
    }

    @Test("a receiver whose type has another name or layout fails with decodingFailed, not garbage")
    func mismatchedLayoutFailsTyped() throws {
        let bytes = try JobCodec.encode(PlainPoint(x: 1, y: 2))
        let error = #expect(throws: OffloadError.self) { _ = try JobCodec.decode(RenamedPoint.self, from: bytes) }
        #expect(error?.code == .decodingFailed)
        #expect(error?.message.contains("another layout") == true)

        let array = try JobCodec.encode([PlainPoint(x: 1, y: 2)])
        let arrayError = #expect(throws: OffloadError.self) {
            _ = try JobCodec.decode([RenamedPoint].self, from: array)
        }
        #expect(arrayError?.code == .decodingFailed)
        // A type that is not plain data cannot be read from plain-data bytes at all.
        #expect(throws: OffloadError.self) { _ = try JobCodec.decode([String].self, from: array) }
    }

    @Test("version-1 encodings (keyed containers, tagged numeric arrays) still decode")
    func versionOneFramesDecode() throws {
        // Version 1 of [PlainPoint(x: 5, y: 0.5)]: an unkeyed container of keyed containers.
        var pointV1: [UInt8] = [BinaryTag.unkeyed, BinaryTag.keyed]
        pointV1 += [0x03, UInt8(ascii: "x"), BinaryTag.signed, 10]
        pointV1 += [0x03, UInt8(ascii: "y"), BinaryTag.double] + withUnsafeBytes(of: (0.5).bitPattern) { Array($0) }
        pointV1 += [BinaryTag.end, BinaryTag.end]
        #expect(try JobCodec.decode([PlainPoint].self, from: pointV1) == [PlainPoint(x: 5, y: 0.5)])
        #expect(try JobCodec.decode(PlainPoint.self, from: Array(pointV1.dropFirst().dropLast())) == PlainPoint(x: 5, y: 0.5))
        // Version 1 of [1, -2, 300] as [Int].
        let intsV1: [UInt8] = [BinaryTag.unkeyed, 0x03, 2, 0x03, 3, 0x03, 0xD8, 0x04, BinaryTag.end]
        #expect(try JobCodec.decode([Int].self, from: intsV1) == [1, -2, 300])
        #expect(JobCodec.formatVersion == 3)
    }

    @Test("types that opt out, or whose Codable does more than copy fields, keep the Codable path")
    func generalPathWhereBytesWouldDiffer() throws {
        let optedOut = try JobCodec.encode(OptedOut(x: 3))
        #expect(optedOut.first == BinaryTag.keyed)
        #expect(try JobCodec.decode(OptedOut.self, from: optedOut) == OptedOut(x: 3))
        // The clamping decoder turns 250 into 100: the round-trip probe sees the difference.
        let clamped = try JobCodec.encode(ClampedPercent(percent: 250))
        #expect(clamped.first == BinaryTag.keyed)
        #expect(try JobCodec.decode(ClampedPercent.self, from: clamped) == ClampedPercent(percent: 100))
        // Not plain data at all.
        #expect(try JobCodec.encode(["a", "b"]).first == BinaryTag.unkeyed)
    }

    @Test("a byte that is not a Bool is rejected in plain-data bytes")
    func invalidBoolRejected() throws {
        var bytes = try JobCodec.encode([true, false])
        bytes[bytes.count - 1] = 7
        #expect(throws: OffloadError.self) { _ = try JobCodec.decode([Bool].self, from: bytes) }
    }

    @Test("garbled and truncated plain-data bytes never crash the decoder: a value or decodingFailed")
    func fuzzPlainData() throws {
        var generator = SplitMix64(seed: 7)
        let valid = try JobCodec.encode((0..<20).map { PlainPoint(x: $0, y: 1) })
        let single = try JobCodec.encode(Flags(on: true, count: 3))
        var failures = 0
        for round in 0..<5_000 {
            var bytes = round % 2 == 0 ? valid : single
            bytes[Int(generator.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: generator.next())
            if generator.next() % 2 == 0 { bytes = Array(bytes.prefix(Int(generator.next() % UInt64(bytes.count)))) }
            do throws(OffloadError) {
                if round % 2 == 0 {
                    _ = try JobCodec.decode([PlainPoint].self, from: bytes)
                } else {
                    _ = try JobCodec.decode(Flags.self, from: bytes)
                }
            } catch {
                #expect(error.code == .decodingFailed)
                failures += 1
            }
        }
        #expect(failures > 1_000)
    }

    @Test("a run of plain-data values (one fingerprint, then one tag byte per value) decodes as an array, runs may restart")
    func plainDataRunsDecode() throws {
        func fixed(_ value: UInt64) -> [UInt8] {
            var bytes = [BinaryTag.fixed]
            FixedLayoutFingerprint(of: UInt64.self).append(to: &bytes)
            return bytes + withUnsafeBytes(of: value) { Array($0) }
        }
        func repeated(_ value: UInt64) -> [UInt8] { [BinaryTag.fixedRepeat] + withUnsafeBytes(of: value) { Array($0) } }
        // Two runs: what a batch's outputs look like when a second worker took over at item 3.
        let twoRuns = [BinaryTag.unkeyed] + fixed(1) + repeated(2) + repeated(3) + fixed(4) + repeated(5) + [BinaryTag.end]
        #expect(try JobCodec.decode([UInt64].self, from: twoRuns) == [1, 2, 3, 4, 5])
        // A repeated value with no run to belong to, a run cut short, a run of another type: decodingFailed.
        let orphan = [BinaryTag.unkeyed] + repeated(2) + [BinaryTag.end]
        let truncated = Array(twoRuns.dropLast(5))
        for bytes in [orphan, truncated] {
            #expect(throws: OffloadError.self) { _ = try JobCodec.decode([UInt64].self, from: bytes) }
        }
        #expect(throws: OffloadError.self) { _ = try JobCodec.decode([Double].self, from: twoRuns) }
        var bools = [BinaryTag.unkeyed, BinaryTag.fixed]
        FixedLayoutFingerprint(of: Bool.self).append(to: &bools)
        bools += [1, BinaryTag.fixedRepeat, 0, BinaryTag.fixedRepeat, 2, BinaryTag.end]
        #expect(throws: OffloadError.self) { _ = try JobCodec.decode([Bool].self, from: bools) }
    }

    /// Doubles its input, and throws for multiples of 3: plain-data outputs with failures between them.
    struct DoubleUnlessThree: Job {
        static var jobName: String { "test.DoubleUnlessThree" }
        struct Refused: Error {}
        var x: Int
        func run() throws -> Int {
            guard x % 3 != 0 else { throw Refused() }
            return x * 2
        }
    }

    /// Collects what a batch reports, as a worker's recorder would.
    final class CollectingObserver: BatchObserver {
        var outputs: [[UInt8]] = []
        var failed: [Int] = []
        func willRun(item index: Int) -> Bool { true }
        func succeeded(item index: Int, output: UnsafeRawBufferPointer) { outputs.append(Array(output)) }
        func failed(item index: Int, _ failure: RemoteFailure) { failed.append(index) }
    }

    @Test("a worker writes a batch's plain-data outputs as one fingerprint and then one tag byte per output")
    func batchOutputsAreARun() throws {
        let registry = JobRegistry(DoubleUnlessThree.self)
        let jobs = (1...10).map { DoubleUnlessThree(x: $0) }
        let observer = CollectingObserver()
        let outcome = registry.runBatch(
            jobName: DoubleUnlessThree.jobName,
            payload: try JobCodec.encode(jobs),
            firstItem: 0,
            observer: observer
        )
        guard case .finished(count: 10, _) = outcome else {
            Issue.record("the batch did not finish: \(outcome)")
            return
        }
        #expect(observer.failed == [2, 5, 8])
        #expect(observer.outputs.first?.first == BinaryTag.fixed)
        #expect(observer.outputs.first?.count == 1 + FixedLayoutFingerprint.encodedCount + MemoryLayout<Int>.size)
        #expect(observer.outputs.dropFirst().allSatisfy { $0.count == 1 + MemoryLayout<Int>.size && $0.first == BinaryTag.fixedRepeat })
        let array = [BinaryTag.unkeyed] + observer.outputs.joined() + [BinaryTag.end]
        #expect(try JobCodec.decode([Int].self, from: array) == [2, 4, 8, 10, 14, 16, 20])
    }

    @Test("plain-data jobs and outputs cross a real process pool, singly and in batches")
    func plainDataThroughProcessPool() async throws {
        try await withProcessPool(configuration: TestWorker.configuration(workers: 2)) { pool async throws in
            #expect(try await pool.run(PlainPoint(x: 1, y: 1)) == PlainPoint(x: 2, y: 1.5))
            let inputs = (0..<5_000).map { PlainPoint(x: $0, y: Double($0)) }
            let outputs = try await pool.map(inputs)
            #expect(outputs == inputs.map { PlainPoint(x: $0.x + 1, y: $0.y + 0.5) })
        }
    }
}
