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

/// A certificate authority and a server certificate for `localhost` signed by it, made with `openssl` in a fresh
/// directory; plus a second authority that signed nothing the server shows.
struct TestCertificates {
    let directory: String
    var authority: String { directory + "/ca.crt" }
    var otherAuthority: String { directory + "/other-ca.crt" }
    var serverCertificate: String { directory + "/server.crt" }
    var serverKey: String { directory + "/server.key" }

    static let available = FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl")

    init() throws {
        directory = "/tmp/offload-pg-tls-\(getpid())-\(UInt32.random(in: 0..<UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        chmod(directory, 0o755)
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try Self.openssl(["req", "-x509"] + ec + ["-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=Offload test CA"], in: directory)
        try Self.openssl(["req", "-x509"] + ec + ["-keyout", "other-ca.key", "-out", "other-ca.crt", "-days", "2", "-subj", "/CN=Somebody else"], in: directory)
        try Self.openssl(["req"] + ec + ["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"], in: directory)
        try "subjectAltName=DNS:localhost\n".write(toFile: directory + "/san.ext", atomically: true, encoding: .utf8)
        try Self.openssl(
            [
                "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", "server.crt", "-days", "2", "-extfile", "san.ext",
            ],
            in: directory
        )
        // The server refuses a key others can read; as root, the server runs as `postgres` and must own it.
        chmod(serverKey, 0o600)
        chmod(serverCertificate, 0o644)
        if getuid() == 0, let user = getpwnam("postgres") {
            chown(serverKey, user.pointee.pw_uid, user.pointee.pw_gid)
            chown(serverCertificate, user.pointee.pw_uid, user.pointee.pw_gid)
        }
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }

    private static func openssl(_ arguments: [String], in directory: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        if process.terminationStatus != 0 {
            throw WorkerProcessError(text: "openssl \(arguments.joined(separator: " ")) failed: \(text)")
        }
    }
}

extension PostgresTests {
    /// Connections over TLS, against a cluster of its own started with `ssl=on` and a certificate made by the test.
    @Suite("TLS", .enabled(if: TestCertificates.available, "skipped: no /usr/bin/openssl to make a test certificate"))
    struct TLSTests {
        @Test("each sslmode connects as libpq's does: jobs round-trip over TLS, and every session of the queue is encrypted")
        func modes() async throws {
            let certificates = try TestCertificates()
            defer { certificates.remove() }
            let server = try ScratchPostgres(settings: [
                "ssl": "on", "ssl_cert_file": certificates.serverCertificate, "ssl_key_file": certificates.serverKey,
            ])
            defer { server.stop() }
            let check = try await Self.plainConnection(port: server.port)
            defer { Task { try? await check.close() } }
            let base = "postgres://postgres@localhost:\(server.port)/postgres"
            let cases: [(query: String, encrypted: Bool)] = [
                ("sslmode=require", true),
                ("sslmode=prefer", true),
                ("sslmode=verify-ca&sslrootcert=\(certificates.authority)", true),
                ("sslmode=verify-full&sslrootcert=\(certificates.authority)", true),
                ("sslmode=disable", false),
            ]
            for (index, (query, encrypted)) in cases.enumerated() {
                let settings = try PostgresSettings(url: base + "?" + query, schema: "tls_\(index)")
                let queue = try await PostgresQueue(configuration: .init(settings: settings, pollInterval: .milliseconds(200)))
                var configuration = PostgresWorker.Configuration(settings: settings, execution: .threads(workers: 1))
                configuration.handlesTerminationSignals = false
                configuration.pollInterval = .milliseconds(200)
                let worker = try await PostgresWorker(configuration: configuration, registry: TestJobs.registry)
                let running = Task { try await worker.run() }
                #expect(try await queue.run(Square(index + 2)) == (index + 2) * (index + 2), "\(query)")
                // Every session the queue and the worker opened, as the server sees it.
                let sessions = try await Self.int(
                    check,
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'offload-%'"
                )
                // Sessions on the wrong side of TLS, counted in one statement (a session that opens between two
                // counts cannot make them disagree).
                let mismatched = try await Self.int(
                    check,
                    """
                    SELECT count(*) FROM pg_stat_activity a LEFT JOIN pg_stat_ssl s USING (pid)
                    WHERE a.application_name LIKE 'offload-%' AND coalesce(s.ssl, false) <> \(encrypted)
                    """
                )
                #expect(sessions >= 4, "\(query): \(sessions) sessions")
                #expect(mismatched == 0, "\(query): \(mismatched) sessions \(encrypted ? "without" : "with") TLS")
                worker.shutdown()
                try await running.value
                await queue.shutdown()
                try await Self.waitForNoSessions(check)
            }
        }

