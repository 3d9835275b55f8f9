import Glibc
import Offload

// ProcessPoolStreaming: ProcessPool.mapUnordered over a lazy sequence of trivial jobs, end to end (chunking,
// encoding, the pipes, the workers, decoding, yielding). Each round streams the input twice, in a shuffled order:
// from a nonisolated function (what the pool costs) and from the main actor (where every `for try await` step and
// every call of a main-actor closure in the lazy input also checks or hops executors). Prints the median and the
// range of nanoseconds per item for both, and this process's peak resident memory.
// Usage: ProcessPoolStreaming [items] [workers] [rounds]   (default: 10,000,000 items, 2 workers, 3 rounds)

/// x → x · 2654435761 (wrapping): the per-job cost of the pool itself.
struct Multiply: Job {
    static var jobName: String { "streaming.Multiply" }
    var x: Int
    func run() throws -> UInt64 { UInt64(truncatingIfNeeded: x) &* 2_654_435_761 }
}

ProcessPool.runWorkerIfRequested(registry: JobRegistry(Multiply.self))

let arguments = CommandLine.arguments.dropFirst().map { Int($0) }
let items = (arguments.first ?? nil) ?? 10_000_000
let workers = (arguments.dropFirst().first ?? nil) ?? 2
let rounds = (arguments.dropFirst(2).first ?? nil) ?? 3
let expected = (0..<items).reduce(UInt64(0)) { $0 &+ UInt64($1) &* 2_654_435_761 }

/// Streams the input through the pool from a nonisolated function: the lazy input's closure and the loop run on the
/// global executor, as in a server or a library.
nonisolated func streamNonisolated(_ pool: ProcessPool) async throws -> (Duration, UInt64, Int) {
    let start = ContinuousClock.now
    var total: UInt64 = 0
    var count = 0
    for try await value in try pool.mapUnordered((0..<items).lazy.map { Multiply(x: $0) }) {
        total &+= value.value
        count += 1
    }
    return (ContinuousClock.now - start, total, count)
}

/// The same from the main actor, as top-level code in `main.swift` runs.
@MainActor func streamOnMainActor(_ pool: ProcessPool) async throws -> (Duration, UInt64, Int) {
    let start = ContinuousClock.now
    var total: UInt64 = 0
    var count = 0
    for try await value in try pool.mapUnordered((0..<items).lazy.map { Multiply(x: $0) }) {
        total &+= value.value
        count += 1
    }
    return (ContinuousClock.now - start, total, count)
}

func nanosecondsPerItem(_ duration: Duration) -> Double {
    (Double(duration.components.seconds) * 1e9 + Double(duration.components.attoseconds) / 1e9) / Double(items)
}

let pool = try ProcessPool(workers: workers)
try await pool.waitUntilReady()
var nonisolatedFigures: [Double] = []
var mainActorFigures: [Double] = []
var generator = SystemRandomNumberGenerator()
for _ in 0..<rounds {
    for onMain in [false, true].shuffled(using: &generator) {
        let (elapsed, total, count) = onMain ? try await streamOnMainActor(pool) : try await streamNonisolated(pool)
        precondition(count == items && total == expected, "every item has its result")
        if onMain { mainActorFigures.append(nanosecondsPerItem(elapsed)) } else { nonisolatedFigures.append(nanosecondsPerItem(elapsed)) }
    }
}
await pool.shutdown()
var usage = rusage()
getrusage(RUSAGE_SELF.rawValue, &usage)
func summary(_ figures: [Double]) -> String {
    let sorted = figures.sorted()
    func rounded(_ value: Double) -> Double { (value * 10).rounded() / 10 }
    return "\(rounded(sorted[sorted.count / 2])) ns/item [\(rounded(sorted[0]))–\(rounded(sorted[sorted.count - 1]))]"
}
print(
    "mapUnordered \(items) trivial items, \(workers) workers, \(rounds) rounds: "
        + "nonisolated \(summary(nonisolatedFigures)), main actor \(summary(mainActorFigures)), "
        + "parent peak RSS \(usage.ru_maxrss / 1024) MB"
)
