import Foundation
import Offload
import OffloadBenchJobs

/// The measurements of `offload bench-processes`, in the order they are printed: each section's lanes run through the
/// one ``Harness`` (started first, then interleaved rounds, medians and spreads), beside the baseline they are judged
/// against.
struct ProcessBench {
    let workers: Int
    let quick: Bool
    let python: Bool
    let log: Bool
    /// The sections to run (all by default): codec, sum, roundtrip, throughput, startup, shared.
    var sections: Set<String> = ProcessBench.allSections

    static let allSections: Set<String> = ["codec", "sum", "roundtrip", "throughput", "startup", "shared"]

    struct Report: Codable {
        struct SumOfSquares: Codable {
            var tasks: Int
            var iterationsPerTask: Int
            var sequentialSeconds: Double
            var threadPoolSeconds: Double
            var processPoolSeconds: Double
            var threadPoolSpeedup: Double
            var processPoolSpeedup: Double
            var target = "processPoolSpeedup >= 1.9 on 2 cores"
        }
        struct RoundTrip: Codable {
            /// Raw pipe round trip with the parent thread and the echo child on different CPUs (the pool's case:
            /// its worker runs on another CPU than the caller).
            var rawPipeMicroseconds: Double
            /// Raw pipe round trip with both ends pinned to the same CPU (no cross-CPU wake-up; for reference).
            var rawPipeSameCPUMicroseconds: Double
            var poolAwaitMicroseconds: Double
            var poolBlockingWaitMicroseconds: Double
            var ratio: Double
            var target = "pool / raw <= 1.3"
        }
        struct Throughput: Codable {
            var jobs: Int
            var unbatchedJobsPerSecond: Double
            var batchedJobsPerSecond: Double
            var python: ProcessBenchPython.Figures?
            var unbatchedVersusPython: Double?
            var batchedVersusPython: Double?
            var pythonNotice: String?
            var target = "unbatched >= 10x Python's"
        }
        struct Startup: Codable {
            var workers: Int
            var startToFirstResultMilliseconds: Double
            /// Spawn of this executable to its first echo (no pool): the part of start-up owed to the executable itself.
            var executableStartMilliseconds: Double
            var pythonForkserverMilliseconds: Double?
            var ratio: Double?
            /// The same, with the lean `offload-worker` (no Foundation) as a dedicated worker executable.
            var dedicatedWorkerStartToFirstResultMilliseconds: Double?
            var dedicatedWorkerRatio: Double?
            var target = "<= 12 ms and <= 0.4x Python's forkserver start"
        }
        struct SharedMemory: Codable {
            var bytes: Int
            var sharedSeconds: Double
            var encodedSeconds: Double
            var speedup: Double
            var target = "shared >= 100x faster"
        }
        var workers: Int
        var quick: Bool
        var codec: [CodecComparison.Figures]?
        var sumOfSquares: SumOfSquares?
        var roundTrip: RoundTrip?
        var throughput: Throughput?
        var startup: Startup?
        var sharedMemory: SharedMemory?
        /// How the lanes of each section ran: "interleaved" (round-robin over the section's lanes).
        var schedule = "interleaved"
        /// Every lane measured, with its runs and spread.
        var lanes: [Lane] = []
    }

    /// One lane of a section, as the harness measured it.
    struct Lane: Codable {
        var section: String
        var lane: String
        var workers: Int
        /// The median of the runs, in seconds (for round trips and start-ups, of one operation).
        var medianSeconds: Double
        /// (max − min) / median of the runs.
        var spread: Double
        var runs: [Double]

        init(section: String, _ measurement: LaneMeasurement) {
            self.section = section
            lane = measurement.name
            workers = measurement.workers
            medianSeconds = measurement.median
            spread = measurement.spread
            runs = measurement.runs
        }
    }

    private func say(_ line: String) {
        if log { print(line) }
    }

    private func configuration(workers: Int) -> ProcessPool.Configuration {
        ProcessPool.Configuration(workers: workers)
    }

