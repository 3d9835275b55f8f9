import Glibc
import Offload

// ProcessPoolStreaming: ProcessPool.mapUnordered over a lazy sequence of trivial jobs, end to end (chunking,
// encoding, the pipes, the workers, decoding, yielding). Prints nanoseconds per item and this process's peak
// resident memory, one line, so that two builds can be timed side by side as whole commands.
// Usage: ProcessPoolStreaming [items] [workers]   (default: 10,000,000 items, 2 workers)

/// x → x · 2654435761 (wrapping): the per-job cost of the pool itself.
struct Multiply: Job {
    static var jobName: String { "streaming.Multiply" }
    var x: Int
    func run() throws -> UInt64 { UInt64(truncatingIfNeeded: x) &* 2_654_435_761 }
}

ProcessPool.runWorkerIfRequested(registry: JobRegistry(Multiply.self))

let items = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 10_000_000
let workers = Int(CommandLine.arguments.dropFirst(2).first ?? "") ?? 2
let pool = try ProcessPool(workers: workers)
try await pool.waitUntilReady()
let start = ContinuousClock.now
var total: UInt64 = 0
var count = 0
for try await value in try pool.mapUnordered((0..<items).lazy.map { Multiply(x: $0) }) {
    total &+= value.value
    count += 1
}
let elapsed = ContinuousClock.now - start
await pool.shutdown()
precondition(count == items, "every item has a result")
let expected = (0..<items).reduce(UInt64(0)) { $0 &+ UInt64($1) &* 2_654_435_761 }
precondition(total == expected, "the results are the products")
var usage = rusage()
getrusage(RUSAGE_SELF.rawValue, &usage)
// The workers were reaped by the shutdown, so their CPU time is in RUSAGE_CHILDREN.
var children = rusage()
getrusage(RUSAGE_CHILDREN.rawValue, &children)
func cpuSeconds(_ usage: rusage) -> Double {
    Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}
func perItem(_ nanoseconds: Double) -> String { "\((nanoseconds / Double(items) * 10).rounded() / 10)" }
let nanoseconds = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
print(
    "mapUnordered \(items) trivial items, \(workers) workers: \(perItem(nanoseconds)) ns/item wall, "
        + "CPU \(perItem(cpuSeconds(usage) * 1e9)) ns/item parent + \(perItem(cpuSeconds(children) * 1e9)) ns/item workers, "
        + "parent peak RSS \(usage.ru_maxrss / 1024) MB"
)
