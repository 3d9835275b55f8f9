import ArgumentParser
import Offload
import OffloadBenchJobs
import OffloadPostgres
import OffloadPostgresScratch

#if canImport(Glibc)
    import Glibc
#endif

/// `offload-postgres bench`: end-to-end throughput, single-job latency, enqueue throughput and recovery of a
/// SIGKILLed worker, each beside the same work through a local `ProcessPool`, lanes interleaved in every round.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the PostgreSQL executor beside a local ProcessPool (build with -c release).",
        discussion: """
            Without --postgres, starts a throwaway local server (initdb into a temporary directory, fsync off) and \
            removes it afterwards. Each round runs every lane once, PostgreSQL and ProcessPool interleaved, because \
            CPU speed on small VMs drifts within seconds; the report gives the median and the range over the rounds.
            """
    )

    @Option(name: .customLong("postgres"), help: "A server to use instead of a throwaway one.")
    var url: String?

    @Option(help: "Rounds of every lane.")
    var rounds = 5

    @Option(help: "Trivial jobs per end-to-end round.")
    var jobs = 50_000

    @Option(help: "Jobs per enqueue round.")
    var enqueueJobs = 100_000

    @Option(help: "Single jobs per latency round.")
    var latencyJobs = 300

    @Option(help: "Lease in seconds for the recovery lane.")
    var lease: Double = 3

    @Option(help: "Local worker processes (default: one per core).")
    var workers: Int?

    @Flag(help: "Skip the recovery lane (it spawns and SIGKILLs a worker process).")
    var skipRecovery = false

    @Option(help: "Lanes to run, comma-separated: throughput, latency, enqueue, recovery.")
    var lanes = "throughput,latency,enqueue,recovery"

    @Option(help: "Claimed jobs sent to the local pool as one task (the worker's localBatch).")
    var localBatch = 1

    @Flag(help: "Run the worker's jobs on a ThreadPool instead of its local ProcessPool (trivial jobs cost no IPC).")
    var threads = false

    @Option(help: "Jobs per claim statement (the worker's claimBatch; it holds four times as many).")
    var claimBatch = 100

    func run() async throws {
        var scratch: ScratchPostgres?
        let serverURL: String
        if let url {
            serverURL = url
        } else {
            let server = try ScratchPostgres()
            scratch = server
            serverURL = server.url
        }
        defer { scratch?.stop() }
        print("offload-postgres bench: \(scratch == nil ? serverURL : "throwaway PostgreSQL at \(serverURL)")")
        print(
            "machine: \(Self.machine()); local workers: \(workers ?? WorkerCount.available) "
                + "(\(threads ? "threads" : "processes"), localBatch \(localBatch), claimBatch \(claimBatch)); "
                + "rounds: \(rounds)"
        )
        let chosen = Set(self.lanes.split(separator: ",").map { String($0.filter { $0 != " " }) })
        let known: Set<String> = ["throughput", "latency", "enqueue", "recovery"]
        guard chosen.isSubset(of: known), !chosen.isEmpty else {
            throw ValidationError("--lanes takes a comma-separated list of: throughput, latency, enqueue, recovery")
        }
        var bench = BenchLanes(url: serverURL, workers: workers, lease: lease, localBatch: localBatch)
        bench.threads = threads
        bench.claimBatch = claimBatch
        try await bench.prepare()
        for round in 1...rounds {
            print("round \(round)/\(rounds)…")
            if chosen.contains("throughput") { try await bench.throughput(jobs: jobs) }
            if chosen.contains("latency") { try await bench.latency(jobs: latencyJobs) }
            if chosen.contains("enqueue") { try await bench.enqueue(jobs: enqueueJobs) }
            if chosen.contains("recovery") && !skipRecovery { try await bench.recovery() }
        }
        await bench.finish()
        print("")
        bench.report.print()
    }

    static func machine() -> String {
        var info = utsname()
        uname(&info)
        let release = withUnsafeBytes(of: &info.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return "\(WorkerCount.available) cores, Linux \(release)"
    }
}
