import Foundation
import Offload
import OffloadBenchJobs

/// The measurement behind ``JobCodec``'s choice of encoding: JSON (`JSONEncoder`/`JSONDecoder`, Foundation's
/// swift-foundation implementation, the same one FoundationEssentials ships) versus Offload's binary Codable format,
/// encoding and decoding the messages a process pool actually sends.
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

    static func measure(iterations: Int) throws -> [Figures] {
        let small = SmallJob(id: 123_456, scale: 0.5, label: "chunk-17", flags: [true, false, true])
        let batch = (0..<1_000).map { TrivialJob(item: $0) }
        return [
            try compare("small job (SmallJob, 4 fields)", small, iterations: iterations),
            try compare("trivial job (TrivialJob)", TrivialJob(item: 42), iterations: iterations),
            try compare("batch of 1,000 TrivialJob", batch, iterations: max(1, iterations / 1_000)),
        ]
    }

    private static func compare<T: Codable>(_ name: String, _ value: T, iterations: Int) throws -> Figures {
        let encoder = JSONEncoder()
        let decoder = JSONDecoder()
        var jsonBytes = 0
        let json = try Measurement.time {
            for _ in 0..<iterations {
                let data = try encoder.encode(value)
                jsonBytes = data.count
                _ = try decoder.decode(T.self, from: data)
            }
        }
        var binaryBytes = 0
        let binary = try Measurement.time {
            for _ in 0..<iterations {
                let bytes = try JobCodec.encode(value)
                binaryBytes = bytes.count
                _ = try JobCodec.decode(T.self, from: bytes)
            }
        }
        return Figures(
            message: name,
            jsonMicroseconds: json.seconds / Double(iterations) * 1e6,
            binaryMicroseconds: binary.seconds / Double(iterations) * 1e6,
            jsonBytes: jsonBytes,
            binaryBytes: binaryBytes
        )
    }
}
