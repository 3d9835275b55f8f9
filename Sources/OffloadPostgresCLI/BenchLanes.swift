import Offload
import OffloadBenchJobs
import OffloadPostgres
import OffloadPostgresScratch

#if canImport(Glibc)
    import Glibc
#endif

/// The bench's lanes and what they measured.
struct BenchLanes {
    let url: String
    let workers: Int?
    let lease: Double
    let localBatch: Int
    /// The worker runs jobs on a ThreadPool rather than its local ProcessPool.
    var threads = false
    /// The worker's claimBatch (it holds four times as many).
    var claimBatch = 100
    var report = BenchReport()
    private var queue: PostgresQueue?
    private var worker: PostgresWorker?
    private var workerTask: Task<Void, any Error>?
    private var pool: ProcessPool?
    private var round = 0

    init(url: String, workers: Int?, lease: Double, localBatch: Int) {
        self.url = url
        self.workers = workers
        self.lease = lease
        self.localBatch = localBatch
    }

    mutating func prepare() async throws {
        let settings = try PostgresSettings(url: url, schema: "offload_bench")
        var configuration = PostgresQueue.Configuration(settings: settings)
        configuration.defaultOptions.maxAttempts = 3
        queue = try await PostgresQueue(configuration: configuration)
        var local = ProcessPool.Configuration(workers: workers)
        local.forwardWorkerStderr = false
        var workerConfiguration = PostgresWorker.Configuration(
            settings: settings,
            execution: threads ? .threads(workers: workers ?? WorkerCount.available) : .processes(local)
        )
        workerConfiguration.handlesTerminationSignals = false
        workerConfiguration.claimBatch = claimBatch
        workerConfiguration.maxHeld = claimBatch * 4
        workerConfiguration.localBatch = localBatch
        let worker = try await PostgresWorker(configuration: workerConfiguration, registry: BenchJobs.registry)
        self.worker = worker
        workerTask = Task { try await worker.run() }
        pool = try ProcessPool(configuration: local)
        // Warm up both: first connections, worker processes, plan caches.
        _ = try await queue!.map((0..<2_000).map { TrivialJob(item: $0) })
        _ = try await pool!.map((0..<2_000).map { TrivialJob(item: $0) })
    }

    mutating func finish() async {
        worker?.shutdown()
        _ = try? await workerTask?.value
        await queue?.shutdown()
        await pool?.shutdown()
    }

    /// Insert → claim → run → complete → result seen by the submitter, for `jobs` trivial jobs; beside
    /// `ProcessPool.map` of the same jobs.
    mutating func throughput(jobs count: Int) async throws {
        let jobs = (0..<count).map { TrivialJob(item: $0) }
        let expected = jobs.reduce(UInt64(0)) { $0 &+ (try! $1.run()) }
        var start = ContinuousClock.now
        let outputs = try await queue!.map(jobs, chunkSize: 1_000, progress: TerminalProgress.monitor("end to end"))
        let postgres = ContinuousClock.now - start
        precondition(outputs.reduce(0, &+) == expected, "wrong outputs")
        start = ContinuousClock.now
        let local = try await pool!.map(jobs)
        let processPool = ContinuousClock.now - start
        precondition(local.reduce(0, &+) == expected, "wrong outputs")
        report.add("end to end, jobs/s", postgres: Double(count) / postgres.seconds, pool: Double(count) / processPool.seconds)
    }

    /// Submit → awaited result, one job at a time.
    mutating func latency(jobs count: Int) async throws {
        var postgres: [Duration] = []
        var local: [Duration] = []
        for index in 0..<count {
            let start = ContinuousClock.now
            _ = try await queue!.run(TrivialJob(item: index))
            postgres.append(ContinuousClock.now - start)
            let poolStart = ContinuousClock.now
            _ = try await pool!.run(TrivialJob(item: index))
            local.append(ContinuousClock.now - poolStart)
        }
        report.add("latency p50, ms", postgres: Self.percentile(postgres, 0.5), pool: Self.percentile(local, 0.5))
        report.add("latency p99, ms", postgres: Self.percentile(postgres, 0.99), pool: Self.percentile(local, 0.99))
    }

    /// Jobs inserted per second (multi-row statements), on a queue no worker serves; beside `ProcessPool.submit`.
    mutating func enqueue(jobs count: Int) async throws {
        let jobs = (0..<count).map { TrivialJob(item: $0) }
        var start = ContinuousClock.now
        _ = try await queue!.enqueueBatch(jobs, options: PostgresJobOptions(queue: "bench-enqueue-only"))
        let postgres = ContinuousClock.now - start
        start = ContinuousClock.now
        var handles: [TaskHandle<UInt64>] = []
        handles.reserveCapacity(count)
        for job in jobs { handles.append(try pool!.submit(job)) }
        let submitted = ContinuousClock.now - start
        for handle in handles { _ = try await handle.value }
        report.add("enqueue, jobs/s", postgres: Double(count) / postgres.seconds, pool: Double(count) / submitted.seconds)
    }

