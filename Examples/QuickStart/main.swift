// The README's quick start, compiled by every build (target QuickStart) so that it cannot rot.
import Offload

// 0. Worker processes relaunch this executable: this call must come first in main (Python's
//    `if __name__ == "__main__":`). In a worker it serves the registered jobs and never returns.
ProcessPool.runWorkerIfRequested(registry: JobRegistry(CountPrimes.self))

// 1. CPU-bound work on dedicated threads: ordered results, chunked automatically.
let pool = try ThreadPool()                              // one thread per core
let squares = try await pool.map(1...1_000_000) { n in n &* n }
print("sum of squares:", squares.reduce(0, &+))

// 2. One task, awaited from async code (the analogue of loop.run_in_executor).
let primeCount = try await pool.run {
    (2..<50_000).filter { n in (2..<n).prefix { $0 * $0 <= n }.allSatisfy { n % $0 != 0 } }.count
}
print("primes below 50,000:", primeCount)
await pool.shutdown()

// 3. Per-worker private state, no locks (the analogue of InterpreterPoolExecutor with an initializer).
let lengths = try await parallelMap(["alpha", "beta", "gamma"], makeState: { [String: Int]() }) { cache, word in
    if let known = cache[word] { return known }
    cache[word] = word.count
    return word.count
}
print("lengths:", lengths)

// 4. Async I/O with bounded concurrency (Python's TaskGroup + semaphore).
let echoed = try await parallelMap(1...20, mode: .io(maxConcurrency: 5)) { id in
    try await Task.sleep(for: .milliseconds(10))         // stands in for a network call
    return "response \(id)"
}
print(echoed.count, "responses")

// 5. Crash-proof worker processes running typed jobs: a worker that crashes, hangs or runs out of memory costs only
//    its own task (a typed OffloadError), is replaced, and the pool goes on.
struct CountPrimes: Job {
    var range: Range<Int>
    func run() throws -> Int {
        range.filter { n in n > 1 && (2..<n).prefix { $0 * $0 <= n }.allSatisfy { n % $0 != 0 } }.count
    }
}
let counts = try await parallelMap(jobs: (0..<4).map { CountPrimes(range: $0 * 25_000..<($0 + 1) * 25_000) },
                                   mode: .processes(workers: 2))
print("primes per quarter of 0..<100,000:", counts)

// 6. One protocol for every executor: the same jobs on threads or processes, with one outcome per input.
func countPrimes(on pool: some JobExecutor) async throws -> [Result<Int, OffloadError>] {
    try await pool.mapResults((0..<4).map { CountPrimes(range: $0 * 25_000..<($0 + 1) * 25_000) })
}
let onThreads = try await withThreadPool { pool in try await countPrimes(on: pool) }
let inProcesses = try await withProcessPool { pool in try await countPrimes(on: pool) }
print("same answers on threads and in processes:", onThreads.map { try? $0.get() } == inProcesses.map { try? $0.get() })
