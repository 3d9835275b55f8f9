import ArgumentParser
import OffloadBenchJobs
import OffloadPostgres

/// `offload-postgres`: the PostgreSQL executor's commands. Its first act serves the local process pool of a worker
/// that relaunched it.
@main
enum Entry {
    static func main() async {
        PostgresWorker.runLocalWorkerIfRequested(registry: BenchJobs.registry)
        await PostgresCommand.main()
    }
}

struct PostgresCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "offload-postgres",
        abstract: "Run Offload jobs on PostgreSQL: workers, status, migrations and a benchmark.",
        discussion: """
            The same typed jobs as Offload's process pools, queued in PostgreSQL and run by workers on any number of \
            machines (the pattern of River, Oban and graphile-worker). `worker` serves the bench jobs of \
            `offload bench`; your own workers run PostgresWorker with your JobRegistry.
            """,
        subcommands: [WorkerCommand.self, StatusCommand.self, MigrateCommand.self, BenchCommand.self]
    )
}

/// The connection options every subcommand takes.
struct ConnectionOptions: ParsableArguments {
    @Option(name: .customLong("postgres"), help: "The server, as a URL: postgres://user:password@host:port/database")
    var url: String

    @Option(help: "The PostgreSQL schema holding the queue's tables.")
    var schema = "offload"
}
