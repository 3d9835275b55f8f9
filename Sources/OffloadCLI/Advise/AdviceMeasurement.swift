import Foundation
import Offload
import OffloadBenchJobs

/// The short measurement `offload advise --measure` prints beside the advice.
struct AdviceMeasurement: Codable, Sendable {
    var cores: Int
    var build: String
    /// sum-of-squares, sequential.
    var sequentialSeconds: Double?
    /// sum-of-squares on `cores` threads.
    var threadsSeconds: Double?
    var threadsLane: String?
    var threadsSpeedup: Double?
    /// Median time to start `offload --version` as a child process and wait for it.
    var processSpawnSeconds: Double?
    /// 64 waits of 10 ms each, 16 at a time.
    var ioConcurrentSeconds: Double?
    var ioSequentialEstimateSeconds: Double?
    /// The vectorise branch: 4 × Σx² over an array, scalar, SIMD, and SIMD on `cores` ThreadPool workers.
    var scalarSeconds: Double?
    var simdSeconds: Double?
    var simdThreadsSeconds: Double?
    /// scalar / SIMD: the vector-width multiplier.
    var vectorSpeedup: Double?
    /// SIMD / SIMD on the pool: the cores multiplier.
    var coresSpeedup: Double?
    var lines: [String]

    enum CodingKeys: String, CodingKey {
        case cores, build, lines
        case sequentialSeconds = "sequential_seconds"
        case threadsSeconds = "threads_seconds"
        case threadsLane = "threads_lane"
        case threadsSpeedup = "threads_speedup"
        case processSpawnSeconds = "process_spawn_seconds"
        case ioConcurrentSeconds = "io_concurrent_seconds"
        case ioSequentialEstimateSeconds = "io_sequential_estimate_seconds"
        case scalarSeconds = "scalar_seconds"
        case simdSeconds = "simd_seconds"
        case simdThreadsSeconds = "simd_threads_seconds"
        case vectorSpeedup = "vector_speedup"
        case coresSpeedup = "cores_speedup"
    }

    /// Measures what backs `choice`: CPU scaling for threads/isolated/processes, spawn cost for processes, overlapped
    /// waits for io, the vector-width and cores multipliers for vectorise.
    static func measure(for choice: Advisor.Choice, progress: ProgressLine) async throws -> AdviceMeasurement {
        let cores = WorkerCount.available
        var result = AdviceMeasurement(cores: cores, build: OffloadVersion.buildConfiguration, lines: [])
        if choice == .io {
            progress.update("advise: measuring overlapped waits")
            let (_, seconds) = await Measurement.time {
                await withTaskGroup(of: Void.self) { group in
                    for index in 0..<64 {
                        if index >= 16 { await group.next() }
                        group.addTask { try? await Task.sleep(for: .milliseconds(10)) }
                    }
                }
            }
            result.ioConcurrentSeconds = seconds
            result.ioSequentialEstimateSeconds = 0.64
            result.lines.append("64 simulated I/O waits of 10 ms, 16 in flight: \(Format.seconds(seconds)) "
                                + "(one after another: ≥ 640 ms)")
            return result
        }
        if choice == .vectorise {
            progress.update("advise: measuring scalar, SIMD and SIMD on a ThreadPool")
            let workload = NumPySumOfSquares(n: 4_000_000)
            let measured = try await measure(workload, lanes: [.sequential, .simd, .simdThreadpool], workers: cores)
            let (scalar, simd, pooled) = (measured[0].median, measured[1].median, measured[2].median)
            result.scalarSeconds = scalar
            result.simdSeconds = simd
            result.simdThreadsSeconds = pooled
            result.vectorSpeedup = scalar / max(simd, 1e-9)
            result.coresSpeedup = simd / max(pooled, 1e-9)
            result.lines.append("4 × sum of squares of 4,000,000 doubles: scalar \(Format.seconds(scalar)), "
                                + "SIMD \(Format.seconds(simd)) (\(Format.fixed(result.vectorSpeedup ?? 0, 2))×), "
                                + "SIMD on ThreadPool ×\(cores) \(Format.seconds(pooled)) "
                                + "(\(Format.fixed(result.coresSpeedup ?? 0, 2))× more, "
                                + "\(Format.fixed(scalar / max(pooled, 1e-9), 2))× in all)")
            return result
        }
        progress.update("advise: measuring sum-of-squares")
        let workload = SumOfSquares(n: 20_000_000)
        let measured = try await measure(workload, lanes: [.sequential, .threadpool], workers: cores)
        let (sequential, threads) = (measured[0].median, measured[1].median)
        result.sequentialSeconds = sequential
        result.threadsSeconds = threads
        result.threadsLane = BenchLane.threadpool.rawValue
        result.threadsSpeedup = sequential / max(threads, 1e-9)
        result.lines.append("sum-of-squares (4 × 20,000,000): sequential \(Format.seconds(sequential)), "
                            + "threadpool ×\(cores) \(Format.seconds(threads)) → "
                            + "\(Format.fixed(result.threadsSpeedup ?? 0, 2))× on \(cores) cores")
        if choice == .processes {
            progress.update("advise: measuring process start-up")
            let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
                ?? CommandLine.arguments[0]
            var spawnTimes: [Double] = []
            for _ in 0..<5 {
                let (output, seconds) = try Measurement.time {
                    try ProcessRunner.run(executable, arguments: ["--version"])
                }
                if output.status == 0 { spawnTimes.append(seconds) }
            }
            if !spawnTimes.isEmpty {
                let spawn = Statistics.median(spawnTimes)
                result.processSpawnSeconds = spawn
                result.lines.append("starting a worker process (offload --version, start to exit): "
                                    + "\(Format.seconds(spawn)) median of \(spawnTimes.count) — paid once per worker, "
                                    + "plus encoding each job and result")
            }
        }
        return result
    }

    /// `lanes` of `workload` (sequential on 1 worker, the others on `workers`), 3 interleaved rounds.
    private static func measure<W: BenchWorkload>(_ workload: W, lanes: [BenchLane], workers: Int) async throws
        -> [LaneMeasurement]
    {
        let items = workload.items
        var prepared: [PreparedLane] = []
        for lane in lanes {
            let made = try await LaneCatalog.prepare(lane, workload: workload, items: items,
                                                     workers: lane.sweepsWorkers ? workers : 1, python: nil)
            prepared.append(try made.get())
        }
        return try await Harness.run(prepared, repetitions: 3, seed: RoundOrder.randomSeed())
    }
}
