import ArgumentParser
import Foundation

/// `offload race`: lost updates on a shared counter, the fixes and what they cost, and the check-then-act bug.
struct RaceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "race",
        abstract: "Increment a shared counter from several threads: unsynchronised, Mutex, Atomic, actor.",
        discussion: """
            Swift 6 rejects the plain racy version at compile time ("mutation of captured var 'counter' in \
            concurrently-executing code"), so the unsynchronised variant goes through an explicitly unsafe escape \
            (an UnsafeMutablePointer in an unchecked-Sendable box): a data race, undefined behaviour, shown on \
            purpose. With --python the texts' Python race (counter += 1 from threads) runs on the installed \
            interpreter, or on a free-threaded build given with --python-exe, and the report says, claim by claim, \
            what actually happened there.
            """
    )

    @Option(name: .long, help: "Threads incrementing the counter (at least 2).")
    var threads = 2

    @Option(name: .long, help: "Increments per thread.")
    var iterations = 1_000_000

    @Option(name: .long, help: "Item ids each thread walks in the check-then-act experiment.")
    var items = 20_000

    @Option(name: .long, help: "Trials of each variant (Swift and Python).")
    var trials = 3

    @OptionGroup var python: PythonOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard threads >= 2 else { throw ValidationError("--threads needs at least 2 threads to race, got \(threads)") }
        guard threads <= 256 else { throw ValidationError("--threads \(threads) is more than this demo allows (256)") }
        guard iterations >= 1 else { throw ValidationError("--iterations needs at least 1, got \(iterations)") }
        guard items >= 1 else { throw ValidationError("--items needs at least 1, got \(items)") }
        guard trials >= 1 else { throw ValidationError("--trials needs at least 1, got \(trials)") }
    }

    func run() async throws {
        let progress = ProgressLine("race", steps: python.enabled ? 6 : 5)
        let counters = await RaceExperiments.runAll(threads: threads, iterations: iterations, trials: trials, progress: progress)
        progress.step("check-then-act")
        let checkThenAct = CheckThenAct.run(threads: threads, items: items)
        var pythonReport: PythonRace.Report?
        var notices: [String] = []
        if python.enabled {
            progress.step("Python")
            switch PythonInterpreter.locate(python.pythonExecutable) {
            case .failure(let unavailable): notices.append(unavailable.notice)
            case .success(let interpreter):
                switch PythonRace.run(interpreter, threads: threads, iterations: iterations, trials: trials) {
                case .success(let report): pythonReport = report
                case .failure(let failure): notices.append(failure.notice)
                }
                if interpreter.gilEnabled {
                    notices.append(PythonInterpreter.gilNotice(
                        version: interpreter.version, purpose: "to see `counter += 1` race without it"))
                }
            }
        }
        progress.finish()
        let report = RaceReport(
            threads: threads, iterations: iterations, trials: trials, counters: counters, checkThenAct: checkThenAct,
            python: pythonReport, notices: notices, build: OffloadVersion.buildConfiguration
        )
        if output.json {
            try JSONOutput.print(report)
        } else {
            print(report.render())
        }
    }
}

/// `offload race --json`.
struct RaceReport: Codable, Sendable {
    var threads: Int
    var iterations: Int
    var trials: Int
    var counters: [RaceExperiments.Outcome]
    var checkThenAct: [CheckThenAct.Outcome]
    var python: PythonRace.Report?
    var notices: [String]
    var build: String

    enum CodingKeys: String, CodingKey {
        case threads, iterations, trials, counters, python, notices, build
        case checkThenAct = "check_then_act"
    }

    func render() -> String {
        var lines: [String] = []
        let expected = threads * iterations
        lines.append("offload race — \(threads) threads × \(Format.grouped(iterations)) increments of one shared counter "
                     + "(expected \(Format.grouped(expected)); \(build) build)")
        lines.append("")
        lines.append([Format.pad("variant", 52), Format.pad("worst count", 12, right: true), Format.pad("lost", 10, right: true),
                      Format.pad("time", 10, right: true), Format.pad("per incr.", 10, right: true),
                      Format.pad("cost of fix", 12, right: true)].joined(separator: " "))
        lines.append(String(repeating: "-", count: 111))
        for outcome in counters {
            lines.append([
                Format.pad(outcome.variant, 52),
                Format.pad(Format.grouped(outcome.count), 12, right: true),
                Format.pad(Format.grouped(outcome.lostUpdates), 10, right: true),
                Format.pad(Format.seconds(outcome.seconds), 10, right: true),
                Format.pad(Format.seconds(outcome.nsPerIncrement / 1e9), 10, right: true),
                Format.pad(outcome.costVsUnsynchronised.map { ($0 >= 0 ? "+" : "-") + Format.seconds(abs($0)) } ?? "—",
                           12, right: true),
            ].joined(separator: " "))
        }
        lines.append("(\(trials) trial\(trials == 1 ? "" : "s") per variant: worst count, median time; unsynchronised lost "
                     + "per trial: \(counters[0].lostUpdatesPerTrial.map { Format.grouped($0) }.joined(separator: ", ")))")
        lines.append("")
        lines.append("The unsynchronised variant is a data race: undefined behaviour, demonstrated on purpose through an")
        lines.append("UnsafeMutablePointer in an unchecked-Sendable box. Swift 6 refuses the plain `counter += 1` from two")
        lines.append("threads at compile time (\"mutation of captured var 'counter' in concurrently-executing code\").")
        lines.append("Each increment there is a real load and store (an unoptimised, non-inlined function), as in CPython's")
        lines.append("LOAD/ADD/STORE; lost updates vary from run to run and can be 0 when the threads rarely overlap.")
        lines.append("")
        lines.append("check-then-act (\(threads) threads walk the same \(Format.grouped(checkThenAct.first?.items ?? 0)) ids; "
                     + "each id must be processed once):")
        for outcome in checkThenAct {
            lines.append("  \(Format.pad(outcome.variant, 42)) processed twice or more: "
                         + "\(Format.pad(Format.grouped(outcome.duplicates), 8, right: true))  (\(Format.seconds(outcome.seconds)))")
        }
        lines.append("  Every access to `seen` is locked, so this is no data race and Swift 6 compiles it: the compiler")
        lines.append("  proves memory safety, not that a check and the action it guards happen in one critical section.")
        if let python {
            lines.append("")
            lines.append(contentsOf: python.render())
        }
        for notice in notices { lines.append("note: \(notice)") }
        return lines.joined(separator: "\n")
    }
}
