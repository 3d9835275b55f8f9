import ArgumentParser
import Offload

/// `offload bench-processes`: every ProcessPool figure of issue 3 measured in one run, each next to its baseline
/// measured in the same run (sequential, ThreadPool, a raw pipe, Python's ProcessPoolExecutor, an encoded payload).
struct ProcessBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-processes",
        abstract:
            "Measure ProcessPool against its baselines: speed-up, round trip, throughput, start-up, shared memory.",
        discussion: """
            Build with -c release. Each figure is a median of several runs; Python's ProcessPoolExecutor is run \
            beside it when python3 is installed (skipped with a notice otherwise).
            """
    )

    @Option(help: "Worker processes (default: available cores).")
    var workers: Int?

    @Flag(help: "Smaller sizes, for a quick check (figures are noisier).")
    var quick = false

    @Flag(name: .customLong("no-python"), help: "Skip the Python side.")
    var noPython = false

    @OptionGroup var output: OutputOptions

    func run() async throws {
        let workers = workers ?? WorkerCount.available
        guard workers >= 1 else { throw ValidationError("--workers must be at least 1") }
        let report = try await ProcessBench(workers: workers, quick: quick, python: !noPython, log: !output.json).run()
        if output.json {
            try JSONOutput.print(report)
        }
    }
}
