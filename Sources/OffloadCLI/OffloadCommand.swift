import ArgumentParser
import Offload

@main
struct OffloadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "offload",
        abstract: "Measure which kind of pool a workload needs: threads, isolated workers or processes.",
        subcommands: []
    )
}
