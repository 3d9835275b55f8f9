import DequeModule
import OffloadCore
import PostgresNIO
import Synchronization

/// One job ready to insert.
struct InsertRow: Sendable {
    var jobName: String
    var payload: ByteBuffer
    var options: PostgresJobOptions
    /// The submitting span's context (``TraceCarrier``), empty when no tracer is installed.
    var trace = ByteBuffer()
}

/// Jobs waiting for the inserter, with what to do once they have IDs. The request can be withdrawn until the
/// inserter takes it (``InsertRequest/take()``), which is how `TaskHandle.cancel()` withdraws a job that never
/// reached the database.
final class InsertRequest: Sendable {
    enum Phase: Sendable {
        case queued
        case taken
        case inserted([Int64])
        case withdrawn
    }

    let rows: [InsertRow]
    /// Called once with the IDs (input order) and whether each was inserted (false: an existing job with the same
    /// unique key), or with the failure.
    let done: @Sendable (Result<[(Int64, Bool)], OffloadError>) -> Void
    private let phase = Mutex(Phase.queued)

    init(rows: [InsertRow], done: @escaping @Sendable (Result<[(Int64, Bool)], OffloadError>) -> Void) {
        self.rows = rows
        self.done = done
    }

    /// queued → taken; `false` if it was withdrawn.
    func take() -> Bool {
        phase.withLock(self) { phase in
            guard case .queued = phase else { return false }
            phase = .taken
            return true
        }
    }

    /// Records the IDs; returns them.
    func inserted(_ ids: [Int64]) {
        phase.withLock(self) { $0 = .inserted(ids) }
    }

    /// queued → withdrawn (true), or the IDs if the jobs are in the database (so they can be cancelled there).
    func withdraw() -> (withdrawn: Bool, ids: [Int64]?) {
        phase.withLock(self) { phase in
            switch phase {
            case .queued:
                phase = .withdrawn
                return (true, nil)
            case .inserted(let ids): return (false, ids)
            case .taken, .withdrawn: return (false, nil)
            }
        }
    }

    /// Whether the request is still being inserted (a cancel must wait for the IDs).
    var isInFlight: Bool { phase.withLock(self) { if case .taken = $0 { return true } else { return false } } }
}

/// Inserts queued requests in multi-row statements: whatever accumulated while the previous statement ran goes into
/// the next one (group commit), so a burst of `submit` calls costs a few statements, and a lone job goes at once.
final class Inserter: Sendable {
    private let queue = Mutex(Deque<InsertRequest>())
    private let doorbell: AsyncStream<Void>.Continuation
    private let stream: AsyncStream<Void>
    private let connection: ManagedConnection
    private let sql: SQL
    private let batchRows: Int
    private let task = Mutex<Task<Void, Never>?>(nil)