    private func spread(_ lane: LaneMeasurement) -> String {
        "±" + Format.fixed(lane.spread * 50, 0) + "%"
    }

    func run() async throws -> Report {
        say("offload bench-processes — \(workers) workers, \(quick ? "quick" : "full") sizes "
            + "(lanes of each section interleaved; medians, ± half the spread)")

        var report = Report(workers: workers, quick: quick)
        if sections.contains("codec") {
            let (codec, lanes) = try await CodecComparison.measure(iterations: quick ? 20_000 : 100_000, repetitions: 3)
            say("\n[codec] encode + decode per message (JSONEncoder/JSONDecoder vs Offload binary)")
            for figures in codec {
                say(
                    "  \(figures.message): JSON \(Format.fixed(figures.jsonMicroseconds, 2)) µs (\(figures.jsonBytes) B)"
                        + "  binary \(Format.fixed(figures.binaryMicroseconds, 2)) µs (\(figures.binaryBytes) B)"
                        + "  → binary \(Format.fixed(figures.jsonMicroseconds / figures.binaryMicroseconds, 1))x faster"
                )
            }
            report.codec = codec
            report.lanes += lanes.map { Lane(section: "codec", $0) }
        }
        if sections.contains("sum") { report.sumOfSquares = try await sumOfSquares(&report.lanes) }
        if sections.contains("roundtrip") {
            report.roundTrip = try await roundTrip(count: quick ? 2_000 : 10_000, &report.lanes)
        }
        var pythonFigures: ProcessBenchPython.Figures?
        if sections.contains("throughput") || sections.contains("startup") {
            let measured =
                python
                ? ProcessBenchPython.measure(workers: workers, unbatched: quick ? 5_000 : 20_000, batched: 100_000)
                : .failure(PythonUnavailable(notice: "Python side skipped: --no-python"))
            pythonFigures = try? measured.get()
            if sections.contains("throughput") { report.throughput = try await throughput(python: measured, &report.lanes) }
        }
        if sections.contains("startup") { report.startup = try await startup(python: pythonFigures, &report.lanes) }
        if sections.contains("shared") { report.sharedMemory = try await sharedMemory(&report.lanes) }
        return report
    }

    // MARK: Sections

    private func sumOfSquares(_ lanes: inout [Lane]) async throws -> Report.SumOfSquares {
        let workload = SumOfSquares(n: quick ? 50_000_000 : SumOfSquares.defaultN)
        let items = workload.items
        var prepared: [PreparedLane] = []
        for lane in [BenchLane.sequential, .threadpool, .processpool] {
            let made = try await LaneCatalog.prepare(lane, workload: workload, items: items,
                                                     workers: lane == .sequential ? 1 : workers, python: nil)
            prepared.append(try made.get())
        }
        let measured = try await Harness.run(prepared, repetitions: 3)
        lanes += measured.map { Lane(section: "sum", $0) }
        guard Set(measured.map(\.checksum)).count == 1, measured.allSatisfy(\.checksumsStable) else {
            throw CLIError("the sum-of-squares lanes disagree on the checksum")
        }
        let (sequential, threads, processes) = (measured[0], measured[1], measured[2])
        let figures = Report.SumOfSquares(
            tasks: items.count,
            iterationsPerTask: workload.n,
            sequentialSeconds: sequential.median,
            threadPoolSeconds: threads.median,
            processPoolSeconds: processes.median,
            threadPoolSpeedup: sequential.median / threads.median,
            processPoolSpeedup: sequential.median / processes.median
        )
        say("\n[sum-of-squares] \(items.count) tasks × heavy_calculation(\(Format.grouped(workload.n)))")
        say("  sequential   \(Format.fixed(figures.sequentialSeconds * 1000, 1)) ms \(spread(sequential))")
        let threadMs = Format.fixed(figures.threadPoolSeconds * 1000, 1)
        let processMs = Format.fixed(figures.processPoolSeconds * 1000, 1)
        say("  ThreadPool   \(threadMs) ms \(spread(threads))  speed-up \(Format.fixed(figures.threadPoolSpeedup, 2))x")
        say("  ProcessPool  \(processMs) ms \(spread(processes))  speed-up "
            + "\(Format.fixed(figures.processPoolSpeedup, 2))x  (target ≥ 1.9x)")
        return figures
    }

