import Foundation
import Offload
import OffloadBenchJobs

/// The measurements of `offload bench-processes`, in the order they are printed: each section's lanes run through the
/// one ``Harness`` (started first, then shuffled interleaved rounds, medians and noise), beside the baseline they are
/// judged against.
struct ProcessBench {
    let workers: Int
    let quick: Bool
    let python: Bool
    let log: Bool
    /// The seed of the rounds' shuffled orders (every section draws its orders from it).
    var seed: UInt64 = RoundOrder.randomSeed()
    /// The sections to run (all by default): codec, sum, roundtrip, throughput, startup, shared.
    var sections: Set<String> = ProcessBench.allSections

    static let allSections: Set<String> = ["codec", "sum", "roundtrip", "throughput", "startup", "shared"]
    /// A bar of the sections on stderr (a terminal only, never with `--json`), cleared before each printed line.
    private let progress = ProgressLine("bench-processes")

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
            /// Medians of the per-round ratios sequential run / pool run, each pair from the same round.
            var threadPoolPairedSpeedup: Double?
            var processPoolPairedSpeedup: Double?
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
            /// Percentiles over every single round trip of every block (the figures above are medians of the blocks'
            /// medians).
            var rawPipeP50Microseconds: Double?
            var rawPipeP99Microseconds: Double?
            var rawPipeSameCPUP50Microseconds: Double?
            var rawPipeSameCPUP99Microseconds: Double?
            var poolAwaitP50Microseconds: Double?
            var poolAwaitP99Microseconds: Double?
            var poolBlockingWaitP50Microseconds: Double?
            var poolBlockingWaitP99Microseconds: Double?
            /// The median of the per-block ratios best pool lane / cross-CPU raw pipe, each pair from the same round.
            var pairedRatio: Double?
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
            /// Whether Python's figures come from lanes run in the same interleaved rounds (else from a separate run).
            var pythonInterleaved: Bool?
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
            /// The median of the per-round ratios encoded run / shared run.
            var pairedSpeedup: Double?
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
        /// The seed of the rounds' shuffled orders: `--seed` with it repeats this run's schedule.
        var seed: UInt64?
        /// One line each: a section's baseline too noisy to trust the ratios computed from it.
        var warnings: [String] = []
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
        var minSeconds: Double?
        var maxSeconds: Double?
        /// 1.4826 × MAD / median of the runs: a robust coefficient of variation.
        var noise: Double?
        /// The measured rounds this lane ran in (its runs).
        var rounds: Int?
        /// Lanes that time single operations (round trips): percentiles over every operation of every run.
        var p50Seconds: Double?
        var p99Seconds: Double?
        var samples: Int?

