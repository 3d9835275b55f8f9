import ArgumentParser
import Offload

/// `offload bench`: the seeds' CPU-bound benchmarks in every lane, Python beside them on request.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Run a CPU-bound workload sequentially and in every kind of pool; report speed-ups.",
        discussion: """
            Lanes: \(BenchLane.allCases.map(\.rawValue).joined(separator: ", ")). Times are the median of --repeat \
            runs; pools are started before the clock starts. The speed-up is the sequential median divided by the \
            lane's median, the efficiency is the speed-up divided by min(workers, cores). The actor lane funnels \
            every item through one actor: Swift's analogue of Python's GIL. With --python the same workload also \
            runs in python-thread, python-process and (Python 3.14+) python-interpreter lanes; Python is measured at \
            its own size (--python-n) and compared with its own sequential run.
            """
    )

    @Option(name: .long, help: "The workload: \(WorkloadKind.allCases.map(\.rawValue).joined(separator: ", ")).")
    var workload: WorkloadKind = .sumOfSquares

    @Option(
        name: .customLong("n"),
        help: """
            The size: iterations per task for sum-of-squares (default \(Format.grouped(WorkloadKind.sumOfSquares.defaultN))), \
            numbers tested for primes (\(Format.grouped(WorkloadKind.primes.defaultN))), items for tiny \
            (\(Format.grouped(WorkloadKind.tiny.defaultN))).
            """
    )
    var n: Int?

    @Option(
        name: .long,
        help: ArgumentHelp("Worker counts to sweep, comma-separated (default: 1, the core count, twice the core count).",
                           valueName: "1,2,4,8")
    )
    var workers: String?

    @Option(name: .customLong("repeat"), help: "Runs per lane and worker count; the median is reported.")
    var repetitions = 3

    @Option(
        name: .long,
        help: ArgumentHelp("Lanes to run, comma-separated (default: all; sequential always runs).", valueName: "lanes")
    )
    var lanes: String?

    @Option(name: .customLong("python-n"), help: "The size for the Python lanes (default: a per-workload size).")
    var pythonN: Int?

    @Option(name: .long, help: ArgumentHelp("Write a speed-up-versus-workers chart to this SVG file.",
                                            valueName: "file.svg"))
    var chart: String?

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

    /// The lanes, parsed, with sequential first.
    var selectedLanes: [BenchLane] {
        guard let lanes else { return BenchLane.allCases }
        let chosen = Set(lanes.split(separator: ",").compactMap { BenchLane(rawValue: String($0.trimmingWhitespace)) })
        return BenchLane.allCases.filter { $0 == .sequential || chosen.contains($0) }
    }

    func validate() throws {
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
        let runner = BenchRunner(
            kind: workload,
            n: n ?? workload.defaultN,
            workerCounts: workerCounts,
            repetitions: repetitions,
            lanes: selectedLanes,
            pythonRequested: python.enabled,
            pythonExecutable: python.pythonExecutable,
            pythonN: pythonN
        )
        let report = try await runner.run()
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
