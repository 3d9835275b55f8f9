import Benchmark
import Offload

// Microbenchmarks, named without spaces so that their committed thresholds (Thresholds/, allocation counts only:
// they do not drift with the machine's speed) are found by `swift package benchmark thresholds check`:
//   Codec.TrivialJobBatch1000   1,000 trivial plain-data jobs in one batch, encode + decode (per item: divide by 1,000)
//   Codec.UInt64Outputs1000     1,000 UInt64 outputs, encode + decode (per item: divide by 1,000)
//   Codec.SmallJobBatch1000     1,000 small jobs that are not plain data, encode + decode (per item: divide by 1,000)
//   Codec.SmallJobMessage       one small job, encode + decode
//   Codec.TrivialJobMessage     one trivial job, encode + decode
//   Submit.ThreadPool           ThreadPool.submit + wait of a trivial closure
//   RoundTrip.ProcessPool       a warm 1-worker ProcessPool, one trivial job, submit + wait
//   RoundTrip.ProcessPool.SharedMemory   the same on the shared-memory transport, awaited (time only)
// Run: cd Benchmarks && swift package benchmark (see the README's benchmark section).
let benchmarks: @Sendable () -> Void = {
    // A process pool relaunches this executable as its worker: serve jobs instead of benchmarking.
    ProcessPool.runWorkerIfRequested(registry: registry)

    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        timeUnits: .nanoseconds,
        maxDuration: .seconds(2),
        maxIterations: 1_000_000,
        // The committed thresholds hold allocation counts only; two allocations of slack absorb the thread pool's
        // occasional extra continuation, while one more allocation per item of a 1,000-item batch fails the check.
        thresholds: [.mallocCountTotal: .init(absolute: [.p90: 2])]
    )

    let trivialBatch = (0..<1_000).map { TrivialJob(item: $0) }
    Benchmark("Codec.TrivialJobBatch1000") { benchmark in
        for _ in benchmark.scaledIterations {
            let bytes = try JobCodec.encode(trivialBatch)
            blackHole(try JobCodec.decode([TrivialJob].self, from: bytes))
        }
    }

    let outputs = (0..<1_000).map { UInt64($0) &* 2_654_435_761 }
    Benchmark("Codec.UInt64Outputs1000") { benchmark in
        for _ in benchmark.scaledIterations {
            let bytes = try JobCodec.encode(outputs)
            blackHole(try JobCodec.decode([UInt64].self, from: bytes))
        }
    }

    let smallBatch = (0..<1_000).map { SmallJob(id: $0, scale: 0.5, label: "chunk-17", flags: [true, false, true]) }
    Benchmark("Codec.SmallJobBatch1000") { benchmark in
        for _ in benchmark.scaledIterations {
            let bytes = try JobCodec.encode(smallBatch)
            blackHole(try JobCodec.decode([SmallJob].self, from: bytes))
        }
    }

    let small = SmallJob(id: 123_456, scale: 0.5, label: "chunk-17", flags: [true, false, true])
    Benchmark("Codec.SmallJobMessage") { benchmark in
        for _ in benchmark.scaledIterations {
            let bytes = try JobCodec.encode(small)
            blackHole(try JobCodec.decode(SmallJob.self, from: bytes))
        }
    }

    Benchmark("Codec.TrivialJobMessage") { benchmark in
        for _ in benchmark.scaledIterations {
            let bytes = try JobCodec.encode(TrivialJob(item: 42))
            blackHole(try JobCodec.decode(TrivialJob.self, from: bytes))
        }
    }

    Benchmark(
        "Submit.ThreadPool",
        configuration: .init(
            setup: { threadPool = try ThreadPool(workers: 1) },
            teardown: { await threadPool?.shutdown() }
        )
    ) { benchmark in
        guard let pool = threadPool else { return }
        for index in benchmark.scaledIterations {
            blackHole(try pool.submit { index &* 3 }.wait(timeout: nil))
        }
    }

    Benchmark("RoundTrip.ProcessPool", configuration: roundTripConfiguration(transport: .pipes)) { benchmark in
        guard let pool = processPool else { return }
        for index in benchmark.scaledIterations {
            blackHole(try pool.submit(TrivialJob(item: index)).wait(timeout: nil))
        }
    }

    // Each sample also holds the harness's own work between iterations, so its figures run higher than
    // `offload bench-processes --compare-transports` measures in one loop.
    Benchmark("RoundTrip.ProcessPool.SharedMemory", configuration: roundTripConfiguration(transport: .sharedMemory)) {
        benchmark in
        guard let pool = processPool else { return }
        // Awaited: the caller reads the reply ring itself before it would suspend.
        for index in benchmark.scaledIterations { blackHole(try await pool.run(TrivialJob(item: index))) }
    }
}

/// A round trip's benchmark: time only (it depends on the machine, so no committed threshold), on a warm 1-worker
/// process pool on `transport` that the setup starts (the worker has run a job) and the teardown shuts down.
func roundTripConfiguration(transport: ProcessPool.Transport) -> Benchmark.Configuration {
    .init(
        metrics: [.wallClock, .cpuTotal, .throughput],
        thresholds: [:],
        setup: {
            var configuration = ProcessPool.Configuration(workers: 1)
            configuration.transport = transport
            let pool = try ProcessPool(configuration: configuration)
            _ = try await pool.run(TrivialJob(item: 0))
            processPool = pool
        },
        teardown: {
            await processPool?.shutdown()
            processPool = nil
        }
    )
}

// The pools the setup closures create and the teardown closures shut down (one benchmark runs at a time).
nonisolated(unsafe) var threadPool: ThreadPool?
nonisolated(unsafe) var processPool: ProcessPool?
