import ArgumentParser
import Offload
import OffloadBenchJobs

/// `offload bench`: the Python texts' CPU-bound benchmarks in every lane, Python beside them on request.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Run a CPU-bound workload sequentially and in every kind of pool; report speed-ups.",
        discussion: """
            Lanes: \(BenchLane.allCases.filter { !$0.isPython }.map(\.rawValue).joined(separator: ", ")). Every lane \
            is started first, then the lanes run in --repeat interleaved rounds, each round in a fresh shuffled order \
            (A C B, B A C, ...; --seed repeats a run's order); each lane is reported by its min, median, max and \
            noise (1.4826 x the median absolute deviation / the median: a robust coefficient of variation), and a \
            one-line warning says when the baseline is too noisy (over 10%) to trust a ratio. The speed-up is the \
            baseline's median divided by the lane's median; "paired" is the range of the per-round ratios (baseline \
            run / lane run in the same round); the efficiency is the speed-up divided by min(workers, cores). The actor lane funnels every item through \
            one actor: Swift's analogue of Python's GIL. With --python the Python lanes (\
            \(BenchLane.allCases.filter(\.isPython).map(\.rawValue).joined(separator: ", "))) take their turn in \
            the same rounds: pure Python at its own size (--python-n) against python-sequential, NumPy at --n \
            against Swift's sequential loop, BLAS kept to one thread. The report ends with the Python texts' claims, \
            each as claim, measured, verdict.
            """
    )

    @Option(name: .long, help: "The workload: \(BenchWorkloads.all.map { $0.name }.joined(separator: ", ")).")
    var workload: String = SumOfSquares.name

    @Option(
        name: .customLong("n"),
        help: """
            The size: \(BenchWorkloads.all.map { "\($0.sizeMeaning) for \($0.name) (default \(Format.grouped($0.defaultN)))" }.joined(separator: ", ")).
            """
    )
    var n: Int?

    @Option(
        name: .long,
        help: ArgumentHelp("Worker counts to sweep, comma-separated (default: 1, the core count, twice the core count).",
                           valueName: "1,2,4,8")
    )
    var workers: String?

    @Option(
        name: .customLong("repeat"),
        help: "Interleaved rounds: runs per lane and worker count; min, median, max and noise are reported.")
    var repetitions = 3

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Lanes to run, comma-separated (default: all of the workload's; sequential always runs).", valueName: "lanes")
    )
    var lanes: String?

    @Option(name: .customLong("python-n"), help: "The size for the pure-Python lanes (default: a per-workload size).")
    var pythonN: Int?

    @Option(name: .long, help: ArgumentHelp("Write a speed-up-versus-workers chart to this SVG file.",
                                            valueName: "file.svg"))
    var chart: String?

    @OptionGroup var schedule: ScheduleOptions
    @OptionGroup var python: PythonOptions
    @OptionGroup var output: OutputOptions

    /// The worker counts, parsed.
    var workerCounts: [Int] {
        guard let workers else {
            let cores = WorkerCount.available
            return Array(Set([1, cores, 2 * cores])).sorted()
        }
        return workers.split(separator: ",", omittingEmptySubsequences: false)
            .compactMap { Int($0.trimmingWhitespace) }
    }

    /// The lanes named by --lanes, parsed (`nil`: every lane).
    var chosenLanes: Set<BenchLane>? {
        lanes.map { Set($0.split(separator: ",").compactMap { BenchLane(rawValue: String($0.trimmingWhitespace)) }) }
    }

    /// The workload type named by --workload.
    var workloadType: any BenchWorkload.Type {
        get throws {
            guard let type = BenchWorkloads.named(workload) else {
                throw ValidationError(
                    "unknown workload '\(workload)'; workloads are "
                        + BenchWorkloads.all.map { $0.name }.joined(separator: ", "))
            }
            return type
        }
    }

    func validate() throws {
        _ = try workloadType
        if let workers {
            for part in workers.split(separator: ",", omittingEmptySubsequences: false) {
                guard let count = Int(part.trimmingWhitespace) else {
                    throw ValidationError("--workers takes comma-separated counts like 1,2,4,8; '\(part)' is not a number")
                }
                guard count >= 1 else {
                    throw ValidationError("--workers needs worker counts of at least 1, got \(count)")
                }
                guard count <= 1024 else {
                    throw ValidationError("--workers \(count) is more threads than this benchmark allows (1024)")
                }
            }
        }
        if let lanes {
            for part in lanes.split(separator: ",") where BenchLane(rawValue: String(part.trimmingWhitespace)) == nil {
                throw ValidationError(
                    "unknown lane '\(part)'; lanes are \(BenchLane.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
        guard repetitions >= 1 else { throw ValidationError("--repeat needs at least 1 run, got \(repetitions)") }
        if let n, n < 1 { throw ValidationError("--n needs a positive size, got \(n)") }
        if let pythonN, pythonN < 1 { throw ValidationError("--python-n needs a positive size, got \(pythonN)") }
        if let chart, !chart.hasSuffix(".svg") {
            throw ValidationError("--chart writes SVG; give a file name ending in .svg, got '\(chart)'")
        }
    }

    func run() async throws {
        let type = try workloadType
        let chosen = chosenLanes
        let runner = BenchRunner(
            workload: type,
            n: n ?? type.defaultN,
            workerCounts: workerCounts,
            repetitions: repetitions,
            swiftLanes: chosen.map { $0.filter { !$0.isPython } },
            pythonLanes: chosen.flatMap { lanes in lanes.contains(where: \.isPython) ? lanes.filter(\.isPython) : nil },
            pythonRequested: python.enabled,
            pythonExecutable: python.pythonExecutable,
            pythonN: pythonN,
            seed: schedule.resolvedSeed()
        )
        var report = try await runner.run()
        if let chosen {
            for lane in chosen.sorted(by: { $0.rawValue < $1.rawValue }) where !type.lanes.contains(lane) {
                report.notices.append("\(lane.rawValue) lane skipped: it does not apply to \(type.name)")
            }
        }
        if let chart {
            try SpeedupChart(report: report).write(to: chart)
        }
        if output.json {
            try JSONOutput.print(report)
        } else {
            print(BenchTable(report: report).render())
            if let chart { print("chart written to \(chart)") }
        }
    }
}

extension Substring {
    /// The substring without leading and trailing spaces.
    var trimmingWhitespace: Substring {
        var result = self
        while result.first == " " { result.removeFirst() }
        while result.last == " " { result.removeLast() }
        return result
    }
}