    init(connection: ManagedConnection, sql: SQL, batchRows: Int) {
        self.connection = connection
        self.sql = sql
        self.batchRows = batchRows
        (stream, doorbell) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    func start() {
        let task = Task { await self.loop() }
        self.task.withLock(self) { $0 = task }
    }

    func enqueue(_ request: InsertRequest) {
        queue.withLock(self) { $0.append(request) }
        doorbell.yield()
    }

    /// Stops after inserting what is queued.
    func stop() async {
        doorbell.finish()
        let task = self.task.withLock(self) { $0 }
        await task?.value
    }

    private func loop() async {
        for await _ in stream {
            await drain()
        }
        await drain()
    }

    private func drain() async {
        while true {
            var batch: [InsertRequest] = []
            var rows = 0
            queue.withLock(self) { queue in
                while let first = queue.first, batch.isEmpty || rows + first.rows.count <= batchRows {
                    queue.removeFirst()
                    guard first.take() else { continue }
                    batch.append(first)
                    rows += first.rows.count
                }
            }
            if batch.isEmpty { return }
            let plain = batch.filter { request in !request.rows.contains { $0.options.uniqueKey != nil } }
            let unique = batch.filter { request in request.rows.contains { $0.options.uniqueKey != nil } }
            if !plain.isEmpty {
                do {
                    let ids = try await Self.insertPlain(plain.flatMap(\.rows), sql: sql, connection: connection)
                    var offset = 0
                    for request in plain {
                        let slice = Array(ids[offset..<offset + request.rows.count])
                        offset += request.rows.count
                        request.inserted(slice)
                        request.done(.success(slice.map { ($0, true) }))
                    }
                } catch {
                    for request in plain { request.done(.failure(error)) }
                }
            }
            for request in unique {
                do {
                    var results: [(Int64, Bool)] = []
                    for row in request.rows {
                        results.append(try await Self.insertOne(row, sql: sql, connection: connection))
                    }
                    request.inserted(results.map(\.0))
                    request.done(.success(results))
                } catch {
                    request.done(.failure(error))
                }
            }
        }
    }

    static func insertPlain(
        _ rows: [InsertRow],
        sql: SQL,
        connection: ManagedConnection
    ) async throws(OffloadError) -> [Int64] {
        let query = plainQuery(rows, sql: sql)
        do {
            return try await connection.run { connection in
                try await insertPlain(query, count: rows.count, on: connection)
            }
        } catch {
            throw insertFailed(error, connection: connection)
        }
    }

    static func plainQuery(_ rows: [InsertRow], sql: SQL) -> PostgresQuery {
        if let first = rows.first, rows.allSatisfy({
            $0.jobName == first.jobName && $0.options == first.options && $0.trace == first.trace
        }) {
            // One job type with one set of options (a map's chunk, enqueueBatch): only the payloads vary, so only
            // they travel as an array.
            return PostgresQuery(
                unsafeSQL: sql.insertUniform,
                binds: binds(
                    first.options.queue,
                    first.jobName,
                    Int32(first.options.priority),
                    first.options.delayMilliseconds,
                    Int32(first.options.maxAttempts),
                    first.options.timeoutMilliseconds,
                    rows.map(\.payload),
                    first.trace
                )
            )
        }
        return PostgresQuery(
            unsafeSQL: sql.insertBatch,
            binds: binds(
                rows.map(\.options.queue),
                rows.map(\.jobName),
                rows.map(\.payload),
                rows.map { Int32($0.options.priority) },
                rows.map(\.options.delayMilliseconds),
                rows.map { Int32($0.options.maxAttempts) },
                rows.map(\.options.timeoutMilliseconds),
                rows.map(\.trace)
            )
        )
    }

    static func insertPlain(_ query: PostgresQuery, count: Int, on connection: PostgresConnection) async throws
        -> [Int64]
    {
        let result = try await connection.query(query, logger: Connector.logger)
        var ids: [Int64] = []
        ids.reserveCapacity(count)
        for try await id in result.decode(Int64.self) { ids.append(id) }
        // One sequence, rows inserted in input order: ascending IDs are the input order.
        ids.sort()
        guard ids.count == count else {
            throw OffloadError(.protocolViolation, "inserted \(count) jobs but got \(ids.count) IDs back")
        }
        return ids
    }

    static func insertOne(
        _ row: InsertRow,
        sql: SQL,
        connection: ManagedConnection
    ) async throws(OffloadError) -> (Int64, Bool) {
        do {
            return try await connection.run { connection in
                try await insertOne(row, sql: sql, on: connection)
            }
        } catch {
            throw insertFailed(error, connection: connection)
        }
    }

    static func insertOne(_ row: InsertRow, sql: SQL, on connection: PostgresConnection) async throws -> (Int64, Bool)
    {
        guard let key = row.options.uniqueKey else {
            return (try await insertPlain(plainQuery([row], sql: sql), count: 1, on: connection)[0], true)
        }
        let query = PostgresQuery(
            unsafeSQL: sql.insertUnique,
            binds: binds(
                row.options.queue,
                row.jobName,
                row.payload,
                Int32(row.options.priority),
                row.options.delayMilliseconds,
                Int32(row.options.maxAttempts),
                row.options.timeoutMilliseconds,
                key,
                row.trace
            )
        )
        // No row: a concurrent insert of the key committed after our snapshot; the next statement sees it.
        for _ in 0..<20 {
            let result = try await connection.query(query, logger: Connector.logger)
            for try await (id, inserted) in result.decode((Int64, Bool).self) { return (id, inserted) }
        }
        throw OffloadError(.protocolViolation, "could not insert or find the job with unique key '\(key)'")
    }

    static func insertFailed(_ error: any Error, connection: ManagedConnection) -> OffloadError {
        if let error = error as? OffloadError { return error }
        return OffloadError(
            .connectionFailed,
            "inserting jobs failed: \(Connector.describe(error)); whether they were inserted is unknown if the "
                + "connection dropped during the statement"
        )
    }
}
