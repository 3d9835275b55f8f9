import ArgumentParser
import Offload

/// `offload bench-processes`: ProcessPool's figures measured in one run, each next to its baseline measured in the
/// same run (sequential, ThreadPool, a raw pipe, Python's ProcessPoolExecutor, an encoded payload).
struct ProcessBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-processes",
        abstract:
            "Measure ProcessPool against its baselines: speed-up, round trip, throughput, start-up, shared memory.",
        discussion: """
            Build with -c release. Each section's lanes are started first and then run in interleaved rounds, in a \
            fresh shuffled order each round (--seed repeats a run's order); each figure is a median, printed with the \
            runs' min, max and noise (1.4826 x MAD / median), and a one-line warning when a section's baseline is too \
            noisy (over 10%) to trust a ratio. Round trips report p50 and p99 over every single round trip. Python's \
            ProcessPoolExecutor is run beside it, in the same rounds, when python3 is installed (skipped with a \
            notice otherwise).
            """
    )

    @Option(help: "Worker processes (default: available cores).")
    var workers: Int?

    @Flag(help: "Smaller sizes, for a quick check (figures are noisier).")
    var quick = false

    @Flag(name: .customLong("no-python"), help: "Skip the Python side.")
    var noPython = false

    @Option(help: "Sections to run, comma-separated: codec, sum, roundtrip, throughput, startup, shared (default: all).")
    var sections: String?

    @Flag(
        name: .customLong("compare-transports"),
        help: "Compare ProcessPool's transports (pipes, shared memory, automatic) instead of the sections."
    )
    var compareTransports = false

    @Option(help: "Interleaved rounds for --compare-transports.")
    var rounds: Int = 7

    @Flag(
        name: .customLong("compare-start-methods"),
        help: "Compare worker replacement after a crash with each start method (spawn, forkserver), interleaved."
    )
    var compareStartMethods = false

    @Option(help: "Replacements per start method for --compare-start-methods (default: 200, --quick: 40).")
    var replacements: Int?

    @OptionGroup var schedule: ScheduleOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let workers = workers ?? WorkerCount.available
        guard workers >= 1 else { throw ValidationError("--workers must be at least 1") }
        if compareStartMethods {
            let count = replacements ?? (quick ? 40 : 200)
            guard count >= 1 else { throw ValidationError("--replacements must be at least 1") }
            let report = try await StartMethodComparison.run(replacements: count, log: !output.json)
            if output.json { try JSONOutput.print(report) }
            return
        }
        if compareTransports {
            guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
            _ = try await TransportComparison.run(workers: workers, rounds: rounds, quick: quick)
            return
        }
        var bench = ProcessBench(workers: workers, quick: quick, python: !noPython, log: !output.json,
                                 seed: schedule.resolvedSeed())
        if let sections {
            let chosen = Set(sections.split(separator: ",").map { String($0.trimmingPrefix(" ")) })
            let unknown = chosen.subtracting(ProcessBench.allSections)
            guard unknown.isEmpty else {
                throw ValidationError("unknown --sections \(unknown.sorted()); choose from \(ProcessBench.allSections.sorted())")
            }
            bench.sections = chosen
        }
        let report = try await bench.run()
        if output.json {
            try JSONOutput.print(report)
        }
    }
}
