import DequeModule
import OffloadCore
import PostgresNIO
import Synchronization

/// A finished job as read back from the database.
struct FinishedRow: Sendable {
    var id: Int64
    var state: String
    var output: ByteBuffer?
    var failure: StoredFailure?
    var jobName: String
}

/// Where awaiting code learns that jobs finished: one LISTEN connection (re-established after it drops) and a
/// fallback poll, feeding one fetcher that reads finished rows in batches and hands each to its waiters.
///
/// A notification carries the finished IDs (or `*` when there were too many for one payload). IDs nobody here waits
/// for are remembered for a while, so a waiter registered just after its job finished is served at once.
final class ResultWaiter: Sendable {
    typealias Deliver = @Sendable (FinishedRow) -> Void

    private struct State {
        var waiting: [Int64: [Deliver]] = [:]
        var toFetch: Set<Int64> = []
        var fetchAll = false
        var recent = Set<Int64>()
        var recentOrder = Deque<Int64>()
        var stopped = false
    }

    private let state = Mutex(State())
    private let sql: SQL
    private let settings: PostgresSettings
    private let pollInterval: Duration
    private let fetchConnection: ManagedConnection
    private let doorbell: AsyncStream<Void>.Continuation
    private let doorbellStream: AsyncStream<Void>
    private let tasks = Mutex<[Task<Void, Never>]>([])
    /// Notifications received (tests and statistics).
    let notifications = Atomic<Int>(0)
    /// Results delivered from a notification's payload, without a fetch (tests and statistics).
    let inlineResults = Atomic<Int>(0)
    /// Fetch statements run (tests and statistics).
    let fetches = Atomic<Int>(0)
    /// Results delivered from fetched rows (tests and statistics).
    let fetchedResults = Atomic<Int>(0)

