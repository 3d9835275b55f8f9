import OffloadCore

/// What the submitting side (``PostgresQueue``) and the working side (``PostgresWorker``) share: the server, the
/// PostgreSQL schema that holds the queue's tables, and how connections are made.
public struct PostgresSettings: Sendable {
    /// The server and the login.
    public var endpoint: PostgresEndpoint
    /// The PostgreSQL schema holding the queue's tables (`offload` by default). Several independent queues can share
    /// a database under different schemas. Lower-case letters, digits and `_`, starting with a letter or `_`, at most
    /// 48 characters.
    public var schema: String
    /// How long one connection attempt (TCP, TLS, login) may take.
    public var connectTimeout: Duration
    /// How many times connecting is tried at start-up before giving up with ``OffloadError/Code/connectionFailed``
    /// (with exponential backoff between attempts). Once running, a lost connection is retried without limit.
    public var connectAttempts: Int
    /// Create or upgrade the schema at start-up (safe when many processes start at once). When `false`, a schema
    /// that is missing or older than the code is an error.
    public var migrateOnStart: Bool

    /// Creates settings.
    /// - Parameters:
    ///   - endpoint: the server and login.
    ///   - schema: the PostgreSQL schema of the queue's tables.
    ///   - connectTimeout: the limit for one connection attempt.
    ///   - connectAttempts: attempts at start-up.
    ///   - migrateOnStart: create or upgrade the schema at start-up.
    public init(
        endpoint: PostgresEndpoint,
        schema: String = "offload",
        connectTimeout: Duration = .seconds(5),
        connectAttempts: Int = 3,
        migrateOnStart: Bool = true
    ) {
        self.endpoint = endpoint
        self.schema = schema
        self.connectTimeout = connectTimeout
        self.connectAttempts = connectAttempts
        self.migrateOnStart = migrateOnStart
    }

    /// Creates settings from a `postgres://` URL (see ``PostgresEndpoint/init(url:)``).
    /// - Parameters:
    ///   - url: the server's URL.
    ///   - schema: the PostgreSQL schema of the queue's tables.
    /// - Throws: ``OffloadError/Code/invalidArgument`` naming what is wrong with the URL.
    public init(url: String, schema: String = "offload") throws(OffloadError) {
        self.init(endpoint: try PostgresEndpoint(url: url), schema: schema)
    }

    /// Checks the values that would otherwise fail later, less clearly.
    func validate() throws(OffloadError) {
        try SQL.validateSchemaName(schema)
        if connectAttempts < 1 {
            throw OffloadError(.invalidArgument, "connectAttempts must be at least 1, got \(connectAttempts)")
        }
        if connectTimeout <= .zero {
            throw OffloadError(.invalidArgument, "connectTimeout must be positive, got \(connectTimeout)")
        }
    }
}
