import Benchmark
import Offload

// Microbenchmarks: the codec (per trivial item in a batch, per small message), submitting to a thread pool, and a
// warm process-pool round trip. Run: cd Benchmarks && swift package benchmark (see the README's benchmark section).
let benchmarks: @Sendable () -> Void = {
    // A process pool relaunches this executable as its worker: serve jobs instead of benchmarking.
    ProcessPool.runWorkerIfRequested(registry: registry)

    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        timeUnits: .nanoseconds,
        maxDuration: .seconds(2),
        maxIterations: 1_000_000
    )

    let trivialBatch = (0..<1_000).map { TrivialJob(item: $0) }
    Benchmark("Codec: 1,000 trivial jobs, encode + decode (per item: divide by 1,000)") { benchmark in
        for _ in benchmark.scaledIterations {
            let bytes = try JobCodec.encode(trivialBatch)
            blackHole(try JobCodec.decode([TrivialJob].self, from: bytes))
        }
    }

    let outputs = (0..<1_000).map { UInt64($0) &* 2_654_435_761 }
    Benchmark("Codec: 1,000 UInt64 outputs, encode + decode (per item: divide by 1,000)") { benchmark in
        for _ in benchmark.scaledIterations {
            let bytes = try JobCodec.encode(outputs)
            blackHole(try JobCodec.decode([UInt64].self, from: bytes))
        }
    }

    let smallBatch = (0..<1_000).map { SmallJob(id: $0, scale: 0.5, label: "chunk-17", flags: [true, false, true]) }
    Benchmark("Codec: 1,000 small jobs (not plain data), encode + decode (per item: divide by 1,000)") { benchmark in
        for _ in benchmark.scaledIterations {
            let bytes = try JobCodec.encode(smallBatch)
            blackHole(try JobCodec.decode([SmallJob].self, from: bytes))
        }
    }

    let small = SmallJob(id: 123_456, scale: 0.5, label: "chunk-17", flags: [true, false, true])
    Benchmark("Codec: small message (SmallJob), encode + decode") { benchmark in
        for _ in benchmark.scaledIterations {
            let bytes = try JobCodec.encode(small)
            blackHole(try JobCodec.decode(SmallJob.self, from: bytes))
        }
    }

    Benchmark("Codec: trivial message (TrivialJob), encode + decode") { benchmark in
        for _ in benchmark.scaledIterations {
            let bytes = try JobCodec.encode(TrivialJob(item: 42))
            blackHole(try JobCodec.decode(TrivialJob.self, from: bytes))
        }
    }

    Benchmark(
        "Submit: ThreadPool.submit + wait, trivial closure",
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

    Benchmark(
        "Round trip: warm 1-worker ProcessPool, one trivial job (submit + wait)",
        configuration: .init(
            metrics: [.wallClock, .cpuTotal, .throughput],
            setup: {
                let pool = try ProcessPool(workers: 1)
                // Warm: the worker started and has run a job.
                _ = try await pool.run(TrivialJob(item: 0))
                processPool = pool
            },
            teardown: {
                await processPool?.shutdown()
                processPool = nil
            }
        )
    ) { benchmark in
        guard let pool = processPool else { return }
        for index in benchmark.scaledIterations {
            blackHole(try pool.submit(TrivialJob(item: index)).wait(timeout: nil))
        }
    }
}

// The pools the setup closures create and the teardown closures shut down (one benchmark runs at a time).
nonisolated(unsafe) var threadPool: ThreadPool?
nonisolated(unsafe) var processPool: ProcessPool?