    /// Raw and pool round trips in interleaved blocks (same load for both), after a warm-up round. The raw baseline
    /// is measured with its two ends pinned to different CPUs — what a pool round trip involves, and what the
    /// scheduler otherwise decides at random (a ping-pong pair is often pulled onto one CPU, which is 10× faster) —
    /// and, for reference, pinned to the same CPU.
    private func roundTrip(count: Int, _ lanes: inout [Lane]) async throws -> Report.RoundTrip {
        let blocks = 5
        let crossEcho = try RawPipeEcho.Child(cpu: 1 % max(1, WorkerCount.available))
        let sameEcho = try RawPipeEcho.Child(cpu: 0)
        let pool = try ProcessPool(configuration: configuration(workers: 1))
        let perBlock = count / blocks
        let measured = try await Harness.run(
            [
                PreparedLane(name: "raw pipe, cross-CPU", workers: 1,
                             session: ProcessBenchLanes.RawPipe(child: crossEcho, count: perBlock)),
                PreparedLane(name: "raw pipe, same CPU", workers: 1,
                             session: ProcessBenchLanes.RawPipe(child: sameEcho, count: perBlock)),
                PreparedLane(name: "pool, await", workers: 1,
                             session: ProcessBenchLanes.PoolAwait(pool: pool, count: perBlock)),
                PreparedLane(name: "pool, blocking wait", workers: 1,
                             session: ProcessBenchLanes.PoolBlockingWait(pool: pool, count: perBlock)),
            ],
            repetitions: blocks,
            warmUp: 1
        )
        await pool.shutdown()
        lanes += measured.map { Lane(section: "roundtrip", $0) }
        let (raw, same, awaited, blocking) = (measured[0], measured[1], measured[2], measured[3])
        let figures = Report.RoundTrip(
            rawPipeMicroseconds: raw.median * 1e6,
            rawPipeSameCPUMicroseconds: same.median * 1e6,
            poolAwaitMicroseconds: awaited.median * 1e6,
            poolBlockingWaitMicroseconds: blocking.median * 1e6,
            ratio: min(awaited.median, blocking.median) / raw.median
        )
        say("\n[round trip] one trivial task on a warm 1-worker pool vs a raw pipe echo to a relaunched child")
        say("  raw pipe, ends on different CPUs  \(Format.fixed(figures.rawPipeMicroseconds, 1)) µs \(spread(raw))")
        say("  raw pipe, ends on the same CPU    \(Format.fixed(figures.rawPipeSameCPUMicroseconds, 1)) µs "
            + "\(spread(same)) (reference)")
        say("  pool, await                       \(Format.fixed(figures.poolAwaitMicroseconds, 1)) µs \(spread(awaited))")
        say("  pool, blocking wait               \(Format.fixed(figures.poolBlockingWaitMicroseconds, 1)) µs "
            + "\(spread(blocking))")
        say("  ratio (best pool / cross-CPU raw) \(Format.fixed(figures.ratio, 2))x  (target ≤ 1.3x)")
        return figures
    }

