// The README's quick start, compiled by every build (target QuickStart) so that it cannot rot.
import Offload

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

// 4. Async I/O with bounded concurrency (TaskGroup + semaphore in the seeds).
let echoed = try await parallelMap(1...20, mode: .io(maxConcurrency: 5)) { id in
    try await Task.sleep(for: .milliseconds(10))         // stands in for a network call
    return "response \(id)"
}
print(echoed.count, "responses")
