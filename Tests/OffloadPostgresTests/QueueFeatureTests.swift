import Offload
import OffloadPostgresScratch
import OffloadPostgres
import OffloadTestJobs
import PostgresNIO
import Testing

extension PostgresTests {
    @Suite("Queue features")
    struct QueueFeatureTests {
        @Test("concurrent inserts of one uniqueness key make one job; a finished job frees the key")
        func uniqueKey() async throws {
            try await withEnvironment("unique") { env in
                let queues = try await withThrowingTaskGroup(of: PostgresQueue.self) { group in
                    for _ in 0..<4 { group.addTask { try await env.queue() } }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                let options = PostgresJobOptions(uniqueKey: "report:42")
                let jobs = try await withThrowingTaskGroup(of: PostgresJob<Int>.self) { group in
                    for index in 0..<16 {
                        group.addTask { try await queues[index % 4].enqueue(Square(42), options: options) }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(Set(jobs.map(\.id)).count == 1)
                #expect(jobs.filter(\.wasInserted).count == 1)
                #expect(try await env.int("SELECT count(*) FROM \(env.jobs)") == 1)
                let worker = try await env.worker()
                let running = Task { try await worker.run() }
                #expect(try await jobs[0].value == 1_764)
                let again = try await queues[0].enqueue(Square(42), options: options)
                #expect(again.wasInserted)
                #expect(again.id != jobs[0].id)
                #expect(try await again.value == 1_764)
                worker.shutdown()
                try await running.value
                for queue in queues { await queue.shutdown() }
                let violations = try await env.invariantViolations(expectedJobs: 2)
                #expect(violations == [])
            }
        }

        @Test("enqueue on the caller's connection exists if and only if the caller's transaction commits")
        func transactional() async throws {
            try await withEnvironment("tx") { env in
                let queue = try await env.queue()
                try await env.execute("BEGIN")
                _ = try await queue.enqueue(Square(9), on: env.connection)
                try await env.execute("ROLLBACK")
                #expect(try await env.int("SELECT count(*) FROM \(env.jobs)") == 0)
                try await env.execute("BEGIN")
                let id = try await queue.enqueue(Square(9), on: env.connection)
                // Invisible to others until the commit.
                let status = try await queue.status()
                #expect(status.queues.isEmpty)
                try await env.execute("COMMIT")
                let worker = try await env.worker()
                let running = Task { try await worker.run() }
                #expect(try await queue.handle(for: id, as: Square.self).value == 81)
                worker.shutdown()
                try await running.value
                await queue.shutdown()
                let violations = try await env.invariantViolations(expectedJobs: 1)
                #expect(violations == [])
            }
        }

        @Test("a handle re-attaches by ID from another queue object; an unknown ID is jobNotFound")
        func reattach() async throws {
            try await withEnvironment("reattach") { env in
                let first = try await env.queue()
                let job = try await first.enqueue(Square(11))
                await first.close()
                await #expect(throws: OffloadError.self) { try await job.value }
                let second = try await env.queue()
                let worker = try await env.worker()
                let running = Task { try await worker.run() }
                #expect(try await second.handle(for: job.id, as: Square.self).value == 121)
                // Finished long ago: still there.
                #expect(try await second.handle(for: job.id, as: Square.self).value == 121)
                let error = try await #require(throws: OffloadError.self) {
                    _ = try await second.handle(for: 987_654, as: Square.self)
                }
                #expect(error.code == .jobNotFound)
                worker.shutdown()
                try await running.value
                await second.shutdown()
                let violations = try await env.invariantViolations(expectedJobs: 1)
                #expect(violations == [])
            }
        }

        @Test("cancelling a queued job withdraws it; cancelling a running one stops it and rejects its result")
        func cancel() async throws {
            try await withEnvironment("cancel") { env in
                let queue = try await env.queue()
                let delayed = try await queue.enqueue(Square(1), options: PostgresJobOptions(delay: .seconds(60)))
                #expect(try await queue.cancel(id: delayed.id) == .withdrawn)
                await #expect(throws: CancellationError.self) { try await delayed.value }
                let worker = try await env.worker()
                let running = Task { try await worker.run() }
                let long = try await queue.enqueue(Sleep(milliseconds: 1_500))
                try await env.eventually("the job is running") {
                    try await env.int("SELECT count(*) FROM \(env.jobs) WHERE id = \(long.id) AND state = 'running'") == 1
                }
                #expect(try await queue.cancel(id: long.id) == .stopped)
                await #expect(throws: CancellationError.self) { try await long.value }
                #expect(try await queue.cancel(id: long.id) == .alreadyFinished(state: "cancelled"))
                // The worker drops the result when the job ends.
                try await env.eventually("the worker dropped the cancelled job") { worker.heldJobs == 0 }
                #expect(try await queue.run(Square(3)) == 9)
                // A handle's cancel() cancels in the database too.
                let handle = try queue.submit(Square(5), options: PostgresJobOptions(delay: .seconds(60)))
                try await env.eventually("the job was inserted") {
                    try await env.int("SELECT count(*) FROM \(env.jobs) WHERE state = 'available'") == 1
                }
                handle.cancel()
                await #expect(throws: CancellationError.self) { try await handle.value }
                worker.shutdown()
                try await running.value
                await queue.shutdown()
                #expect(queue.stats.isConsistent)
                #expect(try await env.int("SELECT count(*) FROM \(env.jobs) WHERE state = 'cancelled'") == 3)
                let violations = try await env.invariantViolations(expectedJobs: 4)
                #expect(violations == [])
            }
        }

        @Test("a delayed job waits for its time; higher priority runs first")
        func delayAndPriority() async throws {
            try await withEnvironment("priority") { env in
                let queue = try await env.queue()
                let delayed = try await queue.enqueue(Square(2), options: PostgresJobOptions(delay: .milliseconds(700)))
                var ids: [Int64] = []
                for priority in [0, 5, 1, 9] {
                    ids.append(try await queue.enqueue(Square(priority), options: PostgresJobOptions(priority: priority)).id)
                }
                let worker = try await env.worker {
                    $0.claimBatch = 1
                    $0.maxHeld = 1
                }
                let running = Task { try await worker.run() }
                #expect(try await delayed.value == 4)
                #expect(
                    try await env.int(
                        "SELECT count(*) FROM \(env.jobs) WHERE id = \(delayed.id) AND attempted_at >= created_at + interval '700 ms'"
                    ) == 1
                )
                for id in ids { _ = try await queue.handle(for: id, as: Square.self).value }
                let order = try await env.connection.query(
                    PostgresQuery(unsafeSQL: "SELECT priority FROM \(env.jobs) WHERE id <> \(delayed.id) ORDER BY attempted_at"),
                    logger: env.logger
                )
                var priorities: [Int32] = []
                for try await priority in order.decode(Int32.self) { priorities.append(priority) }
                #expect(priorities == [9, 5, 1, 0])
                worker.shutdown()
                try await running.value
                await queue.shutdown()
                let violations = try await env.invariantViolations(expectedJobs: 5)
                #expect(violations == [])
            }
        }

        @Test("migrations are safe to run concurrently; a newer schema is refused untouched")
        func migrations() async throws {
            try await withEnvironment("migrate") { env in
                let versions = try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<6 { group.addTask { try await PostgresSchema.migrate(env.settings) } }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(versions.filter { $0 == 0 }.count == 1)
                #expect(try await PostgresSchema.version(env.settings) == PostgresSchema.currentVersion)
                #expect(try await env.int("SELECT count(*) FROM \"\(env.schema)\".migrations") == PostgresSchema.currentVersion)
                try await env.execute("INSERT INTO \"\(env.schema)\".migrations (version) VALUES (99)")
                let error = try await #require(throws: OffloadError.self) { _ = try await env.queue() }
                #expect(error.code == .schemaTooNew)
                #expect(error.message.contains("version 99"))
                let workerError = try await #require(throws: OffloadError.self) { _ = try await env.worker() }
                #expect(workerError.code == .schemaTooNew)
                #expect(try await env.int("SELECT max(version) FROM \"\(env.schema)\".migrations") == 99)
            }
        }

        @Test("a malformed URL, an unreachable server and a wrong login fail fast, naming host and cause")
        func connectionErrors() async throws {
            for (url, fragment) in [
                ("mysql://localhost/db", "must start with postgres://"),
                ("postgres://localhost:99999/db", "port '99999'"),
                ("postgres://u@host/db?sslmode=sometimes", "sslmode 'sometimes'"),
                ("postgres://u@host/db?color=blue", "unknown parameter 'color'"),
                ("postgres://:pw@host/db", "user name before '@' is empty"),
            ] {
                let error = try #require(throws: OffloadError.self) { _ = try PostgresSettings(url: url) }
                #expect(error.code == .invalidArgument)
                #expect(error.message.contains(fragment), "\(error.message)")
            }
            let endpoint = try PostgresEndpoint(url: "postgresql://app:s%40cret@[::1]:6543/jobs?sslmode=require")
            #expect(endpoint.host == "::1")
            #expect(endpoint.port == 6543)
            #expect(endpoint.password == "s@cret")
            #expect(endpoint.database == "jobs")
            #expect(endpoint.tls == .require)
            #expect(!endpoint.description.contains("s@cret"))

            var unreachable = try PostgresSettings(url: "postgres://postgres@127.0.0.1:1/postgres")
            unreachable.connectAttempts = 2
            let start = ContinuousClock.now
            let refused = try await #require(throws: OffloadError.self) {
                _ = try await PostgresQueue(configuration: .init(settings: unreachable))
            }
            #expect(refused.code == .connectionFailed)
            #expect(refused.message.contains("127.0.0.1:1"))
            #expect(ContinuousClock.now - start < .seconds(30))

            var wrongUser = try PostgresSettings(url: "postgres://nobody@127.0.0.1:\(TestDatabase.server.port)/postgres")
            wrongUser.connectAttempts = 1
            let denied = try await #require(throws: OffloadError.self) {
                _ = try await PostgresQueue(configuration: .init(settings: wrongUser))
            }
            #expect(denied.code == .connectionFailed)
            #expect(denied.message.contains("nobody"), "\(denied.message)")
        }

