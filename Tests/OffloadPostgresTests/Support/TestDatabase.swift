import Foundation
import Offload
import OffloadTestJobs
import OffloadPostgres
import OffloadPostgresScratch
import PostgresNIO
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The throwaway cluster shared by every PostgreSQL test in this process: started on first use, stopped and deleted
/// when the process exits. Each test works in a schema of its own.
enum TestDatabase {
    static let skipReason: String? = ScratchPostgres.unavailableReason

    static let server: ScratchPostgres = {
        removeOrphans()
        do {
            let server = try ScratchPostgres()
            atexit { TestDatabase.stopAtExit() }
            return server
        } catch {
            fatalError("could not start a throwaway PostgreSQL: \(error)")
        }
    }()

    static func stopAtExit() { server.stop() }

    /// Clusters whose test process is gone: stop them and delete their directories. A cluster's watchdog does this the
    /// moment its owner dies (WatchdogTests); this is the second line, for a watchdog that was killed itself (or a
    /// cluster left by a build from before the watchdog).
    static func removeOrphans() {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/tmp")) ?? []
        for entry in entries where entry.hasPrefix("offload-pg-") {
            let parts = entry.split(separator: "-")
            guard parts.count >= 3, let pid = Int32(parts[2]), kill(pid, 0) != 0 else { continue }
            let directory = "/tmp/" + entry
            if let text = try? String(contentsOfFile: directory + "/data/postmaster.pid", encoding: .utf8),
                let line = text.split(separator: "\n").first, let postmaster = Int32(line)
            {
                kill(postmaster, SIGQUIT)
            }
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    nonisolated(unsafe) static var schemaCounter = 0
    static let schemaLock = NSLock()

    static func uniqueSchema(_ prefix: String) -> String {
        schemaLock.lock()
        defer { schemaLock.unlock() }
        schemaCounter += 1
        return "t_\(prefix.lowercased())_\(schemaCounter)_\(UInt16.random(in: 0..<UInt16.max))"
    }
}

/// The fixture executable built next to the test bundle.
enum TestWorkerBinary {
    static var path: String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let exe = String(decoding: buffer[..<max(0, count)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var directory = exe
        if let slash = directory.lastIndex(of: "/") { directory = String(directory[..<slash]) }
        return directory + "/OffloadPostgresTestWorker"
    }
}

/// One test's schema on the shared cluster, with a plain connection for SQL checks.
final class TestEnvironment: @unchecked Sendable {
    // @unchecked Sendable: all stored properties are `let`s of Sendable types, except `children` and `queues`,
    // which are only touched under `lock`.
    let schema: String
    let url: String
    let settings: PostgresSettings
    let connection: PostgresConnection
    /// A database of this test's own (created by `init(_:ownDatabase:)`), so that server-wide statistics such as
    /// `pg_stat_database` count this test's sessions only; `nil`: the shared `postgres` database.
    let database: String?
    private let lock = NSLock()
    private var children: [WorkerProcess] = []

    init(_ name: String, ownDatabase: Bool = false) async throws {
        schema = TestDatabase.uniqueSchema(name)
        connection = try await Self.connect()
        if ownDatabase {
            let database = "db_" + schema
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(database)"), logger: Self.quiet)
            self.database = database
            url = "postgres://postgres@127.0.0.1:\(TestDatabase.server.port)/\(database)"
        } else {
            database = nil
            url = TestDatabase.server.url
        }
        settings = try PostgresSettings(url: url, schema: schema)
    }

    /// A second handle on the same schema (after the server restarted, the first connection is gone).
    init(reusing other: TestEnvironment) async throws {
        schema = other.schema
        database = other.database
        url = other.url
        settings = other.settings
        connection = try await Self.connect()
    }

    static func connect() async throws -> PostgresConnection {
        var configuration = PostgresConnection.Configuration(
            host: "127.0.0.1",
            port: TestDatabase.server.port,
            username: "postgres",
            password: nil,
            database: "postgres",
            tls: .disable
        )
        configuration.options.connectTimeout = .seconds(5)
        var logger = Logger(label: "offload.tests")
        logger.logLevel = .critical
        return try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
    }

    var logger: Logger { Self.quiet }

    static let quiet: Logger = {
        var logger = Logger(label: "offload.tests")
        logger.logLevel = .critical
        return logger
    }()

    /// Runs an SQL statement and returns the first column of the first row as an integer (0 if no row).
    func int(_ text: String) async throws -> Int {
        let rows = try await connection.query(PostgresQuery(unsafeSQL: text), logger: logger)
        for try await value in rows.decode(Int.self) { return value }
        return 0
    }

    func execute(_ text: String) async throws {
        try await connection.query(PostgresQuery(unsafeSQL: text), logger: logger)
    }

    var jobs: String { "\"\(schema)\".jobs" }

    /// A queue on this schema.
    func queue(pollInterval: Duration = .milliseconds(200), _ adjust: (inout PostgresQueue.Configuration) -> Void = { _ in })
        async throws -> PostgresQueue
    {
        var configuration = PostgresQueue.Configuration(settings: settings, pollInterval: pollInterval)
        adjust(&configuration)
        return try await PostgresQueue(configuration: configuration)
    }

    /// A worker in this process; its local process pool runs the fixture executable.
    func worker(
        threads: Bool = false,
        _ adjust: (inout PostgresWorker.Configuration) -> Void = { _ in }
    ) async throws -> PostgresWorker {
        var local = ProcessPool.Configuration(workers: 2, executable: TestWorkerBinary.path)
        local.forwardWorkerStderr = false
        local.shutdownGracePeriod = .seconds(1)
        var configuration = PostgresWorker.Configuration(
            settings: settings,
            execution: threads ? .threads(workers: 2) : .processes(local)
        )
        configuration.lease = .seconds(3)
        configuration.heartbeatInterval = .seconds(1)
        configuration.pollInterval = .milliseconds(200)
        configuration.shutdownGracePeriod = .seconds(2)
        configuration.handlesTerminationSignals = false
        configuration.backoff = PostgresWorker.Backoff(base: .milliseconds(20), maximum: .milliseconds(200))
        adjust(&configuration)
        return try await PostgresWorker(configuration: configuration, registry: TestJobs.registry)
    }

    /// A worker as a separate OS process over TCP; returns once it printed "ready".
    func spawnWorker(_ arguments: [String] = []) async throws -> WorkerProcess {
        let index = lock.withLock { children.count }
        let process = try await WorkerProcess(
            arguments: ["--url", url, "--schema", schema] + arguments,
            outputPath: TestDatabase.server.directory + "/\(schema)-worker-\(index).out"
        )
        lock.withLock { children.append(process) }
        return process
    }

    /// Polls `condition` until it holds or `timeout` passes.
    func eventually(
        _ what: String,
        timeout: Duration = .seconds(30),
        _ condition: () async throws -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while true {
            if try await condition() { return }
            if ContinuousClock.now > deadline {
                Issue.record("timed out after \(timeout) waiting for: \(what)")
                throw CancellationError()
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// The invariants every fault test ends with. Returns a description of what is violated (empty: none).
    func invariantViolations(expectedJobs: Int? = nil) async throws -> [String] {
        var violations: [String] = []
        let unfinished = try await int(
            "SELECT count(*) FROM \(jobs) WHERE state NOT IN ('completed', 'failed', 'cancelled')"
        )
        if unfinished > 0 { violations.append("\(unfinished) jobs have no final outcome") }
        let over = try await int("SELECT count(*) FROM \(jobs) WHERE attempt > max_attempts")
        if over > 0 { violations.append("\(over) jobs ran more attempts than allowed") }
        let stale = try await int(
            "SELECT count(*) FROM \(jobs) WHERE state IN ('completed', 'failed') AND finished_attempt IS DISTINCT FROM attempt"
        )
        if stale > 0 { violations.append("\(stale) jobs were finished by a stale attempt") }
        let noOutput = try await int("SELECT count(*) FROM \(jobs) WHERE state = 'completed' AND output IS NULL")
        if noOutput > 0 { violations.append("\(noOutput) completed jobs have no output") }
        if try await int("SELECT count(*) FROM pg_tables WHERE schemaname = '\(schema)' AND tablename = 'audit'") > 0 {
            let twice = try await int(
                "SELECT count(*) FROM (SELECT id FROM \"\(schema)\".audit GROUP BY id HAVING count(*) > 1) d"
            )
            if twice > 0 { violations.append("\(twice) jobs were completed more than once") }
        }
        if let expectedJobs {
            let total = try await int("SELECT count(*) FROM \(jobs)")
            if total != expectedJobs { violations.append("expected \(expectedJobs) jobs, found \(total)") }
        }
        return violations
    }

    /// Records every transition into a final state (test-only audit trigger), for "completed exactly once" checks.
    func installAudit() async throws {
        try await PostgresSchema.migrate(settings)
        try await execute("CREATE TABLE \"\(schema)\".audit (id bigint, attempt int, state text)")
        try await execute(
            """
            CREATE FUNCTION "\(schema)".audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN INSERT INTO "\(schema)".audit VALUES (NEW.id, NEW.attempt, NEW.state); RETURN NULL; END $$
            """
        )
        try await execute(
            """
            CREATE TRIGGER audit AFTER UPDATE ON \(jobs) FOR EACH ROW
            WHEN (OLD.state <> NEW.state AND NEW.state IN ('completed', 'failed'))
            EXECUTE FUNCTION "\(schema)".audit_row()
            """
        )
    }

    /// Stops spawned workers, closes the connection, drops the schema.
    func tearDown() async {
        let spawned = lock.withLock {
            defer { children = [] }
            return children
        }
        for child in spawned { child.terminate() }
        // A fresh connection: the test's own may have died with a server restart (and postgres-nio can hang
        // closing a connection that is already gone).
        if let cleanup = try? await Self.connect() {
            _ = try? await cleanup.query(
                PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \"\(schema)\" CASCADE"),
                logger: logger
            )
            if let database {
                _ = try? await cleanup.query(
                    PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(database) WITH (FORCE)"),
                    logger: logger
                )
            }
            try? await cleanup.close()
        }
        if !connection.isClosed { try? await connection.close() }
    }
}

/// Runs `body` with a fresh schema, always tearing it down.
func withEnvironment(
    _ name: String,
    ownDatabase: Bool = false,
    _ body: (TestEnvironment) async throws -> Void
) async throws {
    let environment = try await TestEnvironment(name, ownDatabase: ownDatabase)
    do {
        try await body(environment)
    } catch {
        await environment.tearDown()
        throw error
    }
    await environment.tearDown()
}
