import OffloadCore
import PostgresNIO

/// Creates and upgrades the tables of a queue: versioned, idempotent migrations, safe when many processes run them at
/// once (they take a PostgreSQL advisory lock, so one applies and the others find the work done).
///
/// ``PostgresQueue`` and ``PostgresWorker`` migrate at start-up unless ``PostgresSettings/migrateOnStart`` is
/// `false`; `offload-postgres migrate --postgres URL` does it from a deploy script. A database whose schema is newer
/// than this code is never touched: everything refuses with ``OffloadError/Code/schemaTooNew``.
public enum PostgresSchema {
    /// The schema version this code creates and understands.
    public static let currentVersion = migrations.count

    /// Brings the schema up to ``currentVersion``.
    /// - Parameter settings: the server and the schema name.
    /// - Returns: the version found before migrating (0: the schema did not exist).
    /// - Throws: ``OffloadError/Code/connectionFailed``, ``OffloadError/Code/schemaTooNew``, or
    ///   ``OffloadError/Code/invalidArgument`` for a bad schema name.
    @discardableResult
    public static func migrate(_ settings: PostgresSettings) async throws(OffloadError) -> Int {
        try settings.validate()
        let connection = try await Connector.connect(settings, purpose: "migrate")
        defer { Task { try? await connection.close() } }
        return try await migrate(on: connection, schema: settings.schema, server: settings.endpoint.serverDescription)
    }

    /// The schema's version: 0 if it does not exist.
    /// - Parameter settings: the server and the schema name.
    /// - Returns: the highest migration applied.
    /// - Throws: ``OffloadError/Code/connectionFailed``.
    public static func version(_ settings: PostgresSettings) async throws(OffloadError) -> Int {
        try settings.validate()
        let connection = try await Connector.connect(settings, purpose: "status")
        defer { Task { try? await connection.close() } }
        return try await version(on: connection, schema: settings.schema, server: settings.endpoint.serverDescription)
    }