    init(settings: PostgresSettings, sql: SQL, pollInterval: Duration) {
        self.settings = settings
        self.sql = sql
        self.pollInterval = pollInterval
        fetchConnection = ManagedConnection(settings: settings, purpose: "results")
        (doorbellStream, doorbell) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Starts listening; returns once the first LISTEN is in place (or failed to be).
    func start() async throws(OffloadError) {
        let listening = TaskCompletion<Void>()
        let listen = Task { await self.listenLoop(ready: listening) }
        let fetch = Task { await self.fetchLoop() }
        let poll = Task { await self.pollLoop() }
        tasks.withLock(self) { $0 = [listen, fetch, poll] }
        do {
            try await listening.value()
        } catch {
            await stop()
            throw (error as? OffloadError) ?? OffloadError(.connectionFailed, "\(error)")
        }
    }

    func stop() async {
        state.withLock(self) { $0.stopped = true }
        let running = tasks.withLock(self) { tasks in
            defer { tasks = [] }
            return tasks
        }
        for task in running { task.cancel() }
        doorbell.finish()
        for task in running { await task.value }
        await fetchConnection.close()
    }

    /// Registers `deliver` for job `id`; it is called once, when the job is final.
    func wait(for id: Int64, _ deliver: @escaping Deliver) {
        let ring = state.withLock(self) { state -> Bool in
            state.waiting[id, default: []].append(deliver)
            if state.recent.contains(id) {
                state.toFetch.insert(id)
                return true
            }
            return false
        }
        if ring { doorbell.yield() }
    }

    /// Registers and immediately checks the database (for a job that may have finished long ago).
    func waitAndCheck(for id: Int64, _ deliver: @escaping Deliver) {
        state.withLock(self) { state in
            state.waiting[id, default: []].append(deliver)
            state.toFetch.insert(id)
        }
        doorbell.yield()
    }

    var waitingCount: Int { state.withLock(self) { $0.waiting.count } }

    /// Ends every wait with a `detached` row (the queue object is closing without waiting).
    func detachAll() {
        let all = state.withLock(self) { state in
            defer { state.waiting = [:] }
            return state.waiting
        }
        for (id, waiters) in all {
            for waiter in waiters { waiter(FinishedRow(id: id, state: "detached", output: nil, failure: nil, jobName: "")) }
        }
    }

    var waitingIDs: [Int64] { state.withLock(self) { Array($0.waiting.keys) } }

    /// A `<schema>_done` payload: comma-separated entries, each a finished job's ID, or `id:hex` for a completed job
    /// whose small output rides along (schema version 3); `*` (older servers' triggers) means "fetch everything
    /// awaited". Inline results are delivered at once, without reading the row back.
    private func noteFinished(_ payload: String) {
        notifications.add(1, ordering: .relaxed)
        var inline: [(Deliver, FinishedRow)] = []
        let ring = state.withLock(self) { state -> Bool in
            if payload == "*" {
                state.fetchAll = true
                return true
            }
            var any = false
            for part in payload.utf8.split(separator: UInt8(ascii: ",")) {
                let colon = part.firstIndex(of: UInt8(ascii: ":"))
                guard let id = Self.parseID(part[part.startIndex..<(colon ?? part.endIndex)]) else { continue }
                if let waiters = state.waiting[id] {
                    if let colon, let output = Self.decodeHex(part[part.index(after: colon)...]) {
                        state.waiting[id] = nil
                        state.toFetch.remove(id)
                        let row = FinishedRow(id: id, state: "completed", output: output, failure: nil, jobName: "")
                        for waiter in waiters { inline.append((waiter, row)) }
                    } else {
                        state.toFetch.insert(id)
                        any = true
                    }
                } else if state.recent.insert(id).inserted {
                    state.recentOrder.append(id)
                    if state.recentOrder.count > 65_536, let old = state.recentOrder.popFirst() {
                        state.recent.remove(old)
                    }
                }
            }
            return any
        }
        if !inline.isEmpty {
            inlineResults.add(inline.count, ordering: .relaxed)
            for (waiter, row) in inline { waiter(row) }
        }
        if ring { doorbell.yield() }
    }

    static func parseID(_ digits: Substring.UTF8View.SubSequence) -> Int64? {
        guard !digits.isEmpty, digits.count <= 18 else { return nil }
        var value: Int64 = 0
        for byte in digits {
            guard byte >= 48 && byte <= 57 else { return nil }
            value = value * 10 + Int64(byte - 48)
        }
        return value
    }

    static func decodeHex(_ hex: Substring.UTF8View.SubSequence) -> ByteBuffer? {
        guard hex.count % 2 == 0 else { return nil }
        func nibble(_ byte: UInt8) -> UInt8? {
            switch byte {
            case 48...57: return byte - 48
            case 97...102: return byte - 87
            case 65...70: return byte - 55
            default: return nil
            }
        }
        var buffer = ByteBuffer()
        buffer.reserveCapacity(hex.count / 2)
        var high: UInt8?
        for byte in hex {
            guard let value = nibble(byte) else { return nil }
            if let first = high {
                buffer.writeInteger(first << 4 | value)
                high = nil
            } else {
                high = value
            }
        }
        return buffer
    }

    private func listenLoop(ready: TaskCompletion<Void>) async {
        var failures = 0
        while !Task.isCancelled {
            do {
                let connection = try await Connector.connect(
                    settings,
                    purpose: "listen",
                    attempts: failures == 0 ? nil : 1
                )
                defer { Task { try? await connection.close() } }
                try await connection.listen(on: sql.doneChannel) { notifications in
                    failures = 0
                    ready.finish(.success(()))
                    // Anything that finished while we were not listening.
                    state.withLock(self) { $0.fetchAll = true }
                    doorbell.yield()
                    for try await notification in notifications {
                        noteFinished(notification.payload)
                    }
                }
            } catch {
                if Task.isCancelled { break }
                if !ready.isFinished && failures == 0 {
                    ready.finish(.failure(error))
                    return
                }
                failures += 1
                try? await Task.sleep(for: .milliseconds(min(1_000, 50 << min(failures, 5))))
            }
        }
        ready.finish(.failure(CancellationError()))
    }

    private func pollLoop() async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: pollInterval) } catch { return }
            let ring = state.withLock(self) { state -> Bool in
                guard !state.waiting.isEmpty else { return false }
                state.fetchAll = true
                return true
            }
            if ring { doorbell.yield() }
        }
    }

    private func fetchLoop() async {
        for await _ in doorbellStream {
            while true {
                let ids = state.withLock(self) { state -> [Int64] in
                    if state.fetchAll {
                        state.fetchAll = false
                        state.toFetch = []
                        return Array(state.waiting.keys)
                    }
                    defer { state.toFetch = [] }
                    return Array(state.toFetch)
                }
                if ids.isEmpty { break }
                var start = 0
                while start < ids.count {
                    let chunk = Array(ids[start..<min(ids.count, start + 10_000)])
                    start += chunk.count
                    do {
                        let rows = try await fetch(chunk)
                        deliver(rows)
                    } catch {
                        if Task.isCancelled { return }
                        // Try again on the next notification or poll; keep the IDs.
                        state.withLock(self) { state in state.toFetch.formUnion(chunk) }
                        try? await Task.sleep(for: .milliseconds(100))
                    }
                }
            }
        }
    }

    private func fetch(_ ids: [Int64]) async throws -> [FinishedRow] {
        fetches.add(1, ordering: .relaxed)
        let query = PostgresQuery(unsafeSQL: sql.fetchFinished, binds: binds(ids))
        return try await fetchConnection.run { connection in
            let rows = try await connection.query(query, logger: Connector.logger)
            var result: [FinishedRow] = []
            for try await row in rows {
                result.append(try Self.decodeFinished(row))
            }
            return result
        }
    }

    static func decodeFinished(_ row: PostgresRow) throws -> FinishedRow {
        let (id, state, output, code, errorType, message, signal, exitStatus, stderr, jobName) = try row.decode(
            (Int64, String, ByteBuffer?, String?, String?, String?, Int32?, Int32?, String?, String).self
        )
        var failure: StoredFailure?
        if state != "completed" {
            failure = StoredFailure(
                code: code ?? (state == "cancelled" ? "cancelled" : "jobFailed"),
                errorType: errorType,
                message: message ?? state,
                signal: signal,
                exitStatus: exitStatus,
                stderr: stderr.map { $0.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }
                    ?? []
            )
        }
        return FinishedRow(id: id, state: state, output: output, failure: failure, jobName: jobName)
    }

    private func deliver(_ rows: [FinishedRow]) {
        let calls = state.withLock(self) { state -> [(Deliver, FinishedRow)] in
            var calls: [(Deliver, FinishedRow)] = []
            for row in rows {
                if let waiters = state.waiting.removeValue(forKey: row.id) {
                    for waiter in waiters { calls.append((waiter, row)) }
                }
            }
            return calls
        }
        if !calls.isEmpty { fetchedResults.add(calls.count, ordering: .relaxed) }
        for (waiter, row) in calls { waiter(row) }
    }
}
