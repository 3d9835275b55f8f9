// What watching costs: each pool kind at its peak rate on trivial work, with and without the metrics product
// bootstrapped on a real backend (a swift-prometheus registry) and with and without a progress consumer, all in one
// process, in interleaved rounds (A B C D, B C D A, …) so that a drift of the machine's speed reaches every variant
// alike. Compiled by every build; time it from a release build:
//
//     swift run -c release ObservabilityCost [--rounds N] [--scale F] [--only WORKLOAD,...] [--variants VARIANT,...]
//         [--chunk-size N] [--progress-interval-ms N]
//
// `--variants` runs only those variants: a lane alone, to count one variant's instructions per process (`perf stat -e
// instructions:u`, or `valgrind --tool=callgrind` on a machine without hardware counters); the ratios against
// `plain` are then `null` unless `plain` is among them. Only the pools the chosen workloads use
// are started, so that a count of this process's instructions holds no idle worker processes.
//
// workloads: submit             tiny closures submitted one by one to a ThreadPool (its peak task rate)
//            map                a ThreadPool map over tiny items (chunked automatically)
//            jobs               a ProcessPool map over tiny jobs, auto-batched (this executable is the worker)
//            workerpool-submit  tiny closures submitted one by one to a WorkerPool (.auto: threads)
//            workerpool-map     a WorkerPool map over tiny items
// variants:  plain, metrics (OffloadMetrics on Prometheus), progress (a ProgressMonitor read by a task),
//            metrics+progress; the submit workloads have no progress (a monitor watches a map)
//
// Output (stdout) is JSON lines: one object per workload and variant with every run's seconds, the median, the
// spread ((max − min) / median), the noise (1.4826 · MAD / median), and the cost against `plain`: the ratio of
// medians, the median of the round-by-round ratios, and the ratio of the fastest runs. The same for the CPU time this
// process spent in each run (`cpu_*`: the watching happens in this process, and CPU time is less disturbed than wall
// time by other programs on a shared machine). Nothing else goes to stdout.
import Dispatch
import Metrics
import Offload
import OffloadMetrics
import Prometheus

#if canImport(Glibc)
    import Glibc
#endif

struct Increment: Job {
    static var jobName: String { "Increment" }
    var value: Int
    func run() throws -> Int { value &+ 1 }
}

ProcessPool.runWorkerIfRequested(registry: JobRegistry(Increment.self))

enum Variant: String, CaseIterable {
    case plain, metrics, progress
    case both = "metrics+progress"
    var metrics: Bool { self == .metrics || self == .both }
    var progress: Bool { self == .progress || self == .both }
}

/// One workload: its variants, and a run that returns a checksum.
struct Workload {
    let name: String
    let items: Int
    let variants: [Variant]
    let run: (ProgressMonitor?) async throws -> Int
}

// The measurement runs in a task while the main thread waits, rather than as an asynchronous top-level program: an
// asynchronous `main` parks the main thread in libdispatch (`dispatchMain`), which Valgrind 3.19 cannot run, and
// counting instructions under `valgrind --tool=callgrind` is how the costs are proved on a machine without hardware
// performance counters (`perf stat -e instructions:u` reports `<not supported>` there).
let finished = DispatchSemaphore(value: 0)
Task.detached {
    do {
        try await measureAll()
    } catch {
        let message = "ObservabilityCost: \(error)\n"  // to standard error: stdout carries only the JSON lines
        _ = message.withCString { write(2, $0, strlen($0)) }
        exit(1)
    }
    finished.signal()
}
finished.wait()

