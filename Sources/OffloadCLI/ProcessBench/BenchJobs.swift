import Offload

/// The seeds' workloads as process-pool ``Job``s, and the registry `offload` serves as a worker.
enum BenchJobs {
    /// Every job type `offload` can run in its worker processes.
    static var registry: JobRegistry {
        JobRegistry(
            SumOfSquaresJob.self,
            IsPrimeJob.self,
            IsPrimeSliceJob.self,
            TrivialJob.self,
            TrivialSliceJob.self,
            SharedSampleJob.self,
            InlineSampleJob.self
        )
    }
}

/// `heavy_calculation(iterations)` (``SumOfSquares``), its loop step opaque to the optimiser.
struct SumOfSquaresJob: Job {
    static var jobName: String { "offload.bench.SumOfSquares" }
    var iterations: Int
    func run() throws -> UInt64 { SumOfSquares.heavyCalculation(UInt64(iterations), step: Opaque.one) }
}

/// The seeds' `is_prime(n)` by trial division (``Primes``); the output is `n` if prime, else 0.
struct IsPrimeJob: Job {
    static var jobName: String { "offload.bench.IsPrime" }
    var number: Int
    func run() throws -> UInt64 { Primes.isPrime(number) ? UInt64(number) : 0 }
}

/// `is_prime` over a slice of the numbers, returning the sum of the primes (the lane's checksum): the job carries its
/// slice as one `[Int]`, the analogue of `pool.map(is_prime, numbers, chunksize=…)` pickling one list per chunk.
struct IsPrimeSliceJob: Job {
    static var jobName: String { "offload.bench.IsPrimeSlice" }
    var numbers: [Int]
    func run() throws -> UInt64 { numbers.reduce(0) { $0 &+ (Primes.isPrime($1) ? UInt64($1) : 0) } }
}

/// One multiply per item over a slice, returning the wrapping sum.
struct TrivialSliceJob: Job {
    static var jobName: String { "offload.bench.TrivialSlice" }
    var items: [Int]
    func run() throws -> UInt64 { items.reduce(0) { $0 &+ UInt64($1) &* 2_654_435_761 } }
}

/// One multiply: nothing but per-job overhead (``Tiny``).
struct TrivialJob: Job {
    static var jobName: String { "offload.bench.Trivial" }
    var item: Int
    func run() throws -> UInt64 { UInt64(item) &* 2_654_435_761 }
}

/// Reads every `stride`-th element of a shared buffer (the 256 MB hand-off through shared memory).
struct SharedSampleJob: Job {
    static var jobName: String { "offload.bench.SharedSample" }
    var input: SharedBuffer<Double>.Handle
    var stride: Int
    func run() throws -> Double {
        try input.withUnsafeBufferPointer { Self.sample($0, stride: stride) }
    }

    static func sample(_ values: UnsafeBufferPointer<Double>, stride: Int) -> Double {
        var total = 0.0
        var index = 0
        while index < values.count {
            total += values[index]
            index += stride
        }
        return total
    }
}

/// The same sample, with the values encoded into the job (the 256 MB hand-off through the pipe).
struct InlineSampleJob: Job {
    static var jobName: String { "offload.bench.InlineSample" }
    var values: [Double]
    var stride: Int
    func run() throws -> Double {
        values.withUnsafeBufferPointer { SharedSampleJob.sample($0, stride: stride) }
    }
}

/// The `processpool` lane of `offload bench`: the workload's items as jobs, run with `ProcessPool.map` (automatic
/// batching) on a pool started before the clock starts.
struct ProcessPoolLaneSession: LaneSession {
    let pool: ProcessPool
    let kind: WorkloadKind
    let items: [Int]

    /// Starts the pool and waits until every worker answered once, so that timings exclude process start-up.
    static func make(kind: WorkloadKind, n: Int, workers: Int) async throws -> any LaneSession {
        let pool = try ProcessPool(configuration: ProcessPool.Configuration(workers: workers))
        _ = try await pool.map((0..<workers * 2).map { TrivialJob(item: $0) }, batchSize: 1)
        return ProcessPoolLaneSession(pool: pool, kind: kind, items: kind.make(n: n).items)
    }

    /// sum-of-squares: one job per task (4 coarse jobs). primes and tiny: one job per slice of the items, sliced as
    /// `ProcessPool.automaticBatchSize` would batch them — a job per number would spend its time encoding a struct per
    /// number rather than testing it.
    func run() async throws -> UInt64 {
        let outputs: [UInt64]
        switch kind {
        case .sumOfSquares:
            outputs = try await pool.map(items.map { SumOfSquaresJob(iterations: $0) })
        case .primes:
            outputs = try await pool.map(slices().map { IsPrimeSliceJob(numbers: $0) }, batchSize: 1)
        case .tiny:
            outputs = try await pool.map(slices().map { TrivialSliceJob(items: $0) }, batchSize: 1)
        }
        return outputs.reduce(0, &+)
    }

    private func slices() -> [[Int]] {
        let size = pool.automaticBatchSize(for: items.count)
        return stride(from: 0, to: items.count, by: size).map { Array(items[$0..<min($0 + size, items.count)]) }
    }

    func close() async {
        await pool.shutdown()
    }
}
