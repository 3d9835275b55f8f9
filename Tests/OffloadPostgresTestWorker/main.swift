import InMemoryTracing
import MetricsTestKit
import Offload
import OffloadPostgres
import OffloadPostgresMetrics
import OffloadTestJobs
import OffloadTracing

#if canImport(Glibc)
    import Glibc
#endif

// The PostgreSQL tests' worker executable. First it serves the local process pool of any PostgresWorker that
// launched it; otherwise it runs a PostgresWorker over TCP with the options below, prints "ready <name>" once
// connected, and exits 0 when the worker stops (SIGTERM).
//   --url URL --schema S --name N --lease-ms N --heartbeat-ms N --poll-ms N --grace-ms N --claim-batch N
//   --queues a,b --local-workers N --threads
//   --trace: run jobs under an in-memory tracer (SpanContextSeen reports the span it runs in)
//   --metrics: count with a PostgresMetricsObserver into MetricsTestKit's TestMetrics; the exit summary adds them
// Or, as its first argument, one of the watchdog tests' modes (WatchdogModes.swift): --scratch-cluster, --hold-worker.
PostgresWorker.runLocalWorkerIfRequested(registry: TestJobs.registry)
runWatchdogModeIfRequested()

var options: [String: String] = [:]
var flags: Set<String> = []
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    if argument == "--threads" || argument == "--trace" || argument == "--metrics" {
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

if flags.contains("--trace") { OffloadTracing.bootstrap(tracer: InMemoryTracer()) }
let metrics = TestMetrics()

func total(_ label: String) -> Int64 {
    metrics.counters.filter { $0.label == label }.reduce(0) { $0 + $1.totalValue }
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
    if flags.contains("--metrics") { configuration.observer = PostgresMetricsObserver(factory: metrics) }
    let worker = try await PostgresWorker(configuration: configuration, registry: TestJobs.registry)
    var line = "ready \(worker.name)\n"
    line.withUTF8 { _ = write(1, $0.baseAddress, $0.count) }
    try await worker.run()
    let statistics = worker.statistics
    var summary =
        "stopped claimed=\(statistics.claimed) completed=\(statistics.completed) released=\(statistics.released)"
        + " rejected=\(statistics.rejected) abandoned=\(statistics.abandoned) stopped=\(statistics.stopped)"
        + " metric_rejected=\(total("offload_postgres_rejected_completions_total"))"
        + " metric_completed=\(total("offload_postgres_jobs_total"))"
        + " metric_claimed=\(total("offload_postgres_claimed_total"))\n"
    summary.withUTF8 { _ = write(1, $0.baseAddress, $0.count) }
    exit(0)
} catch {
    fail("OffloadPostgresTestWorker: \(error)")
}
