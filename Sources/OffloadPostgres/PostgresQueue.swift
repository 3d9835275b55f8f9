import OffloadCore
import PostgresNIO
import Synchronization

/// The submitting side of a PostgreSQL job queue: the same typed ``Job``s as ``ProcessPool``, run by
/// ``PostgresWorker``s on any number of machines.
///
/// `PostgresQueue` has the executor methods of the in-process pools — ``submit(_:)``, ``run(_:)``,
/// ``map(_:chunkSize:)``, ``mapUnordered(_:chunkSize:maxInFlight:)``, ``stats`` and ``shutdown(cancelPending:)`` — so
/// code moves from a `ProcessPool` to PostgreSQL by changing the line that creates the executor:
///
/// ```swift
/// let queue = try await PostgresQueue(url: "postgres://app@db/jobs")
/// let counts = try await queue.map(ranges.map { CountPrimes(range: $0) })
/// await queue.shutdown()
/// ```
///
/// Every job is a row with a durable ID (``enqueue(_:options:)``); ``handle(for:as:)`` awaits it again from any
/// process, for example after the submitter restarted. Results arrive by LISTEN/NOTIFY with a fallback poll
/// (``Configuration/pollInterval``), encoded by ``JobCodec``; failures come back as ``OffloadError`` with the remote
/// error type and message, and for a crashed job the signal and the job's last stderr lines. Cancelling a job
/// (``cancel(id:)``) withdraws it if it is queued and stops it if it is running.
///
/// ``enqueue(_:options:on:)`` inserts on *your* connection, inside your transaction: the job exists if and only if
/// the transaction commits (River's `InsertTx`, Oban's `Oban.insert` in `Repo.transaction`).
///
/// Guarantees: at-least-once execution, exactly-once completion, no lost jobs; see "Outgrowing one machine".
public final class PostgresQueue: Sendable {
    /// How a queue connects and what it assumes for jobs submitted without options.
    public struct Configuration: Sendable {
        /// The server, the schema and how to connect.
        public var settings: PostgresSettings
        /// Options of jobs submitted through ``PostgresQueue/submit(_:)``, ``PostgresQueue/run(_:)`` and the maps.
        public var defaultOptions: PostgresJobOptions
        /// The largest encoded job accepted; larger ones fail at submit with
        /// ``OffloadError/Code/payloadTooLarge``. Default 1 MiB.
        public var maxPayloadBytes: Int
        /// How often results are looked for when no notification arrives (a lost notification costs at most this).
        public var pollInterval: Duration
        /// The most rows in one insert statement.
        public var insertBatchRows: Int
        /// The tracer of this queue's task spans; `nil` (the default) uses the process's (``JobTracing/current``, set
        /// by `OffloadTracing.bootstrap()`). A job submitted inside a span carries the task span's context in its
        /// row, and the worker that claims it runs it in a child span.
        public var tracer: (any JobTracer)? = nil

        /// Creates a configuration.
        /// - Parameters:
        ///   - settings: the server, schema and connection settings.
        ///   - defaultOptions: options of jobs submitted without any.
        ///   - maxPayloadBytes: the payload size limit.
        ///   - pollInterval: the fallback poll interval.
        ///   - insertBatchRows: rows per insert statement.
        public init(
            settings: PostgresSettings,
            defaultOptions: PostgresJobOptions = PostgresJobOptions(),
            maxPayloadBytes: Int = 1 << 20,
            pollInterval: Duration = .seconds(1),
            insertBatchRows: Int = 2_000
        ) {
            self.settings = settings
            self.defaultOptions = defaultOptions
            self.maxPayloadBytes = maxPayloadBytes
            self.pollInterval = pollInterval
            self.insertBatchRows = insertBatchRows
        }
    }