    static func migrate(on connection: PostgresConnection, schema: String, server: String) async throws(OffloadError)
        -> Int
    {
        try SQL.validateSchemaName(schema)
        do {
            // Session-level lock: concurrent migrators queue here; each one re-reads the version after getting it.
            try await connection.query(
                PostgresQuery(
                    unsafeSQL: "SELECT pg_advisory_lock(hashtext('offload-migrate'), hashtext($1))",
                    binds: binds(schema)
                ),
                logger: Connector.logger
            )
        } catch {
            throw statementFailed("taking the migration lock", error, server: server)
        }
        do {
            let found = try await version(on: connection, schema: schema, server: server)
            if found > currentVersion {
                throw OffloadError.schemaTooNew(schema: schema, found: found, supported: currentVersion)
            }
            for version in (found + 1)...max(found + 1, currentVersion) where version <= currentVersion {
                let statements = migrations[version - 1](schema)
                do {
                    try await connection.query("BEGIN", logger: Connector.logger)
                    if version == 1 {
                        try await connection.query(
                            PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \"\(schema)\""),
                            logger: Connector.logger
                        )
                        try await connection.query(
                            PostgresQuery(
                                unsafeSQL: """
                                    CREATE TABLE IF NOT EXISTS "\(schema)".migrations (
                                        version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())
                                    """
                            ),
                            logger: Connector.logger
                        )
                    }
                    for statement in statements {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: Connector.logger)
                    }
                    try await connection.query(
                        PostgresQuery(
                            unsafeSQL: "INSERT INTO \"\(schema)\".migrations (version) VALUES ($1)",
                            binds: binds(Int32(version))
                        ),
                        logger: Connector.logger
                    )
                    try await connection.query("COMMIT", logger: Connector.logger)
                } catch {
                    _ = try? await connection.query("ROLLBACK", logger: Connector.logger)
                    throw statementFailed("applying migration \(version) to schema '\(schema)'", error, server: server)
                }
            }
            await unlock(connection, schema)
            return found
        } catch let error as OffloadError {
            await unlock(connection, schema)
            throw error
        } catch {
            await unlock(connection, schema)
            throw statementFailed("migrating schema '\(schema)'", error, server: server)
        }
    }

    static func version(on connection: PostgresConnection, schema: String, server: String) async throws(OffloadError)
        -> Int
    {
        do {
            let exists = try await connection.query(
                PostgresQuery(unsafeSQL: "SELECT to_regclass($1) IS NOT NULL", binds: binds("\"\(schema)\".migrations")),
                logger: Connector.logger
            )
            var found = false
            for try await flag in exists.decode(Bool.self) { found = flag }
            guard found else { return 0 }
            let rows = try await connection.query(
                PostgresQuery(unsafeSQL: "SELECT coalesce(max(version), 0)::int8 FROM \"\(schema)\".migrations"),
                logger: Connector.logger
            )
            for try await version in rows.decode(Int.self) { return version }
            return 0
        } catch {
            throw statementFailed("reading the version of schema '\(schema)'", error, server: server)
        }
    }

    /// Fails unless the schema is exactly at ``currentVersion``.
    static func requireCurrent(on connection: PostgresConnection, schema: String, server: String) async throws(
        OffloadError
    ) {
        let found = try await version(on: connection, schema: schema, server: server)
        if found > currentVersion {
            throw OffloadError.schemaTooNew(schema: schema, found: found, supported: currentVersion)
        }
        if found < currentVersion {
            throw OffloadError(
                .invalidArgument,
                "schema '\(schema)' is at version \(found), this code needs \(currentVersion): run "
                    + "`offload-postgres migrate` or PostgresSchema.migrate(_:), or set migrateOnStart"
            )
        }
    }

    private static func unlock(_ connection: PostgresConnection, _ schema: String) async {
        _ = try? await connection.query(
            PostgresQuery(
                unsafeSQL: "SELECT pg_advisory_unlock(hashtext('offload-migrate'), hashtext($1))",
                binds: binds(schema)
            ),
            logger: Connector.logger
        )
    }

    static func statementFailed(_ what: String, _ error: any Error, server: String) -> OffloadError {
        if let error = error as? OffloadError { return error }
        return OffloadError(.connectionFailed, "\(what) on \(server) failed: \(Connector.describe(error))")
    }

    /// Each migration: the statements that take the schema from version `n - 1` to `n`. Never edit a shipped one;
    /// append.
    static let migrations: [@Sendable (String) -> [String]] = [
        { schema in
            let s = "\"\(schema)\""
            return [
                """
                CREATE TABLE \(s).jobs (
                    id bigserial PRIMARY KEY,
                    queue text NOT NULL,
                    job_name text NOT NULL,
                    payload bytea NOT NULL,
                    state text NOT NULL DEFAULT 'available'
                        CHECK (state IN ('available', 'running', 'completed', 'failed', 'cancelled')),
                    priority int NOT NULL DEFAULT 0,
                    run_at timestamptz NOT NULL DEFAULT now(),
                    attempt int NOT NULL DEFAULT 0,
                    max_attempts int NOT NULL DEFAULT 1 CHECK (max_attempts >= 1),
                    timeout_ms bigint,
                    unique_key text,
                    worker_id text,
                    lease_until timestamptz,
                    output bytea,
                    error_code text,
                    error_type text,
                    error_message text,
                    error_signal int,
                    error_exit_status int,
                    error_stderr text,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    attempted_at timestamptz,
                    finished_at timestamptz,
                    finished_attempt int,
                    CHECK (attempt >= 0 AND attempt <= max_attempts)
                )
                """,
                "CREATE INDEX jobs_available ON \(s).jobs (queue, priority DESC, run_at, id) WHERE state = 'available'",
                "CREATE INDEX jobs_running ON \(s).jobs (lease_until) WHERE state = 'running'",
                """
                CREATE UNIQUE INDEX jobs_unique_key ON \(s).jobs (unique_key)
                WHERE unique_key IS NOT NULL AND state IN ('available', 'running')
                """,
                """
                CREATE TABLE \(s).queues (
                    name text PRIMARY KEY,
                    concurrency_limit int CHECK (concurrency_limit >= 1))
                """,
                """
                CREATE TABLE \(s).workers (
                    id text PRIMARY KEY,
                    host text NOT NULL,
                    pid int NOT NULL,
                    queues text[] NOT NULL,
                    job_names text[] NOT NULL,
                    started_at timestamptz NOT NULL DEFAULT now(),
                    heartbeat_at timestamptz NOT NULL DEFAULT now())
                """,
                // One notification per statement, never per row: per-row NOTIFY serialises concurrent commits.
                """
                CREATE FUNCTION \(s).notify_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    PERFORM pg_notify('\(schema)_jobs', '');
                    RETURN NULL;
                END $$
                """,
                """
                CREATE TRIGGER jobs_inserted AFTER INSERT ON \(s).jobs
                FOR EACH STATEMENT EXECUTE FUNCTION \(s).notify_inserted()
                """,
                """
                CREATE FUNCTION \(s).notify_updated() RETURNS trigger LANGUAGE plpgsql AS $$
                DECLARE
                    ids text;
                BEGIN
                    SELECT string_agg(id::text, ',') INTO ids FROM new_rows
                    WHERE state IN ('completed', 'failed', 'cancelled');
                    IF ids IS NOT NULL THEN
                        IF length(ids) > 7900 THEN ids := '*'; END IF;
                        PERFORM pg_notify('\(schema)_done', ids);
                    END IF;
                    IF EXISTS (SELECT 1 FROM new_rows WHERE state = 'available') THEN
                        PERFORM pg_notify('\(schema)_jobs', '');
                    END IF;
                    RETURN NULL;
                END $$
                """,
                """
                CREATE TRIGGER jobs_updated AFTER UPDATE ON \(s).jobs REFERENCING NEW TABLE AS new_rows
                FOR EACH STATEMENT EXECUTE FUNCTION \(s).notify_updated()
                """,
            ]
        },
        // Retention: finished rows are found by age through a partial index (unfinished rows never enter it), and
        // one row per maintenance task records when any worker last ran it.
        { schema in
            let s = "\"\(schema)\""
            return [
                """
                CREATE INDEX jobs_finished ON \(s).jobs (finished_at)
                WHERE state IN ('completed', 'failed', 'cancelled')
                """,
                """
                CREATE TABLE \(s).maintenance (
                    task text PRIMARY KEY,
                    last_run timestamptz NOT NULL,
                    runs bigint NOT NULL DEFAULT 1)
                """,
            ]
        },
        // Version 3. Trace context: the submitting span's context (a `JobCodec`-encoded `[String: String]`, for
        // example W3C `traceparent`) travels in the row to the worker, which runs the job in a child span.
        // Results in the notification: a completed job's output of at most 200 bytes rides in the `<schema>_done`
        // payload as `id:hex`, so a submitter resumes its handle without reading the row back (one statement and
        // one round trip fewer per result); other finished IDs are sent bare and fetched as before. One pass over the
        // transition table builds the entries (and finds re-queued rows); a payload longer than 7,900 bytes is cut at
        // commas into several notifications, never replaced by `*`.
        { schema in
            let s = "\"\(schema)\""
            return [
                "ALTER TABLE \(s).jobs ADD COLUMN IF NOT EXISTS trace_context bytea",
                """
                CREATE OR REPLACE FUNCTION \(s).notify_updated() RETURNS trigger LANGUAGE plpgsql AS $$
                DECLARE
                    entries text;
                    requeued boolean;
                    cut int;
                BEGIN
                    SELECT string_agg(CASE WHEN state = 'completed' AND octet_length(output) <= 200
                            THEN id::text || ':' || encode(output, 'hex') ELSE id::text END, ',')
                            FILTER (WHERE state IN ('completed', 'failed', 'cancelled')),
                        bool_or(state = 'available')
                        INTO entries, requeued
                    FROM new_rows;
                    -- Longer than one payload (8,000 bytes): cut at the last comma within 7,900 bytes, repeatedly
                    -- (entries are ASCII and at most 420 bytes, so there always is one).
                    WHILE length(entries) > 7900 LOOP
                        cut := 7902 - strpos(reverse(left(entries, 7901)), ',');
                        IF cut > 7901 THEN
                            entries := '*';
                            EXIT;
                        END IF;
                        PERFORM pg_notify('\(schema)_done', left(entries, cut - 1));
                        entries := substr(entries, cut + 1);
                    END LOOP;
                    IF entries IS NOT NULL THEN
                        PERFORM pg_notify('\(schema)_done', entries);
                    END IF;
                    IF requeued THEN
                        PERFORM pg_notify('\(schema)_jobs', '');
                    END IF;
                    RETURN NULL;
                END $$
                """,
            ]
        },
    ]
}

/// Bindings from values (postgres-nio's `PostgresBindings` built in one expression).
func binds(_ values: any PostgresEncodable & Sendable...) -> PostgresBindings {
    var bindings = PostgresBindings(capacity: values.count)
    for value in values { appendBind(value, to: &bindings) }
    return bindings
}

private func appendBind<T: PostgresEncodable>(_ value: T, to bindings: inout PostgresBindings) {
    // Encoding of the types used here (integers, text, bytea and their arrays) cannot fail.
    try? bindings.append(value)
}
