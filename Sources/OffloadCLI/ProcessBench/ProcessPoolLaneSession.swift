import Offload
import OffloadBenchJobs

/// The `processpool` lane of `offload bench`: the workload's items as jobs, run with `ProcessPool.map` (automatic
/// batching) on a pool started before the clock starts.
struct ProcessPoolLaneSession: LaneSession {
    let pool: ProcessPool
    let kind: WorkloadKind
    let items: [Int]

    /// Starts the pool and waits until every worker answered once, so that timings exclude process start-up.
    static func make(kind: WorkloadKind, n: Int, workers: Int) async throws -> any LaneSession {
        let pool = try ProcessPool(configuration: ProcessPool.Configuration(workers: workers))
        _ = try await pool.map((0..<workers * 2).map { TrivialJob(item: $0) }, chunkSize: 1)
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
            outputs = try await pool.map(slices().map { IsPrimeSliceJob(numbers: $0) }, chunkSize: 1)
        case .tiny:
            outputs = try await pool.map(slices().map { TrivialSliceJob(items: $0) }, chunkSize: 1)
        }
        return outputs.reduce(0, &+)
    }

    private func slices() -> [[Int]] {
        // About eight slices per worker, at most 1,024 items each (one job per slice).
        let size = max(1, min(1_024, (items.count + pool.workerCount * 8 - 1) / (pool.workerCount * 8)))
        return stride(from: 0, to: items.count, by: size).map { Array(items[$0..<min($0 + size, items.count)]) }
    }

    func close() async {
        await pool.shutdown()
    }
}