    private struct Counters {
        var submitted = 0
        var completed = 0
        var failed = 0
        var cancelled = 0
        var pending = 0
        var shutDown = false
        /// Shutdowns waiting for `pending` to reach 0; resumed by the call that brings it there.
        var drainWaiters: [CheckedContinuation<Void, Never>] = []
    }

    /// The configuration.
    public let configuration: Configuration
    let sql: SQL
    let commands: ManagedConnection
    let waiter: ResultWaiter
    private let inserter: Inserter
    private let counters = Mutex(Counters())
    private let server: String

    /// Connects, migrates (unless ``PostgresSettings/migrateOnStart`` is `false`) and starts listening for results.
    /// - Parameter configuration: the server and defaults.
    /// - Throws: ``OffloadError/Code/connectionFailed`` naming the server and the cause (after
    ///   ``PostgresSettings/connectAttempts`` attempts), ``OffloadError/Code/schemaTooNew``, or
    ///   ``OffloadError/Code/invalidArgument`` for bad settings.
    public init(configuration: Configuration) async throws(OffloadError) {
        try configuration.settings.validate()
        try configuration.defaultOptions.validate()
        if configuration.maxPayloadBytes < 1 || configuration.insertBatchRows < 1 {
            throw OffloadError(.invalidArgument, "maxPayloadBytes and insertBatchRows must be at least 1")
        }
        if configuration.pollInterval <= .zero {
            throw OffloadError(.invalidArgument, "pollInterval must be positive, got \(configuration.pollInterval)")
        }
        let settings = configuration.settings
        self.configuration = configuration
        server = settings.endpoint.serverDescription
        sql = SQL(schema: settings.schema)
        let first = try await Connector.connectToCurrentSchema(settings, purpose: "submit")
        commands = ManagedConnection(settings: settings, purpose: "submit", initial: first)
        waiter = ResultWaiter(settings: settings, sql: sql, pollInterval: configuration.pollInterval)
        inserter = Inserter(connection: commands, sql: sql, batchRows: configuration.insertBatchRows)
        do {
            try await waiter.start()
        } catch {
            await commands.close()
            throw error
        }
        inserter.start()
    }

    /// Connects to the server at `url` with default settings; see ``init(configuration:)``.
    /// - Parameters:
    ///   - url: a `postgres://` URL.
    ///   - schema: the PostgreSQL schema of the queue's tables.
    /// - Throws: as ``init(configuration:)``; ``OffloadError/Code/invalidArgument`` for a malformed URL.
    public convenience init(url: String, schema: String = "offload") async throws(OffloadError) {
        try await self.init(configuration: Configuration(settings: PostgresSettings(url: url, schema: schema)))
    }

    // MARK: - Submitting

    /// Queues a job with the default options and returns a handle to its result. Returns at once; the insert happens
    /// in the background, batched with concurrent submissions.
    ///
    /// - Parameter job: the job; some worker's ``JobRegistry`` must know its type.
    /// - Returns: a handle whose ``TaskHandle/value`` is the job's output, or throws ``OffloadError``
    ///   (``OffloadError/Code/jobFailed`` with the remote error, ``OffloadError/Code/workerCrashed`` with the signal
    ///   and stderr, ``OffloadError/Code/taskTimedOut``, ``OffloadError/Code/decodingFailed``,
    ///   ``OffloadError/Code/connectionFailed`` if the insert failed), or `CancellationError` if it was cancelled.
    /// - Throws: ``OffloadError/Code/encodingFailed``, ``OffloadError/Code/payloadTooLarge``, or
    ///   ``OffloadError/Code/poolShutDown`` after ``shutdown(cancelPending:)``.
    public func submit<J: Job>(_ job: J) throws(OffloadError) -> TaskHandle<J.Output> {
        try submit(job, options: configuration.defaultOptions)
    }

