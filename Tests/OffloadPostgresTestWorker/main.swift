import Offload
import OffloadPostgres
import OffloadTestJobs

#if canImport(Glibc)
    import Glibc
#endif

// The PostgreSQL tests' worker executable. First it serves the local process pool of any PostgresWorker that
// launched it; otherwise it runs a PostgresWorker over TCP with the options below, prints "ready <name>" once
// connected, and exits 0 when the worker stops (SIGTERM).
//   --url URL --schema S --name N --lease-ms N --heartbeat-ms N --poll-ms N --grace-ms N --claim-batch N
//   --queues a,b --local-workers N --threads
PostgresWorker.runLocalWorkerIfRequested(registry: TestJobs.registry)

var options: [String: String] = [:]
var flags: Set<String> = []
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    if argument == "--threads" {
        flags.insert(argument)
    } else if argument.hasPrefix("--"), let value = arguments.next() {
        options[argument] = value
    }
}

func fail(_ text: String) -> Never {
    var line = text + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    exit(1)
}

guard let url = options["--url"] else { fail("usage: OffloadPostgresTestWorker --url URL [options]") }
let parsed = options
func milliseconds(_ key: String, _ fallback: Int) -> Duration { .milliseconds(Int(parsed[key] ?? "") ?? fallback) }

do {
    var settings = try PostgresSettings(url: url, schema: options["--schema"] ?? "offload")
    settings.migrateOnStart = true
    let localWorkers = Int(options["--local-workers"] ?? "") ?? 2
    var local = ProcessPool.Configuration(workers: localWorkers)
    local.forwardWorkerStderr = false
    local.shutdownGracePeriod = .seconds(1)
    var configuration = PostgresWorker.Configuration(
        settings: settings,
        queues: (options["--queues"] ?? "default").split(separator: ",").map(String.init),
        execution: flags.contains("--threads") ? .threads(workers: localWorkers) : .processes(local)
    )
    configuration.name = options["--name"]
    configuration.lease = milliseconds("--lease-ms", 3_000)
    configuration.heartbeatInterval = milliseconds("--heartbeat-ms", 1_000)
    configuration.pollInterval = milliseconds("--poll-ms", 200)
    configuration.shutdownGracePeriod = milliseconds("--grace-ms", 2_000)
    configuration.claimBatch = Int(options["--claim-batch"] ?? "") ?? 100
    configuration.backoff = PostgresWorker.Backoff(base: .milliseconds(20), maximum: .milliseconds(200))
    let worker = try await PostgresWorker(configuration: configuration, registry: TestJobs.registry)
    var line = "ready \(worker.name)\n"
    line.withUTF8 { _ = write(1, $0.baseAddress, $0.count) }
    try await worker.run()
    let statistics = worker.statistics
    var summary =
        "stopped claimed=\(statistics.claimed) completed=\(statistics.completed) released=\(statistics.released)"
        + " rejected=\(statistics.rejected) abandoned=\(statistics.abandoned)\n"
    summary.withUTF8 { _ = write(1, $0.baseAddress, $0.count) }
    exit(0)
} catch {
    fail("OffloadPostgresTestWorker: \(error)")
}