func measureAll() async throws {
    // MARK: - Options

    let arguments = CommandLine.arguments
    func option(_ name: String) -> String? {
        arguments.firstIndex(of: name).flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil }
    }
    let rounds = option("--rounds").flatMap(Int.init) ?? 15
    let scale = option("--scale").flatMap(Double.init) ?? 1
    let only = option("--only").map { Set($0.split(separator: ",").map(String.init)) }
    let onlyVariants = option("--variants").map { Set($0.split(separator: ",").map(String.init)) }
    // Fixes the maps' chunk size (automatic otherwise). Under Valgrind items run tens of times slower and automatic
    // chunks shrink, so a count of instructions there overweights per-chunk costs; the chunk size a native run picks
    // (16 384 for `map` on two workers, the cap) keeps the chunking that is measured the one that runs natively.
    let chunkSize = option("--chunk-size").flatMap(Int.init)
    // The monitors' interval between updates (100 ms otherwise). Under Valgrind a run lasts ~50 times longer and its
    // monitor sends that many more updates: a long interval separates the cost of updates from the cost per chunk.
    let progressInterval = option("--progress-interval-ms").flatMap(Int.init).map(Duration.milliseconds)
    func wanted(_ workload: String) -> Bool { only?.contains(workload) ?? true }

    // One backend for the whole run; each `metrics` run installs the observer and removes it afterwards.
    var factory = PrometheusMetricsFactory()
    factory.durationHistogramBuckets = OffloadMetrics.histogramBuckets
    MetricsSystem.bootstrap(factory)

    func count(_ base: Int) -> Int { max(1, Int(Double(base) * scale)) }

    let threadPool = try ThreadPool(workers: 2, name: "cost-threads")
    var processConfiguration = ProcessPool.Configuration(workers: 2)
    processConfiguration.name = "cost-processes"
    let processPool = wanted("jobs") ? try ProcessPool(configuration: processConfiguration) : nil
    try await processPool?.waitUntilReady()
    let workerPool = wanted("workerpool-submit") || wanted("workerpool-map") ? try WorkerPool(mode: .auto) : nil

    let submitItems = count(300_000)
    let mapItems = count(4_000_000)
    let jobItems = count(300_000)
    let workerSubmitItems = count(100_000)
    let workerMapItems = count(2_000_000)
    let jobs = wanted("jobs") ? (0..<jobItems).map { Increment(value: $0) } : []

    /// Submits `total` closures in windows of 4 096 and awaits each window.
    func submitAll(_ total: Int, _ submit: @Sendable (Int) throws -> TaskHandle<Int>) async throws -> Int {
        var checksum = 0
        var handles: [TaskHandle<Int>] = []
        handles.reserveCapacity(4_096)
        var left = total
        while left > 0 {
            for index in 0..<min(left, 4_096) { handles.append(try submit(index)) }
            left -= handles.count
            for handle in handles { checksum &+= try await handle.value }
            handles.removeAll(keepingCapacity: true)
        }
        return checksum
    }

    let noProgress: [Variant] = [.plain, .metrics]
    let workloads = [
        Workload(name: "submit", items: submitItems, variants: noProgress) { _ in
            try await submitAll(submitItems) { index in try threadPool.submit { index &* 3 } }
        },
        Workload(name: "map", items: mapItems, variants: Variant.allCases) { progress in
            try await threadPool.map(0..<mapItems, chunkSize: chunkSize, progress: progress) { $0 &* 3 }.reduce(0, &+)
        },
        Workload(name: "jobs", items: jobItems, variants: Variant.allCases) { progress in
            try await processPool!.map(jobs, progress: progress).reduce(0, &+)
        },
        Workload(name: "workerpool-submit", items: workerSubmitItems, variants: noProgress) { _ in
            try await submitAll(workerSubmitItems) { index in try workerPool!.submit { index &* 3 } }
        },
        Workload(name: "workerpool-map", items: workerMapItems, variants: Variant.allCases) { progress in
            try await workerPool!.map(0..<workerMapItems, chunkSize: chunkSize, progress: progress) { $0 &* 3 }
                .reduce(0, &+)
        },
    ].filter { wanted($0.name) }.map { workload in
        guard let onlyVariants else { return workload }
        return Workload(
            name: workload.name, items: workload.items,
            variants: workload.variants.filter { onlyVariants.contains($0.rawValue) }, run: workload.run)
    }.filter { !$0.variants.isEmpty }

    // MARK: - Running

    /// One run of `workload` as `variant`: its seconds (the work only: installing the observer and the consumer is not
    /// timed) and the progress updates its consumer read.
    func measure(_ workload: Workload, _ variant: Variant) async throws -> (seconds: Double, cpu: Double, updates: Int) {
        let token = variant.metrics ? OffloadMetrics.bootstrap() : nil
        defer { if let token { PoolObservation.remove(token) } }
        let monitor = variant.progress ? ProgressMonitor(interval: progressInterval ?? .milliseconds(100)) : nil
        let consumer = monitor.map { monitor in
            Task { () -> Int in
                var updates = 0
                for await _ in monitor.updates { updates += 1 }
                return updates
            }
        }
        let cpuStart = processCPUSeconds()
        let start = ContinuousClock.now
        let checksum = try await workload.run(monitor)
        let elapsed = start.duration(to: .now)
        let cpu = processCPUSeconds() - cpuStart
        let updates = await consumer?.value ?? 0
        precondition(checksum != 0 || workload.items == 0, "the work was optimised away")
        let (seconds, attoseconds) = elapsed.components
        return (Double(seconds) + Double(attoseconds) / 1e18, cpu, updates)
    }

    /// The CPU time of every thread of this process so far (`CLOCK_PROCESS_CPUTIME_ID`).
    func processCPUSeconds() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// 1.4826 · MAD / median: the relative standard deviation a normal distribution with this MAD would have.
    func noise(_ values: [Double]) -> Double {
        let center = median(values)
        guard center > 0 else { return 0 }
        return 1.4826 * median(values.map { abs($0 - center) }) / center
    }

    func json(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        return "\((value * 1e6).rounded() / 1e6)"
    }

    var loadBefore = [Double](repeating: 0, count: 3)
    _ = getloadavg(&loadBefore, 3)

    for workload in workloads {
        // One warm-up run of each variant (page faults, lazily grown queues, the backend's first metric objects).
        for variant in workload.variants { _ = try await measure(workload, variant) }
        var runs: [Variant: [Double]] = [:]
        var cpuRuns: [Variant: [Double]] = [:]
        var updates: [Variant: Int] = [:]
        for round in 0..<rounds {
            // Rotate the order each round: every variant runs in every position equally often.
            let count = workload.variants.count
            for step in 0..<count {
                let variant = workload.variants[(round + step) % count]
                let run = try await measure(workload, variant)
                runs[variant, default: []].append(run.seconds)
                cpuRuns[variant, default: []].append(run.cpu)
                updates[variant, default: 0] += run.updates
            }
        }
        let plain = runs[.plain] ?? []
        let plainCPU = cpuRuns[.plain] ?? []
        for variant in workload.variants {
            let values = runs[variant] ?? []
            let center = median(values)
            // Without `plain` (a lane run alone) there is nothing to compare with: the ratios are `null`.
            let roundRatios = plain.isEmpty ? [.nan] : zip(values, plain).map { $0 / $1 }
            let cpu = cpuRuns[variant] ?? []
            let cpuRoundRatios = plainCPU.isEmpty ? [.nan] : zip(cpu, plainCPU).map { $0 / $1 }
            let fields = [
                "\"workload\":\"\(workload.name)\"",
                "\"variant\":\"\(variant.rawValue)\"",
                "\"items\":\(workload.items)",
                "\"rounds\":\(values.count)",
                "\"median_s\":\(json(center))",
                "\"spread\":\(json(center > 0 ? ((values.max() ?? 0) - (values.min() ?? 0)) / center : 0))",
                "\"noise\":\(json(noise(values)))",
                "\"ns_per_item\":\(json(center / Double(workload.items) * 1e9))",
                "\"ratio_of_medians\":\(json(center / median(plain)))",
                "\"median_round_ratio\":\(json(median(roundRatios)))",
                "\"round_ratio_noise\":\(json(noise(roundRatios)))",
                "\"ratio_of_minimums\":\(json((values.min() ?? 0) / (plain.min() ?? .nan)))",
                "\"cpu_median_s\":\(json(median(cpu)))",
                "\"cpu_noise\":\(json(noise(cpu)))",
                "\"cpu_ratio_of_medians\":\(json(median(cpu) / median(plainCPU)))",
                "\"cpu_median_round_ratio\":\(json(median(cpuRoundRatios)))",
                "\"cpu_round_ratio_noise\":\(json(noise(cpuRoundRatios)))",
                "\"progress_updates\":\(updates[variant] ?? 0)",
                "\"runs_s\":[\(values.map(json).joined(separator: ","))]",
            ]
            print("{" + fields.joined(separator: ",") + "}")
        }
    }

    var loadAfter = [Double](repeating: 0, count: 3)
    _ = getloadavg(&loadAfter, 3)
    print(
        "{\"summary\":true,\"rounds\":\(rounds),\"scale\":\(json(scale)),\"cores\":\(WorkerCount.available),"
            + "\"load_average_before\":[\(loadBefore.map(json).joined(separator: ","))],"
            + "\"load_average_after\":[\(loadAfter.map(json).joined(separator: ","))]}"
    )

    await threadPool.shutdown()
    await processPool?.shutdown()
    await workerPool?.shutdown()
}