    /// Queues a job with the given options; see ``submit(_:)``.
    /// - Parameters:
    ///   - job: the job.
    ///   - options: queue, priority, delay, attempts, timeout, uniqueness key.
    /// - Returns: a handle to the job's result.
    /// - Throws: as ``submit(_:)``, and ``OffloadError/Code/invalidArgument`` for invalid options.
    public func submit<J: Job>(_ job: J, options: PostgresJobOptions) throws(OffloadError) -> TaskHandle<J.Output> {
        var row = try makeRow(job, options: options)
        let completion = TaskCompletion<J.Output>()
        let canceller = JobCanceller(queue: self)
        try accept(jobs: 1)
        row.trace = TraceCarrier.start(
            jobName: J.jobName,
            items: 1,
            pool: tracePool,
            tracer: configuration.tracer,
            completion: completion
        )
        let request = InsertRequest(rows: [row]) { [self] result in
            switch result {
            case .success(let ids):
                canceller.setIDs(ids.map(\.0))
                awaitResults(J.Output.self, ids: ids.map(\.0), jobName: J.jobName) { outcome in
                    completion.finish(outcome.map { $0[0] })
                }
            case .failure(let error):
                countFinished(.failure(error), jobs: 1)
                completion.finish(.failure(error))
            }
        }
        canceller.attach(request) { completion.cancelIfPending() }
        inserter.enqueue(request)
        return TaskHandle(completion: completion, canceller: canceller)
    }

    /// Runs a job with the default options and returns its output.
    /// - Parameter job: the job.
    /// - Returns: the job's output.
    /// - Throws: everything ``submit(_:)`` and its handle throw.
    public func run<J: Job>(_ job: J) async throws -> J.Output {
        try await submit(job).value
    }

    /// Inserts a job and returns once it is in the database, with its durable ID.
    /// - Parameters:
    ///   - job: the job.
    ///   - options: queue, priority, delay, attempts, timeout, uniqueness key.
    /// - Returns: the job's ID, whether it was inserted (`false`: an unfinished job with the same
    ///   ``PostgresJobOptions/uniqueKey`` exists and is returned instead), and a handle to its result.
    /// - Throws: ``OffloadError/Code/encodingFailed``, ``OffloadError/Code/payloadTooLarge``,
    ///   ``OffloadError/Code/invalidArgument``, ``OffloadError/Code/connectionFailed`` or
    ///   ``OffloadError/Code/poolShutDown``.
    public func enqueue<J: Job>(
        _ job: J,
        options: PostgresJobOptions? = nil
    ) async throws(OffloadError) -> PostgresJob<J.Output> {
        let row = try makeRow(job, options: options ?? configuration.defaultOptions)
        try accept(jobs: 1)
        let (id, inserted): (Int64, Bool)
        do {
            (id, inserted) = try await Inserter.insertOne(row, sql: sql, connection: commands)
        } catch {
            countFinished(.failure(error), jobs: 1)
            throw error
        }
        return PostgresJob(id: id, wasInserted: inserted, handle: trackedHandle(J.Output.self, id: id, jobName: J.jobName))
    }