        init(section: String, _ measurement: LaneMeasurement) {
            self.section = section
            lane = measurement.name
            workers = measurement.workers
            medianSeconds = measurement.median
            spread = measurement.spread
            runs = measurement.runs
            minSeconds = measurement.runs.min()
            maxSeconds = measurement.runs.max()
            noise = measurement.noise
            rounds = measurement.runs.count
            if !measurement.samples.isEmpty {
                p50Seconds = Statistics.percentile(measurement.samples, 0.50)
                p99Seconds = Statistics.percentile(measurement.samples, 0.99)
                samples = measurement.samples.count
            }
        }
    }

    private func say(_ line: String) {
        guard log else { return }
        progress.finish()
        print(line)
    }

    private func configuration(workers: Int) -> ProcessPool.Configuration {
        ProcessPool.Configuration(workers: workers)
    }

    /// A lane's extremes and noise after its median: "[min 98.1, max 130.2 ms, noise 4%]", in `unit` (a scale from
    /// seconds and its name).
    private func range(_ lane: LaneMeasurement, _ unit: (scale: Double, name: String, digits: Int)) -> String {
        "[min \(Format.fixed(lane.minimum * unit.scale, unit.digits)), "
            + "max \(Format.fixed(lane.maximum * unit.scale, unit.digits)) \(unit.name), "
            + "noise \(Format.fixed(lane.noise * 100, 0))%]"
    }

    private static let milliseconds = (scale: 1e3, name: "ms", digits: 1)
    private static let microseconds = (scale: 1e6, name: "µs", digits: 1)

    /// Prints and records the warning for a section's baseline too noisy to divide by.
    private func warnIfNoisy(_ baseline: LaneMeasurement, section: String, _ warnings: inout [String]) {
        guard let warning = NoiseWarning.line(baseline: baseline) else { return }
        say("  warning: \(warning)")
        warnings.append("\(section): \(warning)")
    }

    /// The median of the per-round ratios `numerator` run / `denominator` run.
    private static func pairedMedian(_ numerator: LaneMeasurement, over denominator: LaneMeasurement) -> Double? {
        let ratios = Statistics.pairedRatios(numerator, over: denominator)
        return ratios.isEmpty ? nil : Statistics.median(ratios)
    }

    func run() async throws -> Report {
        say("offload bench-processes — \(workers) workers, \(quick ? "quick" : "full") sizes")
        say("each section's lanes run in interleaved rounds, shuffled each round; "
            + "seed \(seed) (--seed \(seed) repeats it)")
        say("figures are medians, then [min, max, noise] of the runs; noise = 1.4826 × MAD / median; "
            + "paired = median of the per-round ratios")

        var report = Report(workers: workers, quick: quick)
        report.seed = seed
        defer { progress.finish() }
        let sectionCount = sections.count
        if sections.contains("codec") {
            progress.step("codec", of: sectionCount)
            let (codec, lanes) = try await CodecComparison.measure(
                iterations: quick ? 20_000 : 100_000, repetitions: 3, seed: seed)
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
            for json in lanes where json.name.hasPrefix("json: ") {
                warnIfNoisy(json, section: "codec", &report.warnings)
            }
        }
        if sections.contains("sum") {
            progress.step("sum of squares", of: sectionCount)
            report.sumOfSquares = try await sumOfSquares(&report)
        }
        if sections.contains("roundtrip") {
            progress.step("round trips", of: sectionCount)
            report.roundTrip = try await roundTrip(count: quick ? 2_000 : 10_000, &report)
        }
        var pythonFigures: ProcessBenchPython.Figures?
        if sections.contains("throughput") || sections.contains("startup") {
            let measured =
                python
                ? ProcessBenchPython.measure(workers: workers, unbatched: quick ? 5_000 : 20_000, batched: 100_000)
                : .failure(PythonUnavailable(notice: "Python side skipped: --no-python"))
            pythonFigures = try? measured.get()
            if sections.contains("throughput") {
                progress.step("throughput", of: sectionCount)
                report.throughput = try await throughput(python: measured, &report)
            }
        }
        if sections.contains("startup") {
            progress.step("start-up", of: sectionCount)
            report.startup = try await startup(python: pythonFigures, &report)
        }
        if sections.contains("shared") {
            progress.step("shared memory", of: sectionCount)
            report.sharedMemory = try await sharedMemory(&report)
        }
        return report
    }

    // MARK: Sections

    private func sumOfSquares(_ report: inout Report) async throws -> Report.SumOfSquares {
        let workload = SumOfSquares(n: quick ? 50_000_000 : SumOfSquares.defaultN)
        let items = workload.items
        var prepared: [PreparedLane] = []
        for lane in [BenchLane.sequential, .threadpool, .processpool] {
            let made = try await LaneCatalog.prepare(lane, workload: workload, items: items,
                                                     workers: lane == .sequential ? 1 : workers, python: nil)
            prepared.append(try made.get())
        }
        let measured = try await Harness.run(prepared, repetitions: 3, seed: seed)
        report.lanes += measured.map { Lane(section: "sum", $0) }
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
            processPoolSpeedup: sequential.median / processes.median,
            threadPoolPairedSpeedup: Self.pairedMedian(sequential, over: threads),
            processPoolPairedSpeedup: Self.pairedMedian(sequential, over: processes)
        )
        say("\n[sum-of-squares] \(items.count) tasks × heavy_calculation(\(Format.grouped(workload.n)))")
        warnIfNoisy(sequential, section: "sum", &report.warnings)
        let ms = Self.milliseconds
        say("  sequential   \(Format.fixed(figures.sequentialSeconds * 1000, 1)) ms \(range(sequential, ms))")
        let threadMs = Format.fixed(figures.threadPoolSeconds * 1000, 1)
        let processMs = Format.fixed(figures.processPoolSeconds * 1000, 1)
        say("  ThreadPool   \(threadMs) ms \(range(threads, ms))  speed-up "
            + "\(Format.fixed(figures.threadPoolSpeedup, 2))x (paired \(Format.fixed(figures.threadPoolPairedSpeedup ?? 0, 2))x)")
        say("  ProcessPool  \(processMs) ms \(range(processes, ms))  speed-up "
            + "\(Format.fixed(figures.processPoolSpeedup, 2))x "
            + "(paired \(Format.fixed(figures.processPoolPairedSpeedup ?? 0, 2))x)  (target ≥ 1.9x)")
        return figures
    }

    /// Raw and pool round trips in interleaved blocks (same load for both), after a warm-up round. The raw baseline
    /// is measured with its two ends pinned to different CPUs — what a pool round trip involves, and what the
    /// scheduler otherwise decides at random (a ping-pong pair is often pulled onto one CPU, which is 10× faster) —
    /// and, for reference, pinned to the same CPU.
    private func roundTrip(count: Int, _ report: inout Report) async throws -> Report.RoundTrip {
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
            warmUp: 1,
            seed: seed
        )
        await pool.shutdown()
        report.lanes += measured.map { Lane(section: "roundtrip", $0) }
        let (raw, same, awaited, blocking) = (measured[0], measured[1], measured[2], measured[3])
        func p50(_ lane: LaneMeasurement) -> Double { Statistics.percentile(lane.samples, 0.50) * 1e6 }
        func p99(_ lane: LaneMeasurement) -> Double { Statistics.percentile(lane.samples, 0.99) * 1e6 }
        let best = awaited.median <= blocking.median ? awaited : blocking
        let figures = Report.RoundTrip(
            rawPipeMicroseconds: raw.median * 1e6,
            rawPipeSameCPUMicroseconds: same.median * 1e6,
            poolAwaitMicroseconds: awaited.median * 1e6,
            poolBlockingWaitMicroseconds: blocking.median * 1e6,
            ratio: best.median / raw.median,
            rawPipeP50Microseconds: p50(raw),
            rawPipeP99Microseconds: p99(raw),
            rawPipeSameCPUP50Microseconds: p50(same),
            rawPipeSameCPUP99Microseconds: p99(same),
            poolAwaitP50Microseconds: p50(awaited),
            poolAwaitP99Microseconds: p99(awaited),
            poolBlockingWaitP50Microseconds: p50(blocking),
            poolBlockingWaitP99Microseconds: p99(blocking),
            pairedRatio: Self.pairedMedian(best, over: raw)
        )
        say("\n[round trip] one trivial task on a warm 1-worker pool vs a raw pipe echo to a relaunched child; "
            + "\(blocks) blocks of \(Format.grouped(perBlock)) each")
        say("  lane                              p50 µs    p99 µs   block medians")
        warnIfNoisy(raw, section: "roundtrip", &report.warnings)
        for (label, lane, note) in [
            ("raw pipe, ends on different CPUs", raw, ""), ("raw pipe, ends on the same CPU", same, " (reference)"),
            ("pool, await", awaited, ""), ("pool, blocking wait", blocking, ""),
        ] {
            say("  \(Format.pad(label, 32)) \(Format.pad(Format.fixed(p50(lane), 1), 7, right: true))"
                + " \(Format.pad(Format.fixed(p99(lane), 1), 9, right: true))   "
                + "\(Format.fixed(lane.median * 1e6, 1)) \(range(lane, Self.microseconds))\(note)")
        }
        say("  ratio (best pool / cross-CPU raw, medians) \(Format.fixed(figures.ratio, 2))x, paired "
            + "\(Format.fixed(figures.pairedRatio ?? 0, 2))x  (target ≤ 1.3x)")
        return figures
    }

    private func throughput(
        python: Result<ProcessBenchPython.Figures, PythonUnavailable>, _ report: inout Report
    ) async throws -> Report.Throughput {
        // --quick: a fifth of the jobs, like the round trips (an unbatched job is a round trip too).
        let jobs = quick ? 20_000 : 100_000
        let pool = try ProcessPool(configuration: configuration(workers: workers))
        _ = try await pool.map((0..<workers * 2).map { TrivialJob(item: $0) }, chunkSize: 1)
        let input = (0..<jobs).map { TrivialJob(item: $0) }
        var lanes = [
            PreparedLane(name: "unbatched", workers: workers,
                         session: ErasedLane(ProcessBenchLanes.PoolMap(pool: pool, jobs: input, chunkSize: 1))),
            PreparedLane(name: "auto-batched", workers: workers,
                         session: ErasedLane(ProcessBenchLanes.PoolMap(pool: pool, jobs: input, chunkSize: nil))),
        ]
        // Python's executor takes its turn in the same rounds, so the ratios compare runs from the same moments.
        let pythonJobs = (unbatched: quick ? 5_000 : 20_000, batched: jobs)
        var server: PythonLaneServer?
        if (try? python.get()) != nil, let interpreter = try? PythonInterpreter.locate(nil).get() {
            server = try? PythonLaneServer(interpreter: interpreter)
        }
        if let server {
            for (name, n, chunksize) in [
                ("python unbatched", pythonJobs.unbatched, 1),
                ("python batched", pythonJobs.batched, (pythonJobs.batched + 4 * workers - 1) / (4 * workers)),
            ] {
                if case .success(let (session, _)) = try await server.prepare(
                    BenchLane.pythonProcess, workload: Tiny.name, workers: workers, n: n, chunksize: chunksize)
                {
                    lanes.append(PreparedLane(name: name, workers: workers, session: session))
                }
            }
        }
        let measured: [LaneMeasurement]
        do {
            measured = try await Harness.run(lanes, repetitions: 3, seed: seed)
        } catch {
            await server?.stop()
            throw error
        }
        await server?.stop()
        await pool.shutdown()
        report.lanes += measured.map { Lane(section: "throughput", $0) }
        let (unbatched, batched) = (measured[0], measured[1])
        var figures = Report.Throughput(
            jobs: jobs,
            unbatchedJobsPerSecond: Double(jobs) / unbatched.median,
            batchedJobsPerSecond: Double(jobs) / batched.median
        )
        say("\n[throughput] \(Format.grouped(jobs)) trivial jobs on \(workers) workers")
        say("  unbatched (map chunkSize: 1)  \(Format.grouped(Int(figures.unbatchedJobsPerSecond))) jobs/s "
            + "\(range(unbatched, Self.milliseconds)) per run")
        say("  auto-batched (map)            \(Format.grouped(Int(figures.batchedJobsPerSecond))) jobs/s "
            + "\(range(batched, Self.milliseconds)) per run")
        var python = python
        if measured.count == 4, case .success(var py) = python {
            // The interleaved Python lanes replace the script's own throughput figures.
            py.unbatchedJobsPerSecond = Double(pythonJobs.unbatched) / measured[2].median
            py.batchedJobsPerSecond = Double(pythonJobs.batched) / measured[3].median
            py.unbatchedJobs = pythonJobs.unbatched
            py.batchedJobs = pythonJobs.batched
            python = .success(py)
            figures.pythonInterleaved = true
        }
        switch python {
        case .success(let py):
            figures.python = py
            figures.unbatchedVersusPython = figures.unbatchedJobsPerSecond / py.unbatchedJobsPerSecond
            figures.batchedVersusPython = figures.batchedJobsPerSecond / py.batchedJobsPerSecond
            let pythonRate = Format.grouped(Int(py.unbatchedJobsPerSecond))
            let versus = Format.fixed(figures.unbatchedVersusPython ?? 0, 1)
            say(
                "  Python \(py.version) ProcessPoolExecutor map(chunksize=1)  \(pythonRate) jobs/s"
                    + (figures.pythonInterleaved == true ? " (interleaved)" : "")
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

    private func startup(python: ProcessBenchPython.Figures?, _ report: inout Report) async throws -> Report.Startup {
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
        let measured = try await Harness.run(prepared, repetitions: 5, seed: seed)
        report.lanes += measured.map { Lane(section: "startup", $0) }
        let milliseconds = measured[0].median * 1000
        let execMilliseconds = measured[1].median * 1000
        var figures = Report.Startup(
            workers: startWorkers,
            startToFirstResultMilliseconds: milliseconds,
            executableStartMilliseconds: execMilliseconds
        )
        say("\n[start-up] pool creation to first result, \(startWorkers) workers")
        say("  ProcessPool relaunching offload  \(Format.fixed(milliseconds, 2)) ms "
            + "\(range(measured[0], Self.milliseconds))  "
            + "(target ≤ 12 ms)")
        say("  of which starting this executable (spawn → main answers, no pool): \(Format.fixed(execMilliseconds, 2)) ms")
        if measured.count > 2 {
            let dedicatedMilliseconds = measured[2].median * 1000
            figures.dedicatedWorkerStartToFirstResultMilliseconds = dedicatedMilliseconds
            say("  ProcessPool with offload-worker (links only Offload)  \(Format.fixed(dedicatedMilliseconds, 2)) ms "
                + "\(range(measured[2], Self.milliseconds))")
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

    private func sharedMemory(_ report: inout Report) async throws -> Report.SharedMemory {
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
            repetitions: 5,
            seed: seed
        )
        await pool.shutdown()
        report.lanes += measured.map { Lane(section: "shared", $0) }
        let (shared, encoded) = (measured[0], measured[1])
        guard shared.checksum == encoded.checksum else { throw CLIError("shared and encoded sums disagree") }
        let figures = Report.SharedMemory(
            bytes: count * MemoryLayout<Double>.stride,
            sharedSeconds: shared.median,
            encodedSeconds: encoded.median,
            speedup: encoded.median / shared.median,
            pairedSpeedup: Self.pairedMedian(encoded, over: shared)
        )
        say("\n[shared memory] \(figures.bytes >> 20) MB of Double handed to a job that reads one element per page")
        say("  SharedBuffer handle  \(Format.fixed(figures.sharedSeconds * 1000, 2)) ms "
            + range(shared, Self.milliseconds))
        say("  encoded in the job   \(Format.fixed(figures.encodedSeconds * 1000, 1)) ms "
            + range(encoded, Self.milliseconds))
        say("  speed-up \(Format.fixed(figures.speedup, 0))x  (target ≥ 100x)")
        return figures
    }
}