        @Test("verify-full refuses a certificate no trusted authority signed; require refuses a server without TLS")
        func refusals() async throws {
            let certificates = try TestCertificates()
            defer { certificates.remove() }
            let server = try ScratchPostgres(settings: [
                "ssl": "on", "ssl_cert_file": certificates.serverCertificate, "ssl_key_file": certificates.serverKey,
            ])
            defer { server.stop() }
            for (host, query) in [
                ("localhost", "sslmode=verify-full&sslrootcert=\(certificates.otherAuthority)"),
                ("localhost", "sslmode=verify-ca&sslrootcert=\(certificates.otherAuthority)"),
                ("localhost", "sslmode=require&sslrootcert=\(certificates.otherAuthority)"),
                // The right authority, but the certificate names localhost, not 127.0.0.1.
                ("127.0.0.1", "sslmode=verify-full&sslrootcert=\(certificates.authority)"),
            ] {
                var settings = try PostgresSettings(url: "postgres://postgres@\(host):\(server.port)/postgres?\(query)")
                settings.connectAttempts = 1
                let error = try await #require(throws: OffloadError.self, "\(host) \(query)") {
                    _ = try await PostgresQueue(configuration: .init(settings: settings))
                }
                #expect(error.code == .connectionFailed, "\(query)")
                #expect(error.message.contains("\(host):\(server.port)"), "\(query): \(error.message)")
            }
            // The shared test cluster runs without TLS: require refuses it, prefer falls back to plain TCP.
            let plain = "postgres://postgres@127.0.0.1:\(TestDatabase.server.port)/postgres"
            var required = try PostgresSettings(url: plain + "?sslmode=require", schema: "tls_refused")
            required.connectAttempts = 1
            let refused = try await #require(throws: OffloadError.self) {
                _ = try await PostgresQueue(configuration: .init(settings: required))
            }
            #expect(refused.code == .connectionFailed)
            #expect(refused.message.contains("127.0.0.1:\(TestDatabase.server.port)"), "\(refused.message)")
            let preferred = try await PostgresQueue(
                configuration: .init(settings: try PostgresSettings(url: plain + "?sslmode=prefer", schema: "tls_prefer"))
            )
            #expect(try await preferred.status().workers.isEmpty)
            await preferred.close()
            let cleanup = try await TestEnvironment.connect()
            _ = try await cleanup.query(PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS tls_prefer CASCADE"), logger: TestEnvironment.quiet)
            try await cleanup.close()
        }

        static func plainConnection(port: Int) async throws -> PostgresConnection {
            var configuration = PostgresConnection.Configuration(
                host: "127.0.0.1",
                port: port,
                username: "postgres",
                password: nil,
                database: "postgres",
                tls: .disable
            )
            configuration.options.connectTimeout = .seconds(5)
            return try await PostgresConnection.connect(configuration: configuration, id: 2, logger: TestEnvironment.quiet)
        }

        static func int(_ connection: PostgresConnection, _ text: String) async throws -> Int {
            let rows = try await connection.query(PostgresQuery(unsafeSQL: text), logger: TestEnvironment.quiet)
            for try await value in rows.decode(Int.self) { return value }
            return 0
        }

        /// The previous case's sessions must be gone before the next case counts its own.
        static func waitForNoSessions(_ connection: PostgresConnection) async throws {
            let deadline = ContinuousClock.now + .seconds(20)
            while try await int(connection, "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'offload-%'") > 0 {
                if ContinuousClock.now > deadline {
                    Issue.record("sessions of the previous case are still open after 20 s")
                    return
                }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
    }
}