        @Test("finished jobs older than the retention are deleted, younger and unfinished ones stay; one cleanup per interval across workers")
        func retention() async throws {
            try await withEnvironment("retention") { env in
                try await PostgresSchema.migrate(env.settings)
                func insert(_ count: Int, state: String, finishedAgo: String?) async throws {
                    let finished = finishedAgo.map { "now() - interval '\($0)'" } ?? "NULL"
                    let attempt = state == "available" ? 0 : 1
                    try await env.execute(
                        """
                        INSERT INTO \(env.jobs) (queue, job_name, payload, state, attempt, max_attempts, finished_at,
                            finished_attempt, output, created_at)
                        SELECT 'archive', 'Square', '\\x00', '\(state)', \(attempt), 1, \(finished),
                            CASE WHEN '\(state)' IN ('completed', 'failed') THEN 1 END,
                            CASE WHEN '\(state)' = 'completed' THEN '\\x01'::bytea END, now() - interval '3 hours'
                        FROM generate_series(1, \(count))
                        """
                    )
                }
                // 12,000 old rows: more than one delete batch.
                try await insert(11_000, state: "completed", finishedAgo: "2 hours")
                try await insert(500, state: "failed", finishedAgo: "90 minutes")
                try await insert(500, state: "cancelled", finishedAgo: "61 minutes")
                try await insert(300, state: "completed", finishedAgo: "50 minutes")
                try await insert(200, state: "cancelled", finishedAgo: "1 minute")
                try await insert(100, state: "available", finishedAgo: nil)
                let interval = Duration.milliseconds(300)
                let started = ContinuousClock.now
                var workers: [PostgresWorker] = []
                var runs: [Task<Void, any Error>] = []
                for _ in 0..<3 {
                    let worker = try await env.worker(threads: true) {
                        $0.queues = ["elsewhere"]
                        $0.retention = .seconds(3_600)
                        $0.cleanupInterval = interval
                    }
                    workers.append(worker)
                    runs.append(Task { try await worker.run() })
                }
                try await env.eventually("rows past the retention are gone") {
                    try await env.int("SELECT count(*) FROM \(env.jobs) WHERE finished_at < now() - interval '1 hour'") == 0
                }
                // Let a few more intervals pass (with nothing left to delete), then stop and count the cleanups.
                try await env.eventually("more cleanups ran") {
                    workers.map(\.statistics.cleanups).reduce(0, +) >= 4
                }
                for worker in workers { worker.shutdown() }
                for run in runs { try await run.value }
                let elapsed = ContinuousClock.now - started
                #expect(try await env.int("SELECT count(*) FROM \(env.jobs) WHERE state = 'completed'") == 300)
                #expect(try await env.int("SELECT count(*) FROM \(env.jobs) WHERE state = 'cancelled'") == 200)
                #expect(try await env.int("SELECT count(*) FROM \(env.jobs) WHERE state = 'failed'") == 0)
                #expect(try await env.int("SELECT count(*) FROM \(env.jobs) WHERE state = 'available'") == 100)
                let deleted = workers.map(\.statistics.deleted).reduce(0, +)
                #expect(deleted == 12_000)
                // At most one cleanup per interval across the three workers (the database holds the schedule).
                let cleanups = workers.map(\.statistics.cleanups).reduce(0, +)
                let intervals = Int(elapsed / interval)
                #expect(cleanups <= intervals + 1, "\(cleanups) cleanups in \(elapsed)")
                #expect(try await env.int("SELECT runs FROM \"\(env.schema)\".maintenance WHERE task = 'cleanup'") == cleanups)
            }
        }