    private func throughput(
        python: Result<ProcessBenchPython.Figures, PythonUnavailable>, _ lanes: inout [Lane]
    ) async throws -> Report.Throughput {
        let jobs = 100_000
        let pool = try ProcessPool(configuration: configuration(workers: workers))
        _ = try await pool.map((0..<workers * 2).map { TrivialJob(item: $0) }, chunkSize: 1)
        let input = (0..<jobs).map { TrivialJob(item: $0) }
        let measured = try await Harness.run(
            [
                PreparedLane(name: "unbatched", workers: workers,
                             session: ErasedLane(ProcessBenchLanes.PoolMap(pool: pool, jobs: input, chunkSize: 1))),
                PreparedLane(name: "auto-batched", workers: workers,
                             session: ErasedLane(ProcessBenchLanes.PoolMap(pool: pool, jobs: input, chunkSize: nil))),
            ],
            repetitions: 3
        )
        await pool.shutdown()
        lanes += measured.map { Lane(section: "throughput", $0) }
        let (unbatched, batched) = (measured[0], measured[1])
        var figures = Report.Throughput(
            jobs: jobs,
            unbatchedJobsPerSecond: Double(jobs) / unbatched.median,
            batchedJobsPerSecond: Double(jobs) / batched.median
        )
        say("\n[throughput] \(Format.grouped(jobs)) trivial jobs on \(workers) workers")
        say("  unbatched (map chunkSize: 1)  \(Format.grouped(Int(figures.unbatchedJobsPerSecond))) jobs/s "
            + "\(spread(unbatched))")
        say("  auto-batched (map)            \(Format.grouped(Int(figures.batchedJobsPerSecond))) jobs/s "
            + "\(spread(batched))")
        switch python {
        case .success(let py):
            figures.python = py
            figures.unbatchedVersusPython = figures.unbatchedJobsPerSecond / py.unbatchedJobsPerSecond
            figures.batchedVersusPython = figures.batchedJobsPerSecond / py.batchedJobsPerSecond
            let pythonRate = Format.grouped(Int(py.unbatchedJobsPerSecond))
            let versus = Format.fixed(figures.unbatchedVersusPython ?? 0, 1)
            say(
                "  Python \(py.version) ProcessPoolExecutor map(chunksize=1)  \(pythonRate) jobs/s"
                    + " (\(Format.grouped(py.unbatchedJobs)) jobs) → ProcessPool \(versus)x (target ≥ 10x)"
            )
            say(
                "  Python map(chunksize=n/(4·workers))  \(Format.grouped(Int(py.batchedJobsPerSecond))) jobs/s"
                    + " → ProcessPool \(Format.fixed(figures.batchedVersusPython ?? 0, 1))x"
            )
        case .failure(let unavailable):
            figures.pythonNotice = unavailable.notice
            say("  \(unavailable.notice)")
        }
        return figures
    }

    private func startup(python: ProcessBenchPython.Figures?, _ lanes: inout [Lane]) async throws -> Report.Startup {
        let startWorkers = 2
        var prepared = [
            PreparedLane(name: "relaunching offload", workers: startWorkers,
                         session: ProcessBenchLanes.PoolStart(configuration: configuration(workers: startWorkers))),
            PreparedLane(name: "executable start", workers: 1, session: ProcessBenchLanes.ExecutableStart()),
        ]
        if let worker = Self.dedicatedWorkerPath {
            var dedicated = configuration(workers: startWorkers)
            dedicated.executable = worker
            prepared.append(PreparedLane(name: "offload-worker", workers: startWorkers,
                                         session: ProcessBenchLanes.PoolStart(configuration: dedicated)))
        }
        let measured = try await Harness.run(prepared, repetitions: 5)
        lanes += measured.map { Lane(section: "startup", $0) }
        let milliseconds = measured[0].median * 1000
        let execMilliseconds = measured[1].median * 1000
        var figures = Report.Startup(
            workers: startWorkers,
            startToFirstResultMilliseconds: milliseconds,
            executableStartMilliseconds: execMilliseconds
        )
        say("\n[start-up] pool creation to first result, \(startWorkers) workers")
        say("  ProcessPool relaunching offload  \(Format.fixed(milliseconds, 2)) ms \(spread(measured[0]))  "
            + "(target ≤ 12 ms)")
        say("  of which starting this executable (spawn → main answers, no pool): \(Format.fixed(execMilliseconds, 2)) ms")
        if measured.count > 2 {
            let dedicatedMilliseconds = measured[2].median * 1000
            figures.dedicatedWorkerStartToFirstResultMilliseconds = dedicatedMilliseconds
            say("  ProcessPool with offload-worker (links only Offload)  \(Format.fixed(dedicatedMilliseconds, 2)) ms "
                + "\(spread(measured[2]))")
        } else {
            say("  offload-worker not found next to offload: dedicated-worker start-up skipped")
        }
        if let python {
            figures.pythonForkserverMilliseconds = python.forkserverStartMilliseconds
            figures.ratio = milliseconds / python.forkserverStartMilliseconds
            figures.dedicatedWorkerRatio = figures.dedicatedWorkerStartToFirstResultMilliseconds.map {
                $0 / python.forkserverStartMilliseconds
            }
            say(
                "  Python forkserver, fresh interpreter  \(Format.fixed(python.forkserverStartMilliseconds, 2)) ms → ratio"
                    + " \(Format.fixed(figures.ratio ?? 0, 2))x"
                    + (figures.dedicatedWorkerRatio.map { " (offload-worker \(Format.fixed($0, 2))x)" } ?? "")
                    + " (target ≤ 0.4x); forkserver already running:"
                    + " \(Format.fixed(python.forkserverWarmStartMilliseconds, 2)) ms"
            )
        }
        return figures
    }

