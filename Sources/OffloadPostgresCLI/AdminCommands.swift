import ArgumentParser
import Offload
import OffloadBenchJobs
import OffloadPostgres

#if canImport(Glibc)
    import Glibc
#endif

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Create or upgrade the queue's tables (safe to run from many processes at once)."
    )

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let settings = try PostgresSettings(url: connection.url, schema: connection.schema)
        let before = try await PostgresSchema.migrate(settings)
        let after = PostgresSchema.currentVersion
        print(
            before == after
                ? "schema '\(settings.schema)' on \(settings.endpoint.serverDescription) is up to date (version \(after))"
                : "schema '\(settings.schema)' on \(settings.endpoint.serverDescription): version \(before) → \(after)"
        )
    }
}

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Jobs by state and queue, the oldest waiting job, and the live workers."
    )

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let settings = try PostgresSettings(url: connection.url, schema: connection.schema)
        let status = try await PostgresQueueStatus.fetch(settings)
        print("schema '\(settings.schema)' (version \(status.schemaVersion)) on \(settings.endpoint.serverDescription)")
        print("")
        let header = ["queue", "available", "scheduled", "running", "completed", "failed", "cancelled", "oldest waiting", "limit"]
        var rows = [header]
        for queue in status.queues {
            rows.append([
                queue.name, "\(queue.available)", "\(queue.scheduled)", "\(queue.running)", "\(queue.completed)",
                "\(queue.failed)", "\(queue.cancelled)", queue.oldestAvailableAge.map(Self.age) ?? "-",
                queue.concurrencyLimit.map(String.init) ?? "-",
            ])
        }
        if status.queues.isEmpty { print("no jobs") } else { Self.printTable(rows) }
        print("")
        var workers = [["worker", "host", "pid", "queues", "job types", "running", "last heartbeat", "live"]]
        for worker in status.workers {
            workers.append([
                worker.name, worker.host, "\(worker.pid)", worker.queues.joined(separator: ","),
                "\(worker.jobNames.count)", "\(worker.runningJobs)", Self.age(worker.lastHeartbeatAge) + " ago", worker.isLive ? "yes" : "no",
            ])
        }
        if status.workers.isEmpty { print("no workers registered") } else { Self.printTable(workers) }
        if !status.unclaimable.isEmpty {
            print("")
            print("due jobs that no live worker can run (register their type, or serve their queue):")
            for (name, count) in status.unclaimable.sorted(by: { $0.key < $1.key }) { print("  \(name): \(count)") }
        }
    }

    static func age(_ duration: Duration) -> String {
        let milliseconds = duration.components.seconds * 1_000 + duration.components.attoseconds / 1_000_000_000_000_000
        if milliseconds < 1_000 { return "\(milliseconds) ms" }
        if milliseconds < 120_000 { return "\(milliseconds / 1_000) s" }
        return "\(milliseconds / 60_000) min"
    }

    static func printTable(_ rows: [[String]]) {
        var widths = Array(repeating: 0, count: rows[0].count)
        for row in rows { for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) } }
        for row in rows {
            print(row.enumerated().map { $1.padding(toLength: widths[$0]) }.joined(separator: "  "))
        }
    }
}

extension String {
    func padding(toLength length: Int) -> String {
        count >= length ? self : self + String(repeating: " ", count: length - count)
    }
}

struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Serve the bench jobs from PostgreSQL until SIGTERM or SIGINT.",
        discussion: "Jobs run in a local process pool (a crashing job costs its attempt, never the worker) unless --threads."
    )

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "Comma-separated queues to serve.")
    var queues = "default"

    @Option(help: "Local worker processes (or threads with --threads); default: one per core.")
    var workers: Int?

    @Flag(help: "Run jobs on a thread pool instead of worker processes.")
    var threads = false

    @Option(help: "Lease in seconds: a dead worker's jobs run again after about this long.")
    var lease: Double = 30

    @Option(help: "Heartbeat interval in seconds (at most half the lease).")
    var heartbeat: Double = 10

    @Option(help: "Jobs claimed per statement.")
    var claimBatch = 100

    @Option(help: "Seconds held jobs get to finish after SIGTERM before they are handed back.")
    var grace: Double = 20

    @Option(help: "This worker's name (default host:pid:random).")
    var name: String?

    func run() async throws {
        let settings = try PostgresSettings(url: connection.url, schema: connection.schema)
        var local = ProcessPool.Configuration(workers: workers)
        local.shutdownGracePeriod = .seconds(2)
        var configuration = PostgresWorker.Configuration(
            settings: settings,
            queues: queues.split(separator: ",").map(String.init),
            execution: threads ? .threads(workers: workers) : .processes(local)
        )
        configuration.lease = .milliseconds(Int(lease * 1_000))
        configuration.heartbeatInterval = .milliseconds(Int(heartbeat * 1_000))
        configuration.claimBatch = claimBatch
        configuration.shutdownGracePeriod = .milliseconds(Int(grace * 1_000))
        configuration.name = name
        let worker = try await PostgresWorker(configuration: configuration, registry: BenchJobs.registry)
        var line = "worker \(worker.name) serving \(configuration.queues.joined(separator: ",")) on \(settings.endpoint)\n"
        line.withUTF8 { _ = write(1, $0.baseAddress, $0.count) }
        try await worker.run()
        let statistics = worker.statistics
        print(
            "worker \(worker.name) stopped: claimed \(statistics.claimed), completed \(statistics.completed), "
                + "retried \(statistics.retried), failed \(statistics.failed), released \(statistics.released), "
                + "rejected \(statistics.rejected)"
        )
    }
}
