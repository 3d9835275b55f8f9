import OffloadCore
import PostgresNIO

/// What a queue's tables say right now: jobs by state and queue, the oldest waiting job, live workers, and job types
/// no live worker can run. `offload-postgres status` prints it.
public struct PostgresQueueStatus: Sendable {
    /// The jobs of one queue, by state.
    public struct Queue: Sendable, Hashable {
        /// The queue's name.
        public var name: String
        /// Due and waiting for a worker.
        public var available: Int
        /// Waiting for their run-at time (delayed, or backing off before a retry).
        public var scheduled: Int
        /// Claimed by a worker.
        public var running: Int
        /// Finished with an output.
        public var completed: Int
        /// Finished with an error, all attempts used.
        public var failed: Int
        /// Cancelled.
        public var cancelled: Int
        /// How long the oldest due job has been waiting; `nil` when none is.
        public var oldestAvailableAge: Duration?
        /// The queue's concurrency limit across all workers, if it has one.
        public var concurrencyLimit: Int?
    }

    /// A worker that registered itself.
    public struct Worker: Sendable, Hashable {
        /// Its name (`host:pid:random` unless configured).
        public var name: String
        /// The host it runs on.
        public var host: String
        /// Its process ID on that host.
        public var pid: Int
        /// The queues it serves.
        public var queues: [String]
        /// The job types its registry knows.
        public var jobNames: [String]
        /// Jobs in the `running` state under its name (after it dies, until they are rescued).
        public var runningJobs: Int
        /// Time since its last heartbeat.
        public var lastHeartbeatAge: Duration
        /// Whether the heartbeat is recent (within the `liveWithin` passed to the query).
        public var isLive: Bool
    }

    /// Every queue that has jobs.
    public var queues: [Queue]
    /// Every registered worker, live or not.
    public var workers: [Worker]
    /// Due jobs that no live worker can run (their type is in no live worker's registry, or no live worker serves
    /// their queue), by job name: they stay queued until such a worker starts.
    public var unclaimable: [String: Int]
    /// The schema version.
    public var schemaVersion: Int

    /// Reads the status.
    /// - Parameters:
    ///   - settings: the server and schema.
    ///   - liveWithin: a worker whose last heartbeat is older counts as not live.
    /// - Returns: the status.
    /// - Throws: ``OffloadError/Code/connectionFailed``, or ``OffloadError/Code/invalidArgument`` when the schema does
    ///   not exist.
    public static func fetch(_ settings: PostgresSettings, liveWithin: Duration = .seconds(35)) async throws(OffloadError)
        -> PostgresQueueStatus
    {
        try settings.validate()
        let connection = try await Connector.connect(settings, purpose: "status")
        defer { Task { try? await connection.close() } }
        return try await fetch(on: connection, settings: settings, liveWithin: liveWithin)
    }

    static func fetch(
        on connection: PostgresConnection,
        settings: PostgresSettings,
        liveWithin: Duration
    ) async throws(OffloadError) -> PostgresQueueStatus {
        let schema = settings.schema
        let server = settings.endpoint.serverDescription
        let version = try await PostgresSchema.version(on: connection, schema: schema, server: server)
        if version == 0 {
            throw OffloadError(.invalidArgument, "schema '\(schema)' on \(server) holds no queue (run migrate first)")
        }
        let s = "\"\(schema)\""
        let live = Double(liveWithin.milliseconds) / 1_000
        do {
            var status = PostgresQueueStatus(queues: [], workers: [], unclaimable: [:], schemaVersion: version)
            let queues = try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        SELECT j.queue,
                            count(*) FILTER (WHERE state = 'available' AND run_at <= now()),
                            count(*) FILTER (WHERE state = 'available' AND run_at > now()),
                            count(*) FILTER (WHERE state = 'running'),
                            count(*) FILTER (WHERE state = 'completed'),
                            count(*) FILTER (WHERE state = 'failed'),
                            count(*) FILTER (WHERE state = 'cancelled'),
                            coalesce(extract(epoch FROM now() - min(run_at)
                                FILTER (WHERE state = 'available' AND run_at <= now())), -1)::float8,
                            coalesce(max(q.concurrency_limit), -1)::int8
                        FROM \(s).jobs j LEFT JOIN \(s).queues q ON q.name = j.queue
                        GROUP BY j.queue ORDER BY j.queue
                        """
                ),
                logger: Connector.logger
            )
            for try await (name, available, scheduled, running, completed, failed, cancelled, age, limit) in queues.decode(
                (String, Int, Int, Int, Int, Int, Int, Double, Int).self
            ) {
                status.queues.append(
                    Queue(
                        name: name,
                        available: available,
                        scheduled: scheduled,
                        running: running,
                        completed: completed,
                        failed: failed,
                        cancelled: cancelled,
                        oldestAvailableAge: age < 0 ? nil : .milliseconds(Int64(age * 1_000)),
                        concurrencyLimit: limit < 0 ? nil : limit
                    )
                )
            }
            let workers = try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        SELECT w.id, w.host, w.pid::int8, w.queues, w.job_names,
                            extract(epoch FROM now() - w.heartbeat_at)::float8,
                            (SELECT count(*) FROM \(s).jobs j WHERE j.state = 'running' AND j.worker_id = w.id)
                        FROM \(s).workers w ORDER BY w.id
                        """
                ),
                logger: Connector.logger
            )
            for try await (name, host, pid, queues, jobNames, age, running) in workers.decode(
                (String, String, Int, [String], [String], Double, Int).self
            ) {
                status.workers.append(
                    Worker(
                        name: name,
                        host: host,
                        pid: pid,
                        queues: queues,
                        jobNames: jobNames,
                        runningJobs: running,
                        lastHeartbeatAge: .milliseconds(Int64(age * 1_000)),
                        isLive: age <= live
                    )
                )
            }
            let unclaimable = try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        SELECT job_name, count(*) FROM \(s).jobs j
                        WHERE state = 'available' AND run_at <= now() AND NOT EXISTS (
                            SELECT 1 FROM \(s).workers w
                            WHERE j.job_name = ANY(w.job_names) AND j.queue = ANY(w.queues)
                                AND w.heartbeat_at > now() - $1 * interval '1 second')
                        GROUP BY job_name
                        """,
                    binds: binds(live)
                ),
                logger: Connector.logger
            )
            for try await (name, count) in unclaimable.decode((String, Int).self) { status.unclaimable[name] = count }
            return status
        } catch {
            throw PostgresSchema.statementFailed("reading the status of schema '\(schema)'", error, server: server)
        }
    }
}

extension PostgresQueue {
    /// The queue's status, as ``PostgresQueueStatus/fetch(_:liveWithin:)`` reads it.
    /// - Parameter liveWithin: a worker whose last heartbeat is older counts as not live.
    /// - Returns: the status.
    /// - Throws: ``OffloadError/Code/connectionFailed``.
    public func status(liveWithin: Duration = .seconds(35)) async throws(OffloadError) -> PostgresQueueStatus {
        let settings = configuration.settings
        let connection: PostgresConnection
        do {
            connection = try await commands.get()
        } catch {
            throw error
        }
        return try await PostgresQueueStatus.fetch(on: connection, settings: settings, liveWithin: liveWithin)
    }
}
