import Offload

// CodecFigures: JobCodec encode + decode of the payload shapes that Python/pickle_codec.py times with pickle, in the
// same units (microseconds per message, median of the rounds, min-max), so that the two can be run one after the
// other, in turns, and compared pair by pair.
// Usage: CodecFigures [rounds]   (default 11)

struct SmallJob: Codable, Sendable {
    var id: Int
    var scale: Double
    var label: String
    var flags: [Bool]
}

struct TrivialJob: Codable, Sendable {
    var item: Int
}

@inline(never)
func perMessage<T: Codable>(_ value: T, _ iterations: Int) throws -> Double {
    let start = ContinuousClock.now
    for _ in 0..<iterations {
        let bytes = try JobCodec.encode(value)
        let decoded = try JobCodec.decode(T.self, from: bytes)
        withExtendedLifetime(decoded) {}
    }
    let elapsed = ContinuousClock.now - start
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    return seconds / Double(iterations) * 1e6
}

struct Shape {
    let name: String
    let iterations: Int
    let measure: (Int) throws -> Double
    let size: Int
}

func shape<T: Codable>(_ name: String, _ value: T, _ iterations: Int) throws -> Shape {
    Shape(name: name, iterations: iterations, measure: { try perMessage(value, $0) }, size: try JobCodec.encode(value).count)
}

let rounds = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 11
let shapes = [
    try shape("small job (SmallJob struct)", SmallJob(id: 123_456, scale: 0.5, label: "chunk-17", flags: [true, false, true]), 20_000),
    try shape("trivial job (TrivialJob struct)", TrivialJob(item: 42), 20_000),
    try shape("trivial job (an Int)", 42, 20_000),
    try shape("batch of 1,000 TrivialJob", (0..<1_000).map { TrivialJob(item: $0) }, 4_000),
    try shape("batch of 1,000 Int", Array(0..<1_000), 4_000),
    try shape("1,000 UInt64 outputs", (0..<1_000).map { UInt64($0) &* 2_654_435_761 }, 4_000),
]
print("Offload JobCodec format \(JobCodec.formatVersion): encode + decode, median of \(rounds)")
var timings = [[Double]](repeating: [], count: shapes.count)
for _ in 0..<rounds {
    for (index, shape) in shapes.enumerated() { timings[index].append(try shape.measure(shape.iterations)) }
}
func fixed(_ value: Double) -> String {
    let scaled = (value * 1_000).rounded() / 1_000
    return "\(scaled)"
}
for (index, shape) in shapes.enumerated() {
    let sorted = timings[index].sorted()
    print("  \(shape.name): \(fixed(sorted[sorted.count / 2])) us (min \(fixed(sorted[0])), max \(fixed(sorted[sorted.count - 1]))), \(shape.size) B")
}
