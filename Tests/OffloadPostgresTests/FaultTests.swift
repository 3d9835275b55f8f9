import Foundation
import Offload
import OffloadPostgres
import OffloadPostgresScratch
import OffloadTestJobs
import PostgresNIO
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension PostgresTests {
    /// Faults injected into workers, sessions and the server; each test ends with the SQL invariant check.
    @Suite("Faults")
    struct FaultTests {
        @Test("SIGKILL of a worker process holding claimed jobs: another worker runs them within the lease plus 2 s")
        func sigkill() async throws {
            try await withEnvironment("sigkill") { env in
                try await env.installAudit()
                let queue = try await env.queue()
                let a = try await env.spawnWorker(["--lease-ms", "2000", "--heartbeat-ms", "500", "--name", "a"])
                let jobs = try (0..<40).map { _ in try queue.submit(Sleep(milliseconds: 400)) }
                try await env.eventually("worker a holds jobs") {
                    try await env.int("SELECT count(*) FROM \(env.jobs) WHERE state = 'running' AND worker_id = 'a'") >= 10
                }
                a.signal(SIGKILL)
                let killed = ContinuousClock.now
                #expect(await a.waitForExit(timeout: .seconds(10)) != nil)
                _ = try await env.spawnWorker(["--lease-ms", "2000", "--heartbeat-ms", "500", "--name", "b"])
                try await env.eventually("worker b took over every job a held") {
                    try await env.int(
                        "SELECT count(*) FROM \(env.jobs) WHERE state = 'running' AND worker_id = 'a'"
                    ) == 0
                }
                let recovered = ContinuousClock.now - killed
                for job in jobs { #expect(try await job.value == 400) }
                // The guarantee is lease + sweep (2 s + 0.2 s here); allow for this busy 2-core machine.
                #expect(recovered < .seconds(6), "recovered after \(recovered)")
                #expect(try await env.int("SELECT count(*) FROM \(env.jobs) WHERE attempt = 2") >= 10)
                await queue.shutdown()
                let violations = try await env.invariantViolations(expectedJobs: 40)
                #expect(violations == [])
            }
        }

        @Test("SIGSTOP of a worker past its lease, then SIGCONT: its late results are rejected")
        func sigstop() async throws {
            try await withEnvironment("sigstop") { env in
                try await env.installAudit()
                let queue = try await env.queue()
                let a = try await env.spawnWorker(["--lease-ms", "1500", "--heartbeat-ms", "500", "--name", "a"])
                let jobs = try (0..<12).map { _ in try queue.submit(Sleep(milliseconds: 600)) }
                try await env.eventually("worker a holds jobs") {
                    try await env.int("SELECT count(*) FROM \(env.jobs) WHERE state = 'running' AND worker_id = 'a'") >= 4
                }
                a.signal(SIGSTOP)
                let held = try await env.int("SELECT count(*) FROM \(env.jobs) WHERE state = 'running' AND worker_id = 'a'")
                _ = try await env.spawnWorker(["--lease-ms", "1500", "--heartbeat-ms", "500", "--name", "b"])
                for job in jobs { #expect(try await job.value == 600) }
                a.signal(SIGCONT)
                // Let a notice (heartbeat or rejected completion), then stop it and read its account.
                try await Task.sleep(for: .seconds(1))
                a.signal(SIGTERM)
                #expect(await a.waitForExit(timeout: .seconds(15)) == 0)
                let summary = a.output
                let dropped = Self.number("rejected", in: summary) + Self.number("abandoned", in: summary)
                #expect(dropped >= 1, "\(summary)")
                #expect(held >= 1)
                #expect(try await env.int("SELECT count(*) FROM \(env.jobs) WHERE worker_id = 'a' AND state = 'completed'") == 0 || held < 12)
                await queue.shutdown()
                let violations = try await env.invariantViolations(expectedJobs: 12)
                #expect(violations == [])
            }
        }

        @Test("pg_terminate_backend of a worker's sessions mid-run: it reconnects, nothing lost or doubled")
        func terminateBackend() async throws {
            try await withEnvironment("terminate") { env in
                try await env.installAudit()
                let queue = try await env.queue()
                let worker = try await env.worker()
                let running = Task { try await worker.run() }
                let jobs = (0..<3_000).map { Square($0) }
                let results = Task { try await queue.map(jobs, chunkSize: 200) }
                for round in 0..<3 {
                    try await env.eventually("progress before round \(round)") {
                        try await env.int("SELECT count(*) FROM \(env.jobs) WHERE state = 'completed'") > round * 600
                    }
                    try await env.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'offload-worker%'"
                    )
                }
                #expect(try await results.value == jobs.map { $0.x * $0.x })
                worker.shutdown()
                try await running.value
                await queue.shutdown()
                let violations = try await env.invariantViolations(expectedJobs: 3_000)
                #expect(violations == [])
            }
        }

        @Test("a PostgreSQL restart in the middle of a run: workers and submitter reconnect and finish")
        func serverRestart() async throws {
            try await withEnvironment("restart") { env in
                let queue = try await env.queue()
                let worker = try await env.worker()
                let running = Task { try await worker.run() }
                let jobs = (0..<400).map { _ in Sleep(milliseconds: 5) }
                let results = Task { try await queue.map(jobs, chunkSize: 100) }
                try await env.eventually("all inserted, some done") {
                    let inserted = try await env.int("SELECT count(*) FROM \(env.jobs)")
                    let done = try await env.int("SELECT count(*) FROM \(env.jobs) WHERE state = 'completed'")
                    return inserted == 400 && done > 50
                }
                try TestDatabase.server.restart()
                #expect(try await results.value.count == 400)
                worker.shutdown()
                try await running.value
                await queue.shutdown()
                let check = try await TestEnvironment(reusing: env)
                let violations = try await check.invariantViolations(expectedJobs: 400)
                #expect(violations == [])
                try? await check.connection.close()
            }
        }

        @Test("a queue's concurrency limit holds across many worker processes")
        func concurrencyLimit() async throws {
            try await withEnvironment("limit") { env in
                let queue = try await env.queue { $0.defaultOptions.queue = "limited" }
                try await queue.setConcurrencyLimit(2, forQueue: "limited")
                for index in 0..<3 {
                    _ = try await env.spawnWorker(["--queues", "limited", "--name", "w\(index)", "--poll-ms", "50"])
                }
                let results = Task { try await queue.map((0..<24).map { _ in Sleep(milliseconds: 60) }, chunkSize: 4) }
                var most = 0
                while true {
                    let running = try await env.int("SELECT count(*) FROM \(env.jobs) WHERE state = 'running'")
                    most = max(most, running)
                    if try await env.int("SELECT count(*) FROM \(env.jobs) WHERE state = 'completed'") == 24 { break }
                    try await Task.sleep(for: .milliseconds(5))
                }
                #expect(try await results.value.count == 24)
                #expect(most <= 2, "saw \(most) running at once")
                #expect(most == 2)
                await queue.shutdown()
                let violations = try await env.invariantViolations(expectedJobs: 24)
                #expect(violations == [])
            }
        }

        @Test("SIGTERM: the worker stops claiming, hands back what outlives the grace period, and exits")
        func sigterm() async throws {
            try await withEnvironment("sigterm") { env in
                let queue = try await env.queue()
                let a = try await env.spawnWorker(["--grace-ms", "500", "--name", "a"])
                let quick = try queue.submit(Sleep(milliseconds: 100))
                let slow = try (0..<2).map { _ in try queue.submit(Sleep(milliseconds: 3_000)) }
                try await env.eventually("worker a runs the slow jobs") {
                    try await env.int(
                        "SELECT count(*) FROM \(env.jobs) WHERE state = 'running' AND worker_id = 'a' AND payload <> ''"
                    ) >= 2
                }
                #expect(try await quick.value == 100)
                let held = try await env.int("SELECT count(*) FROM \(env.jobs) WHERE state = 'running' AND worker_id = 'a'")
                // What the slow jobs still had to run: a worker that waited for them would take at least that long.
                let remaining = try await env.int(
                    """
                    SELECT (3000 - extract(epoch FROM now() - min(attempted_at)) * 1000)::bigint FROM \(env.jobs)
                    WHERE state = 'running' AND worker_id = 'a'
                    """
                )
                let signalled = ContinuousClock.now
                a.signal(SIGTERM)
                #expect(await a.waitForExit(timeout: .seconds(10)) == 0)
                let stopped = ContinuousClock.now - signalled
                #expect(held == 2)
                #expect(stopped < .milliseconds(remaining), "took \(stopped); the held jobs had \(remaining) ms left")
                #expect(a.output.contains("released=2"), "\(a.output)")
                // Handed back: available again, the interrupted attempt not counted.
                #expect(try await env.int("SELECT count(*) FROM \(env.jobs) WHERE state = 'available' AND attempt = 0") == 2)
                _ = try await env.spawnWorker(["--name", "b"])
                for job in slow { #expect(try await job.value == 3_000) }
                #expect(try await env.int("SELECT max(attempt) FROM \(env.jobs)") == 1)
                await queue.shutdown()
                let violations = try await env.invariantViolations(expectedJobs: 3)
                #expect(violations == [])
            }
        }

        @Test("cancelling a running job kills the local process running it; the job ends cancelled, exactly once")
        func cancelRunningStopsIt() async throws {
            try await withEnvironment("cancel_running") { env in
                try await env.installAudit()
                let queue = try await env.queue()
                // One local process: the job's process is the one WorkerPID reports.
                var local = ProcessPool.Configuration(workers: 1, executable: TestWorkerBinary.path)
                local.forwardWorkerStderr = false
                let worker = try await env.worker { $0.execution = .processes(local) }
                let running = Task { try await worker.run() }
                let victim = try await queue.run(WorkerPID())
                // The job tells the test through a FIFO once it runs inside the local process.
                let fifo = TestDatabase.server.directory + "/\(env.schema).fifo"
                #expect(mkfifo(fifo, 0o600) == 0)
                let reader = open(fifo, O_RDONLY | O_NONBLOCK)
                #expect(reader >= 0)
                defer { close(reader) }
                let long = try await queue.enqueue(Announce(fifoPath: fifo, milliseconds: 120_000))
                try await env.eventually("the job runs in the local process") {
                    var byte: UInt8 = 0
                    return read(reader, &byte, 1) == 1
                }
                #expect(try await queue.cancel(id: long.id) == .stopped)
                await #expect(throws: CancellationError.self) { try await long.value }
                try await env.eventually("the process running the job is gone") { kill(victim, 0) != 0 }
                try await env.eventually("the worker let go of the job") { worker.heldJobs == 0 }
                #expect(worker.statistics.stopped == 1)
                // The local pool replaced the process and serves the next job.
                let replacement = try await queue.run(WorkerPID())
                #expect(replacement != victim)
                worker.shutdown()
                try await running.value
                await queue.shutdown()
                #expect(try await env.int("SELECT count(*) FROM \(env.jobs) WHERE id = \(long.id) AND state = 'cancelled' AND attempt = 1 AND finished_attempt IS NULL AND output IS NULL") == 1)
                #expect(try await env.int("SELECT count(*) FROM \"\(env.schema)\".audit WHERE id = \(long.id)") == 0)
                #expect(worker.statistics.completed == 2)
                let violations = try await env.invariantViolations(expectedJobs: 3)
                #expect(violations == [])
            }
        }

        static func number(_ key: String, in text: String) -> Int {
            guard let range = text.range(of: key + "=") else { return 0 }
            return Int(text[range.upperBound...].prefix { $0.isNumber }) ?? 0
        }
    }
}