        @Test("an idle worker costs about one statement per second")
        func idleCost() async throws {
            // A database of its own: pg_stat_database then counts this worker's transactions and nothing else.
            try await withEnvironment("idle", ownDatabase: true) { env in
                let database = try #require(env.database)
                let worker = try await env.worker {
                    $0.lease = .seconds(30)
                    $0.heartbeatInterval = .seconds(10)
                    $0.pollInterval = .seconds(1)
                }
                let running = Task { try await worker.run() }
                let transactions =
                    "SELECT (xact_commit + xact_rollback)::int8 FROM pg_stat_database WHERE datname = '\(database)'"
                // The test's own connection is to another database (so that its statements are not counted).
                try await env.eventually("the worker listens") {
                    try await env.int(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = '\(database)' AND application_name = 'offload-worker-listen'"
                    ) == 1
                }
                // Sessions report their counts when they go idle, at most once a second: the start-up statements
                // (migrations, registration) are reported within a second or two; count after them.
                try await Task.sleep(for: .seconds(2))
                try await env.execute("SELECT pg_stat_clear_snapshot()")
                let before = try await env.int(transactions)
                try await Task.sleep(for: .seconds(10))
                try await env.execute("SELECT pg_stat_clear_snapshot()")
                let after = try await env.int(transactions)
                // Ten seconds: ten claim-and-rescue polls and one heartbeat (two statements). Backends report their
                // counts at most once a second, so either end of the window may be off by a report.
                #expect(after - before <= 15, "\(after - before) transactions in 10 s")
                #expect(after - before >= 5, "\(after - before) transactions in 10 s: is the worker polling at all?")
                worker.shutdown()
                try await running.value
            }
        }
    }
}