    /// Inserts many jobs in multi-row statements and returns their durable IDs, in order, without waiting for
    /// results (await any of them later with ``handle(for:as:)``). The fastest way to queue a large batch.
    /// - Parameters:
    ///   - jobs: the jobs (no ``PostgresJobOptions/uniqueKey``: use ``enqueue(_:options:)`` for those).
    ///   - options: options for every job; `nil` uses the defaults.
    /// - Returns: the IDs, `ids[i]` belonging to `jobs[i]`.
    /// - Throws: ``OffloadError/Code/encodingFailed``, ``OffloadError/Code/payloadTooLarge``,
    ///   ``OffloadError/Code/invalidArgument``, ``OffloadError/Code/connectionFailed``.
    public func enqueueBatch<J: Job>(_ jobs: [J], options: PostgresJobOptions? = nil) async throws(OffloadError) -> [Int64]
    {
        let options = options ?? configuration.defaultOptions
        if options.uniqueKey != nil {
            throw OffloadError(.invalidArgument, "enqueueBatch does not take a uniqueKey; enqueue such jobs one by one")
        }
        var rows: [InsertRow] = []
        rows.reserveCapacity(jobs.count)
        for job in jobs { rows.append(try makeRow(job, options: options)) }
        var ids: [Int64] = []
        ids.reserveCapacity(jobs.count)
        // One statement at a time (IDs stay in input order), but the next statement's parameters are encoded while
        // the server runs the previous one.
        var inFlight: Task<[Int64], any Error>?
        var start = 0
        while start < rows.count {
            let end = min(rows.count, start + configuration.insertBatchRows)
            let chunk = Array(rows[start..<end])
            let query = Inserter.plainQuery(chunk, sql: sql)
            start = end
            if let previous = inFlight { ids += try await Self.insertResult(previous, connection: commands) }
            inFlight = Task { [commands] in
                try await commands.run { connection in
                    try await Inserter.insertPlain(query, count: chunk.count, on: connection)
                }
            }
        }
        if let last = inFlight { ids += try await Self.insertResult(last, connection: commands) }
        return ids
    }

    private static func insertResult(
        _ task: Task<[Int64], any Error>,
        connection: ManagedConnection
    ) async throws(OffloadError) -> [Int64] {
        do {
            return try await task.value
        } catch {
            throw Inserter.insertFailed(error, connection: connection)
        }
    }

    /// Inserts a job on the caller's connection — inside the caller's transaction, if one is open — so that the job
    /// exists if and only if that transaction commits. Workers see it (and are notified) at commit.
    ///
    /// ```swift
    /// try await client.withTransaction { connection in
    ///     try await connection.query("INSERT INTO orders ...", logger: logger)
    ///     let id = try await queue.enqueue(SendReceipt(order: order), on: connection)
    /// }
    /// ```
    ///
    /// Await the result after the commit with ``handle(for:as:)``.
    /// - Parameters:
    ///   - job: the job.
    ///   - options: queue, priority, delay, attempts, timeout, uniqueness key.
    ///   - connection: the caller's connection.
    /// - Returns: the job's durable ID (an existing job's ID when its unique key matched).
    /// - Throws: ``OffloadError/Code/encodingFailed``, ``OffloadError/Code/payloadTooLarge``,
    ///   ``OffloadError/Code/invalidArgument``, or ``OffloadError/Code/connectionFailed`` with the server's message
    ///   (for example when the transaction is already aborted).
    public func enqueue<J: Job>(
        _ job: J,
        options: PostgresJobOptions? = nil,
        on connection: PostgresConnection
    ) async throws(OffloadError) -> Int64 {
        let row = try makeRow(job, options: options ?? configuration.defaultOptions)
        do {
            return try await Inserter.insertOne(row, sql: sql, on: connection).0
        } catch {
            throw Inserter.insertFailed(error, connection: commands)
        }
    }

    /// A handle to the result of the job with this ID, submitted by any process. Awaiting it works after the
    /// submitter restarted, and on another machine.
    /// - Parameters:
    ///   - id: the job's durable ID.
    ///   - type: the job's type (its output type decodes the result).
    /// - Returns: a handle that ends when the job is final.
    /// - Throws: ``OffloadError/Code/jobNotFound`` if no such job exists, ``OffloadError/Code/connectionFailed``.
    public func handle<J: Job>(for id: Int64, as type: J.Type) async throws(OffloadError) -> TaskHandle<J.Output> {
        let exists: Bool
        do {
            exists = try await commands.run { [self] connection in
                let rows = try await connection.query(
                    PostgresQuery(unsafeSQL: sql.jobExists, binds: binds(id)),
                    logger: Connector.logger
                )
                for try await _ in rows { return true }
                return false
            }
        } catch {
            throw PostgresSchema.statementFailed("looking up job \(id)", error, server: server)
        }
        guard exists else { throw OffloadError.jobNotFound(id: id) }
        try accept(jobs: 1)
        return trackedHandle(J.Output.self, id: id, jobName: J.jobName, check: true)
    }

