import OffloadCore
import PostgresNIO

/// Every statement the queue runs, with the schema name filled in. The schema name is checked by
/// ``validateSchemaName(_:)`` before it gets here, so interpolating it cannot inject SQL.
///
/// docs/design/postgres-queue.md explains each statement: why the claim is one `UPDATE … FROM (SELECT … FOR UPDATE
/// SKIP LOCKED)`, why completions are fenced by the attempt, and why notifications are per statement.
struct SQL: Sendable {
    let schema: String
    /// `"schema"."jobs"`.
    let jobs: String
    /// NOTIFY channel: new or re-queued jobs (empty payload) and cancelled running jobs (`cancel:<id>`); workers
    /// listen.
    let jobsChannel: String
    /// NOTIFY channel: finished jobs, payload = comma-separated IDs or `*` (submitters listen).
    let doneChannel: String

    init(schema: String) {
        self.schema = schema
        jobs = "\"\(schema)\".jobs"
        jobsChannel = "\(schema)_jobs"
        doneChannel = "\(schema)_done"
    }

    static func validateSchemaName(_ name: String) throws(OffloadError) {
        let bytes = Array(name.utf8)
        let ok =
            !bytes.isEmpty && bytes.count <= 48
            && bytes.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 }
            && !(bytes[0] >= 48 && bytes[0] <= 57)
        if !ok {
            throw OffloadError(
                .invalidArgument,
                "schema name '\(name)' must be 1 to 48 lower-case letters, digits or '_', not starting with a digit"
            )
        }
    }

    static let finalStates = "('completed','failed','cancelled')"

    // MARK: - Submitting

    /// Batched insert of plain jobs; IDs come back in input order when sorted ascending (one sequence, rows
    /// inserted in `ord` order).
    var insertBatch: String {
        """
        INSERT INTO \(jobs) (queue, job_name, payload, priority, run_at, max_attempts, timeout_ms, trace_context)
        SELECT q, n, p, pr, now() + d * interval '1 millisecond', m, NULLIF(t, -1), NULLIF(tc, ''::bytea)
        FROM unnest($1::text[], $2::text[], $3::bytea[], $4::int[], $5::bigint[], $6::int[], $7::bigint[],
                $8::bytea[])
            WITH ORDINALITY AS u(q, n, p, pr, d, m, t, tc, ord)
        ORDER BY ord
        RETURNING id
        """
    }

    /// Batched insert of jobs of one type with one set of options: the payloads are the only array (measured: see
    /// "Submitting" in docs/design/postgres-queue.md). IDs in input order when sorted ascending, as for
    /// ``insertBatch``.
    var insertUniform: String {
        """
        INSERT INTO \(jobs) (queue, job_name, payload, priority, run_at, max_attempts, timeout_ms, trace_context)
        SELECT $1, $2, p, $3, now() + $4 * interval '1 millisecond', $5, NULLIF($6, -1), NULLIF($8::bytea, ''::bytea)
        FROM unnest($7::bytea[]) WITH ORDINALITY AS u(p, ord)
        ORDER BY ord
        RETURNING id
        """
    }

    /// Insert of one job with a uniqueness key: returns `(id, inserted)`; no row when a concurrent insert of the same
    /// key committed after this statement's snapshot (the caller runs it again).
    var insertUnique: String {
        """
        WITH ins AS (
            INSERT INTO \(jobs) (queue, job_name, payload, priority, run_at, max_attempts, timeout_ms, unique_key,
                trace_context)
            VALUES ($1, $2, $3, $4, now() + $5 * interval '1 millisecond', $6, NULLIF($7, -1), $8,
                NULLIF($9::bytea, ''::bytea))
            ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL AND state IN ('available', 'running') DO NOTHING
            RETURNING id)
        SELECT id, true FROM ins
        UNION ALL
        SELECT id, false FROM \(jobs) WHERE unique_key = $8 AND state IN ('available', 'running')
        LIMIT 1
        """
    }

    /// Final rows among the given IDs.
    var fetchFinished: String {
        """
        SELECT id, state, output, error_code, error_type, error_message, error_signal, error_exit_status,
            error_stderr, job_name
        FROM \(jobs) WHERE id = ANY($1) AND state IN \(Self.finalStates)
        """
    }

    var jobExists: String { "SELECT state FROM \(jobs) WHERE id = $1" }

    /// Cancels one unfinished job; returns its previous state. A running job's worker is told on the cancel channel.
    var cancel: String {
        """
        WITH old AS (SELECT id, state FROM \(jobs) WHERE id = $1 FOR UPDATE),
        c AS (
            UPDATE \(jobs) j SET state = 'cancelled', finished_at = now(), lease_until = NULL,
                error_code = NULL, error_message = 'cancelled'
            FROM old WHERE j.id = old.id AND old.state IN ('available', 'running')
            RETURNING j.id)
        SELECT old.state, CASE WHEN old.state = 'running' AND EXISTS (SELECT 1 FROM c)
            THEN pg_notify('\(jobsChannel)', 'cancel:' || old.id::text) END IS NOT NULL
        FROM old
        """
    }

    // MARK: - Working

    /// Claims up to `$3` jobs of queue `$1` whose type is in `$2`, in one statement. One queue per statement, as a
    /// plain `=`: with `queue = ANY($1)` the planner cannot take the claim order from the `jobs_available` index and
    /// sorts every available row (measured: 52 ms instead of 0.8 ms per claim with 100,000 rows waiting).
    func claim(limitExpression: String = "$3", rescue: Bool) -> String {
        let rescueCTE =
            rescue
            ? """
            rescued AS (
                UPDATE \(jobs) SET
                    state = CASE WHEN attempt >= max_attempts THEN 'failed' ELSE 'available' END,
                    finished_at = CASE WHEN attempt >= max_attempts THEN now() END,
                    finished_attempt = CASE WHEN attempt >= max_attempts THEN attempt END,
                    lease_until = NULL, run_at = now(),
                    error_code = 'workerCrashed', error_type = NULL, error_signal = NULL, error_exit_status = NULL,
                    error_stderr = NULL,
                    error_message = 'the worker ' || coalesce(worker_id, '?')
                        || ' stopped renewing its lease on this job (it died, stalled or lost its database connection)'
                WHERE state = 'running' AND lease_until < now()
                RETURNING id, queue),

            """ : ""
        // Rows with ID 0 (IDs start at 1) count the jobs rescued, by queue: the lost leases (attempt = count).
        let rescueSummary =
            rescue
            ? """

            UNION ALL
            SELECT 0, '', ''::bytea, count(*)::int, 0, 0::bigint, queue, NULL::bytea FROM rescued GROUP BY queue
            """ : ""
        return """
            WITH \(rescueCTE)picked AS (
                SELECT id FROM \(jobs)
                WHERE state = 'available' AND queue = $1 AND job_name = ANY($2) AND run_at <= now()
                ORDER BY priority DESC, run_at, id
                LIMIT \(limitExpression)
                FOR UPDATE SKIP LOCKED),
            claimed AS (
                UPDATE \(jobs) j SET state = 'running', attempt = j.attempt + 1, worker_id = $4,
                    lease_until = now() + $5 * interval '1 millisecond', attempted_at = now()
                FROM picked WHERE j.id = picked.id
                RETURNING j.id, j.job_name, j.payload, j.attempt, j.max_attempts, coalesce(j.timeout_ms, -1) AS t,
                    j.queue, j.trace_context)
            SELECT * FROM claimed\(rescueSummary)
            """
    }

    /// Re-queues (or, after the last attempt, fails) running jobs whose lease expired: their worker died, stalled or
    /// lost its connection.
    var rescue: String {
        """
        UPDATE \(jobs) SET
            state = CASE WHEN attempt >= max_attempts THEN 'failed' ELSE 'available' END,
            finished_at = CASE WHEN attempt >= max_attempts THEN now() END,
                    finished_attempt = CASE WHEN attempt >= max_attempts THEN attempt END,
            lease_until = NULL, run_at = now(),
            error_code = 'workerCrashed', error_type = NULL, error_signal = NULL, error_exit_status = NULL,
            error_stderr = NULL,
            error_message = 'the worker ' || coalesce(worker_id, '?')
                || ' stopped renewing its lease on this job (it died, stalled or lost its database connection)'
        WHERE state = 'running' AND lease_until < now()
        RETURNING queue
        """
    }

    /// The claim of a queue with a concurrency limit, run in a transaction after ``queueLock``: never more running
    /// jobs in the queue, across all workers, than its limit.
    var claimLimited: String {
        claim(
            limitExpression: """
                LEAST($3, GREATEST(0,
                    (SELECT concurrency_limit FROM "\(schema)".queues WHERE name = $1)
                    - (SELECT count(*) FROM \(jobs) WHERE queue = $1 AND state = 'running')))
                """,
            rescue: false
        )
    }

    var queueLock: String { "SELECT pg_advisory_xact_lock(hashtext('\(schema)'), hashtext($1))" }

    var queueLimits: String {
        "SELECT name, concurrency_limit FROM \"\(schema)\".queues WHERE name = ANY($1) AND concurrency_limit IS NOT NULL"
    }

    var setQueueLimit: String {
        """
        INSERT INTO "\(schema)".queues (name, concurrency_limit) VALUES ($1, NULLIF($2, -1))
        ON CONFLICT (name) DO UPDATE SET concurrency_limit = EXCLUDED.concurrency_limit
        """
    }

    /// Records completions, retries and final failures in one statement, fenced by the attempt: a row whose attempt
    /// or holder changed (rescued, cancelled, claimed again) is not touched and not returned.
    var complete: String {
        """
        UPDATE \(jobs) j SET
            state = u.state,
            output = CASE WHEN u.state = 'completed' THEN u.output END,
            error_code = NULLIF(u.code, ''), error_type = NULLIF(u.etype, ''), error_message = NULLIF(u.msg, ''),
            error_signal = NULLIF(u.sig, -1), error_exit_status = NULLIF(u.exit, -1),
            error_stderr = NULLIF(u.stderr, ''),
            run_at = CASE WHEN u.state = 'available' THEN now() + u.delay * interval '1 millisecond' ELSE j.run_at END,
            lease_until = NULL,
            finished_at = CASE WHEN u.state IN ('completed', 'failed') THEN now() END,
            finished_attempt = u.attempt
        FROM unnest($1::bigint[], $2::int[], $3::text[], $4::bytea[], $5::text[], $6::text[], $7::text[],
                $8::int[], $9::int[], $10::text[], $11::bigint[])
            AS u(id, attempt, state, output, code, etype, msg, sig, exit, stderr, delay)
        WHERE j.id = u.id AND j.attempt = u.attempt AND j.state = 'running' AND j.worker_id = $12
        RETURNING j.id
        """
    }

    /// ``complete`` for a batch of successes only (the common case): three arrays instead of eleven to encode and
    /// parse, the same fence and the same result.
    var completeSuccesses: String {
        """
        UPDATE \(jobs) j SET
            state = 'completed', output = u.output,
            error_code = NULL, error_type = NULL, error_message = NULL, error_signal = NULL, error_exit_status = NULL,
            error_stderr = NULL, lease_until = NULL, finished_at = now(), finished_attempt = u.attempt
        FROM unnest($1::bigint[], $2::int[], $3::bytea[]) AS u(id, attempt, output)
        WHERE j.id = u.id AND j.attempt = u.attempt AND j.state = 'running' AND j.worker_id = $4
        RETURNING j.id
        """
    }

    /// Hands unfinished jobs back at shutdown; the attempt does not count (its result was never recorded).
    var release: String {
        """
        UPDATE \(jobs) j SET state = 'available', attempt = j.attempt - 1, lease_until = NULL, run_at = now()
        FROM unnest($1::bigint[], $2::int[]) AS u(id, attempt)
        WHERE j.id = u.id AND j.attempt = u.attempt AND j.state = 'running' AND j.worker_id = $3
        RETURNING j.id
        """
    }

    /// Renews the leases of the listed jobs and the worker's own heartbeat; returns the jobs still held.
    var heartbeat: String {
        """
        WITH w AS (
            INSERT INTO "\(schema)".workers (id, host, pid, queues, job_names) VALUES ($3, $4, $5, $6, $7)
            ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()
            RETURNING 1)
        UPDATE \(jobs) j SET lease_until = now() + $2 * interval '1 millisecond'
        FROM unnest($1::bigint[], $8::int[]) AS u(id, attempt)
        WHERE j.id = u.id AND j.attempt = u.attempt AND j.state = 'running' AND j.worker_id = $3
            AND EXISTS (SELECT 1 FROM w)
        RETURNING j.id
        """
    }

    // MARK: - Retention

    /// Claims this interval's cleanup for the calling worker: returns a row only if no worker ran it within the last
    /// `$1` milliseconds. The row lock of the upsert makes concurrent claimers take turns, and the second sees the
    /// first one's `last_run`: at most one cleanup per interval across all workers.
    var claimCleanup: String {
        """
        INSERT INTO "\(schema)".maintenance AS m (task, last_run) VALUES ('cleanup', now())
        ON CONFLICT (task) DO UPDATE SET last_run = now(), runs = m.runs + 1
            WHERE m.last_run <= now() - $1 * interval '1 millisecond'
        RETURNING m.runs
        """
    }

    /// Deletes up to `$2` finished rows that finished more than `$1` milliseconds ago (oldest first, through the
    /// `jobs_finished` index); returns how many.
    var deleteFinished: String {
        """
        WITH old AS (
            SELECT id FROM \(jobs)
            WHERE state IN \(Self.finalStates) AND finished_at < now() - $1 * interval '1 millisecond'
            ORDER BY finished_at
            LIMIT $2
            FOR UPDATE SKIP LOCKED),
        gone AS (DELETE FROM \(jobs) j USING old WHERE j.id = old.id RETURNING 1)
        SELECT count(*)::int8 FROM gone
        """
    }

    /// Unfinished jobs by queue and state, for the queues in `$1` (the observer's queue depth).
    var queueDepth: String {
        """
        SELECT queue, state, count(*)::int8 FROM \(jobs)
        WHERE state IN ('available', 'running') AND queue = ANY($1)
        GROUP BY queue, state
        """
    }

    var deleteWorker: String { "DELETE FROM \"\(schema)\".workers WHERE id = $1" }
}
