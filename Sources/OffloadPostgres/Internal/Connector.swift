import Synchronization
import OffloadCore
import PostgresNIO

/// Opens connections: bounded attempts, a timeout per attempt, and errors that name the server and the cause.
enum Connector {
    /// A logger that stays quiet unless something is badly wrong (postgres-nio logs every query at debug level).
    static let logger: Logger = {
        var logger = Logger(label: "offload.postgres")
        logger.logLevel = .critical
        return logger
    }()

    /// Connects, trying `attempts` times with exponential backoff (100 ms, 200 ms, ...).
    static func connect(
        _ settings: PostgresSettings,
        purpose: String,
        attempts: Int? = nil
    ) async throws(OffloadError) -> PostgresConnection {
        let attempts = max(1, attempts ?? settings.connectAttempts)
        var lastError = OffloadError.connectionFailed(host: settings.endpoint.serverDescription, cause: "no attempt")
        for attempt in 0..<attempts {
            if attempt > 0 {
                let delay = Duration.milliseconds(100 << min(attempt - 1, 4))
                do { try await Task.sleep(for: delay) } catch { throw lastError }
            }
            do {
                return try await connectOnce(settings, purpose: purpose)
            } catch {
                lastError = error
                if error.code != .connectionFailed { throw error }
            }
        }
        throw lastError
    }

    static func connectOnce(_ settings: PostgresSettings, purpose: String) async throws(OffloadError) -> PostgresConnection {
        let endpoint = settings.endpoint
        var configuration: PostgresConnection.Configuration
        if let directory = endpoint.unixSocketDirectory {
            configuration = PostgresConnection.Configuration(
                unixSocketPath: "\(directory)/.s.PGSQL.\(endpoint.port)",
                username: endpoint.username,
                password: endpoint.password,
                database: endpoint.database
            )
        } else {
            let tls: PostgresConnection.Configuration.TLS
            do {
                tls = try tlsConfiguration(endpoint)
            } catch {
                throw OffloadError.connectionFailed(host: endpoint.serverDescription, cause: "TLS set-up failed: \(error)")
            }
            configuration = PostgresConnection.Configuration(
                host: endpoint.host,
                port: endpoint.port,
                username: endpoint.username,
                password: endpoint.password,
                database: endpoint.database,
                tls: tls
            )
        }
        let (seconds, attoseconds) = settings.connectTimeout.components
        let timeoutMilliseconds = seconds * 1_000 + attoseconds / 1_000_000_000_000_000
        configuration.options.connectTimeout = .milliseconds(max(1, timeoutMilliseconds))
        // Custom plans: a generic plan for the batched statements costs a third of the throughput (measured).
        configuration.options.additionalStartupParameters = [
            ("plan_cache_mode", "force_custom_plan"),
            ("application_name", "offload-\(purpose)"),
        ]
        let connectionID = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        let finalConfiguration = configuration
        do {
            return try await withThrowingTaskGroup(of: PostgresConnection?.self) { group in
                group.addTask {
                    try await PostgresConnection.connect(configuration: finalConfiguration, id: connectionID, logger: logger)
                }
                group.addTask {
                    // The login itself (after TCP connected) must not hang either.
                    try await Task.sleep(for: settings.connectTimeout + .seconds(1))
                    return nil
                }
                let first: Result<PostgresConnection?, any Error>
                do {
                    first = .success(try await group.next() ?? nil)
                } catch {
                    // The caller was cancelled (the timer threw first) or the attempt failed.
                    first = .failure(error)
                }
                group.cancelAll()
                if case .success(let connection?) = first { return connection }
                // No connection yet: the attempt may still produce one after its cancellation, and a connection
                // dropped unclosed is a leak (and postgres-nio's assertion). Close whatever arrives.
                while !group.isEmpty {
                    let late: PostgresConnection?? = try? await group.next()
                    if let late, let connection = late { try? await connection.close() }
                }
                if case .failure(let error) = first { throw error }
                throw OffloadError.connectionFailed(
                    host: endpoint.serverDescription,
                    cause: "no answer within \(settings.connectTimeout)"
                )
            }
        } catch let error as OffloadError {
            throw error
        } catch {
            throw OffloadError.connectionFailed(host: endpoint.serverDescription, cause: describe(error))
        }
    }

    /// libpq's `sslmode` in postgres-nio's terms: `prefer` and `require` encrypt without checking the certificate
    /// (`require` checks the chain when a root certificate file is given, as libpq does), `verify-ca` checks the chain,
    /// `verify-full` the chain and the host name.
    static func tlsConfiguration(_ endpoint: PostgresEndpoint) throws -> PostgresConnection.Configuration.TLS {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let path = endpoint.rootCertificatePath { configuration.trustRoots = .file(path) }
        switch endpoint.tls {
        case .disable:
            return .disable
        case .prefer:
            configuration.certificateVerification = .none
            return .prefer(try NIOSSLContext(configuration: configuration))
        case .require:
            configuration.certificateVerification = endpoint.rootCertificatePath == nil ? .none : .noHostnameVerification
            return .require(try NIOSSLContext(configuration: configuration))
        case .verifyCA:
            configuration.certificateVerification = .noHostnameVerification
            return .require(try NIOSSLContext(configuration: configuration))
        case .verifyFull:
            configuration.certificateVerification = .fullVerification
            return .require(try NIOSSLContext(configuration: configuration))
        }
    }