    /// Cancels a job: a queued job is withdrawn; a running job is marked cancelled at once (its worker's late result
    /// is rejected) and its worker stops it (a process-backed worker kills the job's process).
    /// - Parameter id: the job's ID.
    /// - Returns: what happened.
    /// - Throws: ``OffloadError/Code/jobNotFound``, ``OffloadError/Code/connectionFailed``.
    @discardableResult
    public func cancel(id: Int64) async throws(OffloadError) -> PostgresCancelResult {
        let previous: String?
        do {
            previous = try await commands.run { [self] connection in
                let rows = try await connection.query(
                    PostgresQuery(unsafeSQL: sql.cancel, binds: binds(id)),
                    logger: Connector.logger
                )
                for try await (state, _) in rows.decode((String, Bool).self) { return state }
                return nil
            }
        } catch {
            throw PostgresSchema.statementFailed("cancelling job \(id)", error, server: server)
        }
        switch previous {
        case nil: throw OffloadError.jobNotFound(id: id)
        case "available": return .withdrawn
        case "running": return .stopped
        case let state?: return .alreadyFinished(state: state)
        }
    }

    /// Sets (or with `nil` removes) the most jobs of `queue` that run at once, across all workers on all machines.
    /// - Parameters:
    ///   - limit: the limit (at least 1), or `nil` for none.
    ///   - queue: the queue.
    /// - Throws: ``OffloadError/Code/invalidArgument``, ``OffloadError/Code/connectionFailed``.
    public func setConcurrencyLimit(_ limit: Int?, forQueue queue: String) async throws(OffloadError) {
        if let limit, limit < 1 { throw OffloadError(.invalidArgument, "a concurrency limit must be at least 1") }
        do {
            _ = try await commands.run { [self] connection in
                try await connection.query(
                    PostgresQuery(unsafeSQL: sql.setQueueLimit, binds: binds(queue, Int32(clamping: limit ?? -1))),
                    logger: Connector.logger
                )
            }
        } catch {
            throw PostgresSchema.statementFailed("setting the limit of queue '\(queue)'", error, server: server)
        }
    }

    // MARK: - Life cycle

    /// Counts of the handles this queue object gave out: `pending` are jobs awaited and not finished (queued or
    /// running somewhere), `running` is always 0 (workers are other processes; see ``status()``), `workers` is 0.
    public var stats: PoolStats {
        counters.withLock(self) { counters in
            PoolStats(
                workers: 0,
                submitted: counters.submitted,
                completed: counters.completed,
                failed: counters.failed,
                cancelled: counters.cancelled,
                pending: counters.pending
            )
        }
    }

    /// How results reached this queue object: a completed job's output of at most 200 bytes arrives inside the
    /// `<schema>_done` notification and resumes its handle without a statement; larger outputs and failures are read
    /// back from their rows.
    public struct ResultStatistics: Sendable, Hashable {
        /// Notifications received on `<schema>_done`.
        public var notifications: Int
        /// Results taken from a notification's payload.
        public var fromNotifications: Int
        /// Results read back from their rows (fetch statements, polls included).
        public var fetched: Int
        /// Fetch statements run.
        public var fetchStatements: Int
    }

    /// How results reached this queue object so far (see ``ResultStatistics``).
    public var resultStatistics: ResultStatistics {
        ResultStatistics(
            notifications: waiter.notifications.load(ordering: .relaxed),
            fromNotifications: waiter.inlineResults.load(ordering: .relaxed),
            fetched: waiter.fetchedResults.load(ordering: .relaxed),
            fetchStatements: waiter.fetches.load(ordering: .relaxed)
        )
    }

