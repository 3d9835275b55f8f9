import Offload
import OffloadBenchJobs

/// The measurement behind ``JobCodec``'s choice of encoding: JSON (`JSONEncoder`/`JSONDecoder`, Foundation's
/// swift-foundation implementation, the same one FoundationEssentials ships) versus Offload's binary Codable format,
/// encoding and decoding the messages a process pool actually sends, as interleaved lanes.
enum CodecComparison {
    struct Figures: Codable {
        var message: String
        var jsonMicroseconds: Double
        var binaryMicroseconds: Double
        var jsonBytes: Int
        var binaryBytes: Int
    }

    /// A typical small job: a few scalars and a short string.
    struct SmallJob: Codable, Equatable {
        var id: Int
        var scale: Double
        var label: String
        var flags: [Bool]
    }

    /// The lanes: JSON and binary for each message, `iterations` encode + decode per run.
    static func lanes(iterations: Int) -> [(message: String, iterations: Int, json: PreparedLane, binary: PreparedLane)] {
        func pair<T: Codable & Sendable>(_ message: String, _ value: T, _ iterations: Int)
            -> (String, Int, PreparedLane, PreparedLane)
        {
            (message, iterations,
             PreparedLane(name: "json: \(message)", workers: 1,
                          session: ErasedLane(ProcessBenchLanes.Codec(value: value, iterations: iterations, json: true))),
             PreparedLane(name: "binary: \(message)", workers: 1,
                          session: ErasedLane(ProcessBenchLanes.Codec(value: value, iterations: iterations, json: false))))
        }
        let small = SmallJob(id: 123_456, scale: 0.5, label: "chunk-17", flags: [true, false, true])
        return [
            pair("small job (SmallJob, 4 fields)", small, iterations),
            pair("trivial job (TrivialJob)", TrivialJob(item: 42), iterations),
            pair("batch of 1,000 TrivialJob", (0..<1_000).map { TrivialJob(item: $0) }, max(1, iterations / 1_000)),
        ]
    }

    /// Runs the lanes interleaved and reports microseconds per message and encoded sizes.
    static func measure(iterations: Int, repetitions: Int, seed: UInt64) async throws
        -> (figures: [Figures], lanes: [LaneMeasurement])
    {
        let pairs = lanes(iterations: iterations)
        let measured = try await Harness.run(
            pairs.flatMap { [$0.json, $0.binary] }, repetitions: repetitions, seed: seed)
        let figures = pairs.enumerated().map { index, pair in
            let json = measured[2 * index]
            let binary = measured[2 * index + 1]
            return Figures(
                message: pair.message,
                jsonMicroseconds: json.median / Double(pair.iterations) * 1e6,
                binaryMicroseconds: binary.median / Double(pair.iterations) * 1e6,
                jsonBytes: Int(json.checksum) ?? 0,
                binaryBytes: Int(binary.checksum) ?? 0
            )
        }
        return (figures, measured)
    }
}