    /// A worker process holding claimed jobs is SIGKILLed: time until another worker has claimed every one of them;
    /// beside a ProcessPool worker SIGKILLed while running a job: time until the pool reports the crash.
    mutating func recovery() async throws {
        round += 1
        let schema = "offload_bench_recovery_\(round)"
        let settings = try PostgresSettings(url: url, schema: schema)
        _ = try await PostgresSchema.migrate(settings)
        let exe = Self.executablePath()
        let victim = try ScratchProcess(
            [
                exe, "worker", "--postgres", url, "--schema", schema, "--lease", "\(lease)",
                "--heartbeat", "\(max(0.5, lease / 3))", "--workers", "1", "--name", "victim",
            ],
            outputPath: "/tmp/offload-bench-victim-\(getpid()).out"
        )
        defer {
            victim.kill()
            unlink(victim.outputPath)
        }
        var configuration = PostgresQueue.Configuration(settings: settings)
        configuration.defaultOptions.maxAttempts = 3
        let queue = try await PostgresQueue(configuration: configuration)
        _ = try await queue.enqueueBatch((0..<50).map { _ in SliceJob<SumOfSquares>(items: [20_000_000]) })
        // Wait until the victim holds jobs.
        let admin = try await PostgresQueue(configuration: configuration)
        while try await admin.status().queues.first?.running ?? 0 == 0 {
            try await Task.sleep(for: .milliseconds(10))
        }
        victim.signal(SIGKILL)
        let killed = ContinuousClock.now
        _ = await victim.waitForExit(timeout: .seconds(10))
        var local = ProcessPool.Configuration(workers: 1)
        local.forwardWorkerStderr = false
        var rescuer = PostgresWorker.Configuration(settings: settings, execution: .processes(local))
        rescuer.handlesTerminationSignals = false
        rescuer.lease = .milliseconds(Int(lease * 1_000))
        rescuer.heartbeatInterval = .milliseconds(Int(max(0.5, lease / 3) * 1_000))
        let worker = try await PostgresWorker(configuration: rescuer, registry: BenchJobs.registry)
        let running = Task { try await worker.run() }
        // Recovered when none of the victim's jobs is still running under its name (rescued, then re-claimed).
        while try await admin.status().workers.first(where: { $0.name == "victim" })?.runningJobs ?? 0 > 0 {
            try await Task.sleep(for: .milliseconds(10))
        }
        let postgres = ContinuousClock.now - killed
        worker.shutdown()
        _ = try? await running.value
        await queue.close()
        await admin.close()
        // ProcessPool: a worker killed mid-job is reported at once (pidfd), and replaced.
        let pool = try ProcessPool(configuration: local)
        _ = try await pool.run(TrivialJob(item: 1))
        let handle = try pool.submit(SliceJob<SumOfSquares>(items: [200_000_000]))
        try await Task.sleep(for: .milliseconds(50))
        let poolKilled = ContinuousClock.now
        for pid in pool.workerPIDs { kill(pid, SIGKILL) }
        _ = try? await handle.value
        let processPool = ContinuousClock.now - poolKilled
        await pool.shutdown()
        report.add("recovery after SIGKILL, s (lease \(lease) s)", postgres: postgres.seconds, pool: processPool.seconds)
    }

    static func executablePath() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        return String(decoding: buffer[..<max(0, count)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func percentile(_ values: [Duration], _ fraction: Double) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        let index = min(sorted.count - 1, Int((Double(sorted.count - 1) * fraction).rounded()))
        return sorted[index].seconds * 1_000
    }
}

extension Duration {
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

/// Per-lane figures over the rounds: median and range.
struct BenchReport {
    private var order: [String] = []
    private var postgres: [String: [Double]] = [:]
    private var pool: [String: [Double]] = [:]

    mutating func add(_ lane: String, postgres value: Double, pool poolValue: Double) {
        if postgres[lane] == nil { order.append(lane) }
        postgres[lane, default: []].append(value)
        pool[lane, default: []].append(poolValue)
    }

    func print() {
        Swift.print("lane                                  PostgreSQL: median (min–max)       ProcessPool: median (min–max)")
        for lane in order {
            let name = lane.padding(toLength: 38)
            Swift.print(name + Self.summary(postgres[lane] ?? []).padding(toLength: 35) + Self.summary(pool[lane] ?? []))
        }
    }

    static func summary(_ values: [Double]) -> String {
        let sorted = values.sorted()
        guard let first = sorted.first, let last = sorted.last else { return "-" }
        let median = sorted[sorted.count / 2]
        return "\(format(median)) (\(format(first))–\(format(last)))"
    }

    static func format(_ value: Double) -> String {
        if value >= 1_000 { return "\(Int(value.rounded()))" }
        if value >= 10 { return String(Int((value * 10).rounded())) .inserting(".", fromEnd: 1) }
        return String(Int((value * 100).rounded())).inserting(".", fromEnd: 2)
    }
}

extension String {
    func inserting(_ separator: String, fromEnd count: Int) -> String {
        var text = self
        while text.count <= count { text = "0" + text }
        let index = text.index(text.endIndex, offsetBy: -count)
        return String(text[..<index]) + separator + String(text[index...])
    }
}