    /// Stops accepting jobs, waits for the results this object is awaiting, and closes its connections. The jobs
    /// themselves are durable: they run whether or not anyone waits. Idempotent.
    /// - Parameter cancelPending: cancel this object's jobs that no worker has started (their handles end with
    ///   `CancellationError`) instead of waiting for them.
    public func shutdown(cancelPending: Bool = false) async {
        let first = counters.withLock(self) { counters in
            defer { counters.shutDown = true }
            return !counters.shutDown
        }
        await inserter.stop()
        if first && cancelPending {
            let ids = waiter.waitingIDs
            if !ids.isEmpty {
                _ = try? await commands.run { [self] connection in
                    try await connection.query(
                        PostgresQuery(
                            unsafeSQL: """
                                UPDATE \(sql.jobs) SET state = 'cancelled', finished_at = now(),
                                    error_message = 'cancelled by shutdown(cancelPending: true)'
                                WHERE id = ANY($1) AND state = 'available'
                                """,
                            binds: binds(ids)
                        ),
                        logger: Connector.logger
                    )
                }
            }
        }
        await waitUntilNothingPending()
        await waiter.stop()
        await commands.close()
    }

    /// Closes the queue object without waiting: jobs already inserted stay in the database and run; handles not yet
    /// finished end with ``OffloadError/Code/poolShutDown`` (await them again with ``handle(for:as:)``). Idempotent.
    public func close() async {
        counters.withLock(self) { $0.shutDown = true }
        await inserter.stop()
        waiter.detachAll()
        await waiter.stop()
        await commands.close()
    }

    // MARK: - Internals

    func makeRow<J: Job>(_ job: J, options: PostgresJobOptions) throws(OffloadError) -> InsertRow {
        try options.validate()
        let payload = try JobCodec.encode(job)
        if payload.count > configuration.maxPayloadBytes {
            throw OffloadError.payloadTooLarge(job: J.jobName, bytes: payload.count, limit: configuration.maxPayloadBytes)
        }
        return InsertRow(jobName: J.jobName, payload: ByteBuffer(bytes: payload), options: options)
    }

    func enqueueInsert(_ request: InsertRequest) { inserter.enqueue(request) }

    /// The `offload.pool` attribute of this queue's task spans.
    var tracePool: String { "postgres:\(configuration.settings.schema)" }

    func accept(jobs: Int) throws(OffloadError) {
        let ok = counters.withLock(self) { counters -> Bool in
            guard !counters.shutDown else { return false }
            counters.submitted += jobs
            counters.pending += jobs
            return true
        }
        if !ok { throw OffloadError(.poolShutDown, "the PostgresQueue has been shut down and accepts no more jobs") }
    }

    func countFinished(_ result: Result<Void, any Error>, jobs: Int) {
        let drained = counters.withLock(self) { counters -> [CheckedContinuation<Void, Never>] in
            counters.pending -= jobs
            switch result {
            case .success: counters.completed += jobs
            case .failure(let error) where error is CancellationError: counters.cancelled += jobs
            case .failure: counters.failed += jobs
            }
            guard counters.pending == 0 else { return [] }
            defer { counters.drainWaiters = [] }
            return counters.drainWaiters
        }
        for waiter in drained { waiter.resume() }
    }