    /// A short description of a postgres-nio or NIO error: the server's message when there is one.
    static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] {
                let state = error.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
                return message + state
            }
            if let underlying = error.underlying { return "\(error.code): \(underlying)" }
            return "\(error.code)"
        }
        return "\(error)"
    }

    /// Whether `error` means the connection is unusable (closed, reset, server shutting down) rather than that one
    /// statement failed.
    static func isConnectionLoss(_ error: any Error, connection: PostgresConnection) -> Bool {
        if connection.isClosed { return true }
        guard let error = error as? PSQLError else { return !(error is CancellationError) }
        switch error.code {
        case .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .connectionError,
            .messageDecodingFailure, .unexpectedBackendMessage:
            return true
        default:
            break
        }
        guard let state = error.serverInfo?[.sqlState] else { return false }
        // Class 08: connection exception; 57P: operator intervention (terminate, shutdown, crash).
        return state.hasPrefix("08") || state.hasPrefix("57P")
    }

    private static let nextID = Atomic<Int>(1)
}

extension ManagedConnection {
    /// Runs `body`, but fails as soon as the connection closes: a statement written to a connection that is closing
    /// can otherwise wait forever for a reply that will never come.
    static func guarded<T: Sendable>(
        _ connection: PostgresConnection,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let outcome = ResumeOnce<T>()
        let work = Task { outcome.resume(await Result { try await body(connection) }) }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                outcome.attach(continuation)
                connection.closeFuture.whenComplete { _ in
                    outcome.resume(.failure(OffloadError(.connectionFailed, "the connection closed during the statement")))
                }
            }
        } onCancel: {
            work.cancel()
            outcome.resume(.failure(CancellationError()))
        }
    }
}

extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}

/// A continuation resumed by whichever outcome comes first; later ones are ignored.
final class ResumeOnce<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var early: Result<T, any Error>?
        var done = false
    }

    private let state = Mutex(State())

    func attach(_ continuation: CheckedContinuation<T, any Error>) {
        let ready = state.withLock(self) { state -> Result<T, any Error>? in
            if let early = state.early {
                state.early = nil
                return early
            }
            state.continuation = continuation
            return nil
        }
        if let ready { continuation.resume(with: ready) }
    }

    func resume(_ result: Result<T, any Error>) {
        let continuation = state.withLock(self) { state -> CheckedContinuation<T, any Error>? in
            guard !state.done else { return nil }
            state.done = true
            if let continuation = state.continuation {
                state.continuation = nil
                return continuation
            }
            state.early = result
            return nil
        }
        continuation?.resume(with: result)
    }
}

/// A connection that is reopened when it breaks: `get()` returns the live connection or opens a new one (retrying
/// with backoff up to a second), `invalidate(_:)` drops a broken one.
actor ManagedConnection {
    private let settings: PostgresSettings
    private let purpose: String
    private var connection: PostgresConnection?
    private var closed = false
    /// How many connections were opened after the first (reconnects), for tests and status.
    private(set) var reconnects = 0
    private var opened = 0

    init(settings: PostgresSettings, purpose: String, initial: PostgresConnection? = nil) {
        self.settings = settings
        self.purpose = purpose
        self.connection = initial
        if initial != nil { opened = 1 }
    }

    /// The live connection, reconnecting (one attempt) if needed.
    func get() async throws(OffloadError) -> PostgresConnection {
        if closed { throw OffloadError(.poolShutDown, "the PostgreSQL connection for \(purpose) was closed") }
        if let connection, !connection.isClosed { return connection }
        connection = nil
        let fresh = try await Connector.connectOnce(settings, purpose: purpose)
        if closed {
            try? await fresh.close()
            throw OffloadError(.poolShutDown, "the PostgreSQL connection for \(purpose) was closed")
        }
        // Another caller may have reconnected while this one awaited (actor reentrancy): keep one connection, and
        // close the other (postgres-nio asserts that every connection is closed before it is released).
        if let current = connection, !current.isClosed {
            try? await fresh.close()
            return current
        }
        opened += 1
        if opened > 1 { reconnects += 1 }
        connection = fresh
        return fresh
    }

    /// Drops `broken` if it is still the current connection.
    func invalidate(_ broken: PostgresConnection) {
        guard connection === broken else { return }
        connection = nil
        Task { try? await broken.close() }
    }

    /// Closes the connection for good.
    func close() async {
        closed = true
        if let connection {
            self.connection = nil
            try? await connection.close()
        }
    }

    /// Runs `body` on the live connection; if it fails because the connection broke, drops the connection (the next
    /// call reconnects) and rethrows.
    nonisolated func run<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let connection = try await get()
        do {
            return try await Self.guarded(connection, body)
        } catch {
            if Connector.isConnectionLoss(error, connection: connection) { await invalidate(connection) }
            throw error
        }
    }
}