    /// `offload-worker`, built next to `offload` by the same package, if it is there.
    static var dedicatedWorkerPath: String? {
        guard let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else {
            return nil
        }
        let path = URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent("offload-worker").path
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }

    private func sharedMemory(_ lanes: inout [Lane]) async throws -> Report.SharedMemory {
        let count = (quick ? 64 : 256) << 20 / MemoryLayout<Double>.stride
        let stride = 4096 / MemoryLayout<Double>.stride  // one element per page: the job touches every page
        let buffer = try SharedBuffer<Double>(count: count)
        buffer.withUnsafeMutableBufferPointer { values in
            for index in values.indices { values[index] = Double(index & 1023) }
        }
        let values = buffer.withUnsafeBufferPointer { Array($0) }
        var configuration = configuration(workers: 1)
        configuration.maxFramePayload = Int(UInt32.max)
        let pool = try ProcessPool(configuration: configuration)
        _ = try await pool.run(TrivialJob(item: 0))
        let measured = try await Harness.run(
            [
                PreparedLane(name: "SharedBuffer handle", workers: 1,
                             session: ErasedLane(ProcessBenchLanes.Sample(
                                 pool: pool, job: SharedSampleJob(input: buffer.handle, stride: stride)))),
                PreparedLane(name: "encoded in the job", workers: 1,
                             session: ErasedLane(ProcessBenchLanes.Sample(
                                 pool: pool, job: InlineSampleJob(values: values, stride: stride))),
                             runLimit: quick ? 1 : 2),
            ],
            repetitions: 5
        )
        await pool.shutdown()
        lanes += measured.map { Lane(section: "shared", $0) }
        let (shared, encoded) = (measured[0], measured[1])
        guard shared.checksum == encoded.checksum else { throw CLIError("shared and encoded sums disagree") }
        let figures = Report.SharedMemory(
            bytes: count * MemoryLayout<Double>.stride,
            sharedSeconds: shared.median,
            encodedSeconds: encoded.median,
            speedup: encoded.median / shared.median
        )
        say("\n[shared memory] \(figures.bytes >> 20) MB of Double handed to a job that reads one element per page")
        say("  SharedBuffer handle  \(Format.fixed(figures.sharedSeconds * 1000, 2)) ms \(spread(shared))")
        say("  encoded in the job   \(Format.fixed(figures.encodedSeconds * 1000, 1)) ms \(spread(encoded))")
        say("  speed-up \(Format.fixed(figures.speedup, 0))x  (target ≥ 100x)")
        return figures
    }
}
