import ArgumentParser
import Offload

/// `offload`: the Python texts' concurrency experiments run for real on this machine, with Python beside them where it is installed.
@main
struct OffloadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "offload",
        abstract: "Measure which kind of pool a workload needs: threads, isolated workers or processes.",
        discussion: """
            Each subcommand runs one experiment from the Python texts Offload ports, on this machine, and reports \
            what it measured. Add --python to run the Python side by side on the installed interpreter.
            """,
        version: OffloadVersion.current,
        subcommands: [BenchCommand.self, RaceCommand.self, HybridCommand.self, AdviseCommand.self, ProcessBenchCommand.self]
    )

    /// Parses the command line and runs the chosen subcommand.
    ///
    /// Unlike ArgumentParser's default `main`, bad input and runtime failures print ONE line on stderr (the message and
    /// where to find help) and exit non-zero; `--help` and `--version` print as usual.
    static func main() async {
        // `offload` is its own process-pool worker executable: serve as one when launched as one.
        CLIWorkerEntry.runIfRequested()
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                exit(withError: error)  // --help, --version, CleanExit: ArgumentParser prints them in full.
            }
            CommandFailure.report(error, arguments: Array(CommandLine.arguments.dropFirst()))
            terminate(code.rawValue == 0 ? 1 : code.rawValue)
        }
    }
}