    /// Returns once every handle this object gave out has ended (at once if none is pending). Resumed by the
    /// ``countFinished(_:jobs:)`` call that ends the last one: no polling.
    func waitUntilNothingPending() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = counters.withLock(self) { counters -> Bool in
                guard counters.pending > 0 else { return true }
                counters.drainWaiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    func trackedHandle<Output: Codable & Sendable>(
        _ type: Output.Type,
        id: Int64,
        jobName: String,
        check: Bool = false
    ) -> TaskHandle<Output> {
        let completion = TaskCompletion<Output>()
        let canceller = JobCanceller(queue: self)
        canceller.setIDs([id])
        awaitResults(Output.self, ids: [id], jobName: jobName, check: check) { outcome in
            completion.finish(outcome.map { $0[0] })
        }
        return TaskHandle(completion: completion, canceller: canceller)
    }

    /// Waits for every ID; calls `done` once with the outputs in order, or with the first failure (in ID order of
    /// arrival). Counts each job's outcome.
    func awaitResults<Output: Codable & Sendable>(
        _ type: Output.Type,
        ids: [Int64],
        jobName: String,
        check: Bool = false,
        done: @escaping @Sendable (Result<[Output], any Error>) -> Void
    ) {
        let gather = ResultGather<Output>(count: ids.count, done: done)
        for (index, id) in ids.enumerated() {
            let deliver: ResultWaiter.Deliver = { [self] row in
                let outcome = Self.decode(row, as: Output.self)
                countFinished(outcome.map { _ in () }, jobs: 1)
                gather.set(index, outcome)
            }
            if check { waiter.waitAndCheck(for: id, deliver) } else { waiter.wait(for: id, deliver) }
        }
    }

    /// Waits for every ID; calls `done` once with one outcome per job, in order, when all are final.
    func awaitOutcomes<Output: Codable & Sendable>(
        _ type: Output.Type,
        ids: [Int64],
        done: @escaping @Sendable (BatchResults<Output>) -> Void
    ) {
        let gather = OutcomeGather<Output>(count: ids.count, done: done)
        for (index, id) in ids.enumerated() {
            waiter.wait(for: id) { [self] row in
                let outcome = Self.decode(row, as: Output.self)
                countFinished(outcome.map { _ in () }, jobs: 1)
                gather.set(index, outcome)
            }
        }
    }

    static func decode<Output: Codable & Sendable>(_ row: FinishedRow, as type: Output.Type) -> Result<Output, any Error>
    {
        switch row.state {
        case "completed":
            guard var buffer = row.output, let bytes = buffer.readBytes(length: buffer.readableBytes) else {
                return .failure(OffloadError(.decodingFailed, "job #\(row.id) completed without an output"))
            }
            do {
                return .success(try JobCodec.decode(Output.self, from: bytes))
            } catch {
                return .failure(error)
            }
        case "cancelled":
            return .failure(CancellationError())
        case "detached":
            return .failure(
                OffloadError(
                    .poolShutDown,
                    "the PostgresQueue was closed before job #\(row.id) finished; the job goes on: await it again "
                        + "with handle(for:as:)"
                )
            )
        default:
            let failure = row.failure ?? StoredFailure(code: "jobFailed", message: "the job failed")
            return .failure(failure.offloadError(jobID: row.id, jobName: row.jobName))
        }
    }

    /// Cancels jobs in the database (from a handle's `cancel()`): queued ones are withdrawn, running ones stopped.
    func cancelInBackground(_ ids: [Int64]) {
        Task { [self] in
            for id in ids { _ = try? await cancel(id: id) }
        }
    }
}

/// What ``PostgresQueue/cancel(id:)`` did.
public enum PostgresCancelResult: Sendable, Hashable {
    /// The job was queued and will not run.
    case withdrawn
    /// The job was running; it is cancelled and its worker was told to stop it.
    case stopped
    /// The job had already finished in this state (`completed`, `failed` or `cancelled`).
    case alreadyFinished(state: String)
}

/// A job in the database: its durable ID and a handle to its result.
public struct PostgresJob<Output: Sendable>: Sendable {
    /// The job's durable ID: pass it to ``PostgresQueue/handle(for:as:)`` (from any process) or
    /// ``PostgresQueue/cancel(id:)``.
    public let id: Int64
    /// `false` when an unfinished job with the same unique key existed and was returned instead.
    public let wasInserted: Bool
    /// The handle to the result.
    public let handle: TaskHandle<Output>

    /// The job's output; see ``TaskHandle/value``.
    public var value: Output {
        get async throws { try await handle.value }
    }
}
