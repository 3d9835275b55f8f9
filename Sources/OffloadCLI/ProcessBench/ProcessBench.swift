import Foundation
import Offload
import OffloadBenchJobs

/// The measurements of `offload bench-processes`, in the order they are printed.
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
    }

    private func say(_ line: String) {
        if log { print(line) }
    }

    private func configuration(workers: Int) -> ProcessPool.Configuration {
        ProcessPool.Configuration(workers: workers)
    }

    func run() async throws -> Report {
        say("offload bench-processes — \(workers) workers, \(quick ? "quick" : "full") sizes (medians)")

        let roundTrips = quick ? 2_000 : 10_000
        var report = Report(workers: workers, quick: quick)
        if sections.contains("codec") {
            let codec = try CodecComparison.measure(iterations: quick ? 20_000 : 100_000)
            say("\n[codec] encode + decode per message (JSONEncoder/JSONDecoder vs Offload binary)")
            for figures in codec {
                say(
                    "  \(figures.message): JSON \(Format.fixed(figures.jsonMicroseconds, 2)) µs (\(figures.jsonBytes) B)"
                        + "  binary \(Format.fixed(figures.binaryMicroseconds, 2)) µs (\(figures.binaryBytes) B)"
                        + "  → binary \(Format.fixed(figures.jsonMicroseconds / figures.binaryMicroseconds, 1))x faster"
                )
            }
            report.codec = codec
        }
        if sections.contains("sum") { report.sumOfSquares = try await sumOfSquares() }
        if sections.contains("roundtrip") { report.roundTrip = try await roundTrip(count: roundTrips) }
        var pythonFigures: ProcessBenchPython.Figures?
        if sections.contains("throughput") || sections.contains("startup") {
            let measured =
                python
                ? ProcessBenchPython.measure(workers: workers, unbatched: quick ? 5_000 : 20_000, batched: 100_000)
                : .failure(PythonUnavailable(notice: "Python side skipped: --no-python"))
            pythonFigures = try? measured.get()
            if sections.contains("throughput") { report.throughput = try await throughput(python: measured) }
        }
        if sections.contains("startup") { report.startup = try await startup(python: pythonFigures) }
        if sections.contains("shared") { report.sharedMemory = try await sharedMemory() }
        return report
    }

    // MARK: Sections

    private func sumOfSquares() async throws -> Report.SumOfSquares {
        let iterations = quick ? 50_000_000 : SumOfSquares.defaultIterations
        let items = Array(repeating: iterations, count: SumOfSquares.taskCount)
        let runs = 3
        var sequential: [Double] = []
        var threads: [Double] = []
        var processes: [Double] = []
        var checksums: Set<UInt64> = []
        let threadPool = try ThreadPool(workers: workers, name: "bench")
        let pool = try ProcessPool(configuration: configuration(workers: workers))
        _ = try await pool.map((0..<workers * 2).map { TrivialJob(item: $0) }, chunkSize: 1)
        for _ in 0..<runs {
            let seq = Measurement.time {
                items.reduce(UInt64(0)) { $0 &+ SumOfSquares.heavyCalculation(UInt64($1), step: Opaque.one) }
            }
            sequential.append(seq.seconds)
            checksums.insert(seq.value)
            let onThreads = try await Measurement.time {
                try await threadPool.map(items, chunkSize: 1) {
                    SumOfSquares.heavyCalculation(UInt64($0), step: Opaque.one)
                }
            }
            threads.append(onThreads.seconds)
            checksums.insert(onThreads.value.reduce(0, &+))
            let inProcesses = try await Measurement.time {
                try await pool.map(items.map { SumOfSquaresJob(iterations: $0) })
            }
            processes.append(inProcesses.seconds)
            checksums.insert(inProcesses.value.reduce(0, &+))
        }
        await threadPool.shutdown()
        await pool.shutdown()
        guard checksums.count == 1 else { throw OffloadError(.invalidArgument, "lanes disagree on the checksum") }
        let figures = Report.SumOfSquares(
            tasks: items.count,
            iterationsPerTask: iterations,
            sequentialSeconds: Measurement.median(sequential),
            threadPoolSeconds: Measurement.median(threads),
            processPoolSeconds: Measurement.median(processes),
            threadPoolSpeedup: Measurement.median(sequential) / Measurement.median(threads),
            processPoolSpeedup: Measurement.median(sequential) / Measurement.median(processes)
        )
        say("\n[sum-of-squares] \(items.count) tasks × heavy_calculation(\(Format.grouped(iterations)))")
        say("  sequential   \(Format.fixed(figures.sequentialSeconds * 1000, 1)) ms")
        let threadMs = Format.fixed(figures.threadPoolSeconds * 1000, 1)
        let processMs = Format.fixed(figures.processPoolSeconds * 1000, 1)
        say("  ThreadPool   \(threadMs) ms  speed-up \(Format.fixed(figures.threadPoolSpeedup, 2))x")
        say("  ProcessPool  \(processMs) ms  speed-up \(Format.fixed(figures.processPoolSpeedup, 2))x  (target ≥ 1.9x)")
        return figures
    }

    /// Raw and pool round trips in alternating blocks (same load for both), after a warm-up of each. The raw baseline
    /// is measured with its two ends pinned to different CPUs — what a pool round trip involves, and what the
    /// scheduler otherwise decides at random (a ping-pong pair is often pulled onto one CPU, which is 10× faster) —
    /// and, for reference, pinned to the same CPU.
    private func roundTrip(count: Int) async throws -> Report.RoundTrip {
        let crossEcho = try RawPipeEcho.Child(cpu: 1 % max(1, WorkerCount.available))
        let sameEcho = try RawPipeEcho.Child(cpu: 0)
        let pool = try ProcessPool(configuration: configuration(workers: 1))
        _ = try crossEcho.roundTrips(count / 10, pinnedTo: 0)
        _ = try sameEcho.roundTrips(count / 10, pinnedTo: 0)
        for iteration in 0..<(count / 10) { _ = try await pool.run(TrivialJob(item: iteration)) }
        let blocks = 5
        var rawSamples: [Double] = []
        var sameCPUSamples: [Double] = []
        var awaited: [Double] = []
        var blockingSamples: [Double] = []
        for _ in 0..<blocks {
            rawSamples += try crossEcho.roundTrips(count / blocks, pinnedTo: 0)
            sameCPUSamples += try sameEcho.roundTrips(count / blocks, pinnedTo: 0)
            for iteration in 0..<(count / blocks) {
                let start = ContinuousClock.now
                _ = try await pool.run(TrivialJob(item: iteration))
                awaited.append((ContinuousClock.now - start).seconds)
            }
            blockingSamples += try await BlockingThread.run { () throws -> [Double] in
                var samples: [Double] = []
                for iteration in 0..<(count / blocks) {
                    let start = ContinuousClock.now
                    _ = try pool.submit(TrivialJob(item: iteration)).wait()
                    samples.append((ContinuousClock.now - start).seconds)
                }
                return samples
            }
        }
        let raw = Measurement.median(rawSamples)
        let blocking = Measurement.median(blockingSamples)
        await pool.shutdown()
        let awaitMedian = Measurement.median(awaited)
        let best = min(awaitMedian, blocking)
        let figures = Report.RoundTrip(
            rawPipeMicroseconds: raw * 1e6,
            rawPipeSameCPUMicroseconds: Measurement.median(sameCPUSamples) * 1e6,
            poolAwaitMicroseconds: awaitMedian * 1e6,
            poolBlockingWaitMicroseconds: blocking * 1e6,
            ratio: best / raw
        )
        say("\n[round trip] one trivial task on a warm 1-worker pool vs a raw pipe echo to a relaunched child")
        say("  raw pipe, ends on different CPUs  \(Format.fixed(figures.rawPipeMicroseconds, 1)) µs")
        say("  raw pipe, ends on the same CPU    \(Format.fixed(figures.rawPipeSameCPUMicroseconds, 1)) µs (reference)")
        say("  pool, await                       \(Format.fixed(figures.poolAwaitMicroseconds, 1)) µs")
        say("  pool, blocking wait               \(Format.fixed(figures.poolBlockingWaitMicroseconds, 1)) µs")
        say("  ratio (best pool / cross-CPU raw) \(Format.fixed(figures.ratio, 2))x  (target ≤ 1.3x)")
        return figures
    }

    private func throughput(
        python: Result<ProcessBenchPython.Figures, PythonUnavailable>
    ) async throws
        -> Report.Throughput
    {
        let jobs = 100_000
        let pool = try ProcessPool(configuration: configuration(workers: workers))
        _ = try await pool.map((0..<workers * 2).map { TrivialJob(item: $0) }, chunkSize: 1)
        var unbatched: [Double] = []
        var batched: [Double] = []
        let input = (0..<jobs).map { TrivialJob(item: $0) }
        for _ in 0..<3 {
            unbatched.append(try await Measurement.time { try await pool.map(input, chunkSize: 1) }.seconds)
            batched.append(try await Measurement.time { try await pool.map(input) }.seconds)
        }
        await pool.shutdown()
        var figures = Report.Throughput(
            jobs: jobs,
            unbatchedJobsPerSecond: Double(jobs) / Measurement.median(unbatched),
            batchedJobsPerSecond: Double(jobs) / Measurement.median(batched)
        )
        say("\n[throughput] \(Format.grouped(jobs)) trivial jobs on \(workers) workers")
        say("  unbatched (map chunkSize: 1)  \(Format.grouped(Int(figures.unbatchedJobsPerSecond))) jobs/s")
        say("  auto-batched (map)            \(Format.grouped(Int(figures.batchedJobsPerSecond))) jobs/s")
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

    private func startup(python: ProcessBenchPython.Figures?) async throws -> Report.Startup {
        let startWorkers = 2
        let milliseconds = try await startToFirstResult(configuration(workers: startWorkers))
        var execSamples: [Double] = []
        for _ in 0..<5 { execSamples.append(try RawPipeEcho.Child.startupSeconds()) }
        let execMilliseconds = Measurement.median(execSamples) * 1000
        var figures = Report.Startup(
            workers: startWorkers,
            startToFirstResultMilliseconds: milliseconds,
            executableStartMilliseconds: execMilliseconds
        )
        say("\n[start-up] pool creation to first result, \(startWorkers) workers")
        say("  ProcessPool relaunching offload  \(Format.fixed(milliseconds, 2)) ms  (target ≤ 12 ms)")
        say("  of which starting this executable (spawn → main answers, no pool): \(Format.fixed(execMilliseconds, 2)) ms")
        if let worker = Self.dedicatedWorkerPath {
            var dedicated = configuration(workers: startWorkers)
            dedicated.executable = worker
            let dedicatedMilliseconds = try await startToFirstResult(dedicated)
            figures.dedicatedWorkerStartToFirstResultMilliseconds = dedicatedMilliseconds
            say("  ProcessPool with offload-worker (links only Offload)  \(Format.fixed(dedicatedMilliseconds, 2)) ms")
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

    /// Median of five pool creations, each to its first result.
    private func startToFirstResult(_ configuration: ProcessPool.Configuration) async throws -> Double {
        var samples: [Double] = []
        for _ in 0..<5 {
            let start = ContinuousClock.now
            let pool = try ProcessPool(configuration: configuration)
            _ = try await pool.run(TrivialJob(item: 1))
            samples.append((ContinuousClock.now - start).seconds)
            await pool.shutdown()
        }
        return Measurement.median(samples) * 1000
    }

    /// `offload-worker`, built next to `offload` by the same package, if it is there.
    static var dedicatedWorkerPath: String? {
        guard let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else {
            return nil
        }
        let path = URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent("offload-worker").path
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }

    private func sharedMemory() async throws -> Report.SharedMemory {
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
        var sharedSamples: [Double] = []
        var expected: Set<Double> = []
        for _ in 0..<5 {
            let shared = try await Measurement.time {
                try await pool.run(SharedSampleJob(input: buffer.handle, stride: stride))
            }
            sharedSamples.append(shared.seconds)
            expected.insert(shared.value)
        }
        var encodedSamples: [Double] = []
        for _ in 0..<(quick ? 1 : 2) {
            let encoded = try await Measurement.time {
                try await pool.run(InlineSampleJob(values: values, stride: stride))
            }
            encodedSamples.append(encoded.seconds)
            expected.insert(encoded.value)
        }
        await pool.shutdown()
        guard expected.count == 1 else { throw OffloadError(.invalidArgument, "shared and encoded sums disagree") }
        let figures = Report.SharedMemory(
            bytes: count * MemoryLayout<Double>.stride,
            sharedSeconds: Measurement.median(sharedSamples),
            encodedSeconds: Measurement.median(encodedSamples),
            speedup: Measurement.median(encodedSamples) / Measurement.median(sharedSamples)
        )
        say("\n[shared memory] \(figures.bytes >> 20) MB of Double handed to a job that reads one element per page")
        say("  SharedBuffer handle  \(Format.fixed(figures.sharedSeconds * 1000, 2)) ms")
        say("  encoded in the job   \(Format.fixed(figures.encodedSeconds * 1000, 1)) ms")
        say("  speed-up \(Format.fixed(figures.speedup, 0))x  (target ≥ 100x)")
        return figures
    }
}

/// Runs blocking code (``TaskHandle/wait(timeout:)``) on a dedicated thread, off Swift's cooperative pool.
enum BlockingThread {
    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        let pool = try ThreadPool(workers: 1, name: "bench-wait")
        do {
            let value = try await pool.run(body)
            await pool.shutdown()
            return value
        } catch {
            await pool.shutdown()
            throw error
        }
    }
}
