import OffloadCore
import PostgresNIO
import Synchronization

// The worker's four loops: fetch (claim and dispatch), complete (batched, fenced results), heartbeat (leases, queue
// limits) and listen (wake-ups and cancellations). Each survives a dropped connection by retrying with backoff.
extension PostgresWorker {
    // MARK: - Fetch

    func fetchLoop() async {
        var lastRescue = ContinuousClock.now - configuration.pollInterval
        var failures = 0
        while !stopRequested {
            let held = state.withLock(self) { $0.held.count }
            let free = maxHeld - held
            // Claim a whole batch at a time: claiming each freed slot on its own would fall back to one-job claims
            // (measured: a twentieth of the throughput). An idle worker claims whatever is there.
            if free <= 0 || (held > 0 && free < min(configuration.claimBatch, maxHeld / 2)) {
                await claimBell.wait(timeout: configuration.pollInterval)
                continue
            }
            let rescue = ContinuousClock.now - lastRescue >= configuration.pollInterval
            let claimed: [ClaimedJob]
            do {
                claimed = try await claim(min(free, configuration.claimBatch), rescue: rescue)
                failures = 0
            } catch {
                failures += 1
                await claimBell.wait(timeout: .milliseconds(min(1_000, 25 << min(failures, 6))))
                continue
            }
            if rescue { lastRescue = .now }
            if !claimed.isEmpty {
                dispatch(claimed)
                continue
            }
            await claimBell.wait(timeout: configuration.pollInterval)
        }
    }

    func claim(_ count: Int, rescue: Bool) async throws -> [ClaimedJob] {
        let limits = state.withLock(self) { $0.limits }
        let unlimited = configuration.queues.filter { limits[$0] == nil }
        let limited = configuration.queues.filter { limits[$0] != nil }
        let names = registry.jobNames
        let leaseMilliseconds = configuration.lease.milliseconds
        var claimed: [ClaimedJob] = []
        for (index, queue) in unlimited.enumerated() where claimed.count < count {
            // The rescue sweep rides along with the first claim.
            let query = PostgresQuery(
                unsafeSQL: sql.claim(rescue: rescue && index == 0),
                binds: binds(queue, names, Int32(count - claimed.count), name, leaseMilliseconds)
            )
            let (jobs, lost) = try await claimConnection.run { connection in
                try await Self.decodeClaimed(try await connection.query(query, logger: Connector.logger))
            }
            claimed += jobs
            noteLost(lost)
        }
        if unlimited.isEmpty && rescue {
            let lost = try await claimConnection.run { [self] connection in
                var lost: [String: Int] = [:]
                let rows = try await connection.query(PostgresQuery(unsafeSQL: sql.rescue), logger: Connector.logger)
                for try await queue in rows.decode(String.self) { lost[queue, default: 0] += 1 }
                return lost
            }
            noteLost(lost)
        }
        for queue in limited where claimed.count < count {
            let query = PostgresQuery(
                unsafeSQL: sql.claimLimited,
                binds: binds(queue, names, Int32(count - claimed.count), name, leaseMilliseconds)
            )
            let lock = PostgresQuery(unsafeSQL: sql.queueLock, binds: binds(queue))
            claimed += try await claimConnection.run { connection in
                try await connection.withTransaction(logger: Connector.logger) { connection in
                    try await connection.query(lock, logger: Connector.logger)
                    return try await Self.decodeClaimed(try await connection.query(query, logger: Connector.logger)).0
                }
            }
        }
        if let observer = configuration.observer, !claimed.isEmpty {
            var byQueue: [String: Int] = [:]
            for job in claimed { byQueue[job.queue, default: 0] += 1 }
            for (queue, jobs) in byQueue { observer.jobsClaimed(queue: queue, jobs: jobs) }
        }
        return claimed
    }

    /// Counts the jobs a rescue sweep took back (lost leases), and tells the observer.
    func noteLost(_ lost: [String: Int]) {
        guard !lost.isEmpty else { return }
        state.withLock(self) { $0.statistics.rescued += lost.values.reduce(0, +) }
        if let observer = configuration.observer {
            for (queue, jobs) in lost { observer.leasesLost(queue: queue, jobs: jobs) }
        }
    }

    /// The claimed jobs, and the rescue sweep's summary rows (ID 0: jobs rescued per queue).
    static func decodeClaimed(_ rows: PostgresRowSequence) async throws -> ([ClaimedJob], [String: Int]) {
        var claimed: [ClaimedJob] = []
        var lost: [String: Int] = [:]
        for try await (id, jobName, payload, attempt, maxAttempts, timeout, queue, trace) in rows.decode(
            (Int64, String, ByteBuffer, Int32, Int32, Int64, String, ByteBuffer?).self
        ) {
            if id == 0 {
                lost[queue, default: 0] += Int(attempt)
                continue
            }
            claimed.append(
                ClaimedJob(
                    id: id,
                    jobName: jobName,
                    payload: Array(payload.readableBytesView),
                    attempt: attempt,
                    maxAttempts: maxAttempts,
                    timeoutMilliseconds: timeout,
                    queue: queue,
                    trace: TraceCarrier.decode(trace)
                )
            )
        }
        return (claimed, lost)
    }

    /// Hands claimed jobs to the local pool, spread over its workers in batches.
    func dispatch(_ claimed: [ClaimedJob]) {
        state.withLock(self) { state in
            for job in claimed { state.held[job.id] = Held(attempt: job.attempt) }
            state.statistics.claimed += claimed.count
        }
        let workers = max(1, runner.workerCount)
        let size = max(1, min(configuration.localBatch, (claimed.count + workers - 1) / workers))
        var start = 0
        while start < claimed.count {
            let batch = Array(claimed[start..<min(claimed.count, start + size)])
            start += batch.count
            let stop = runner.start(
                batch.map {
                    LocalItem(
                        jobName: $0.jobName,
                        payload: $0.payload,
                        timeoutMilliseconds: $0.timeoutMilliseconds,
                        trace: $0.trace
                    )
                }
            ) { [self] results in
                finishLocal(zip(batch, results).map { ($0, $1) })
            }
            if let stop, batch.count == 1 {
                // A cancellation that arrived while the task was being started finds no stop: stop it now.
                let job = batch[0]
                let stillHeld = state.withLock(self) { state -> Bool in
                    guard state.held[job.id]?.attempt == job.attempt else { return false }
                    state.held[job.id]?.stop = stop
                    return true
                }
                if !stillHeld && stopWanted(job) { stop() }
            }
            if case .threads = runner {
                for job in batch where job.timeoutMilliseconds > 0 {
                    Task { [self] in
                        try? await Task.sleep(for: .milliseconds(job.timeoutMilliseconds))
                        let failure = StoredFailure(
                            code: OffloadError.Code.taskTimedOut.description,
                            message: "the job ran longer than its timeout of \(job.timeoutMilliseconds) ms; "
                                + "the attempt was abandoned (a thread-backed worker cannot stop it)"
                        )
                        finishLocal([(job, .failure(failure))])
                    }
                }
            }
        }
    }

    /// Turns local outcomes into completion rows; a job no longer held (cancelled, lease lost, timed out first) is
    /// dropped.
    func finishLocal(_ outcomes: [(ClaimedJob, Result<[UInt8], StoredFailure>)]) {
        let backoff = configuration.backoff
        state.withLock(self) { state in
            for (job, result) in outcomes {
                guard let held = state.held[job.id], held.attempt == job.attempt else {
                    state.stopWhenStarted[job.id] = nil
                    state.statistics.abandoned += 1
                    continue
                }
                state.held[job.id] = nil
                switch result {
                case .success(let output):
                    state.completions.append(
                        CompletionRow(
                            id: job.id,
                            attempt: job.attempt,
                            state: "completed",
                            output: output,
                            failure: nil,
                            delayMilliseconds: 0,
                            queue: job.queue
                        )
                    )
                case .failure(let failure):
                    let decision = AttemptDecision.afterFailure(
                        failure,
                        attempt: Int(job.attempt),
                        maxAttempts: Int(job.maxAttempts),
                        backoff: backoff,
                        random: Double.random(in: 0..<1)
                    )
                    var delay: Int64 = 0
                    var newState = "failed"
                    if case .retry(let milliseconds) = decision {
                        delay = milliseconds
                        newState = "available"
                    }
                    state.completions.append(
                        CompletionRow(
                            id: job.id,
                            attempt: job.attempt,
                            state: newState,
                            output: [],
                            failure: failure,
                            delayMilliseconds: delay,
                            queue: job.queue
                        )
                    )
                }
            }
        }
        completerBell.ring()
        claimBell.ring()
    }

    // MARK: - Complete

    func completerLoop() async {
        var failures = 0
        while true {
            let batch = state.withLock(self) { state -> [CompletionRow]? in
                if state.completions.isEmpty { return state.completerFinishing ? nil : [] }
                let count = min(1_000, state.completions.count)
                defer { state.completions.removeFirst(count) }
                return Array(state.completions.prefix(count))
            }
            guard let batch else { return }
            if batch.isEmpty {
                await completerBell.wait(timeout: .seconds(1))
                continue
            }
            do {
                let accepted = try await record(batch)
                failures = 0
                state.withLock(self) { state in
                    for row in batch where accepted.contains(row.id) {
                        switch row.state {
                        case "completed": state.statistics.completed += 1
                        case "available": state.statistics.retried += 1
                        default: state.statistics.failed += 1
                        }
                    }
                    state.statistics.rejected += batch.count - accepted.count
                }
                if let observer = configuration.observer {
                    var byQueue: [String: PostgresOutcomeCounts] = [:]
                    for row in batch {
                        var counts = byQueue[row.queue, default: PostgresOutcomeCounts()]
                        if !accepted.contains(row.id) {
                            counts.rejected += 1
                        } else if row.state == "completed" {
                            counts.completed += 1
                        } else if row.state == "available" {
                            counts.retried += 1
                        } else {
                            counts.failed += 1
                        }
                        byQueue[row.queue] = counts
                    }
                    for (queue, outcomes) in byQueue { observer.jobsRecorded(queue: queue, outcomes: outcomes) }
                }
            } catch {
                // Keep the results and try again: the fence makes a repeated statement harmless.
                failures += 1
                state.withLock(self) { $0.completions.insert(contentsOf: batch, at: 0) }
                try? await Task.sleep(for: .milliseconds(min(1_000, 25 << min(failures, 6))))
            }
        }
    }

    func record(_ rows: [CompletionRow]) async throws -> Set<Int64> {
        let query = rows.allSatisfy({ $0.state == "completed" }) ? successQuery(rows) : completionQuery(rows)
        return try await completeConnection.run { connection in
            var accepted = Set<Int64>()
            for try await id in try await connection.query(query, logger: Connector.logger).decode(Int64.self) {
                accepted.insert(id)
            }
            return accepted
        }
    }

    func successQuery(_ rows: [CompletionRow]) -> PostgresQuery {
        PostgresQuery(
            unsafeSQL: sql.completeSuccesses,
            binds: binds(rows.map(\.id), rows.map(\.attempt), rows.map { ByteBuffer(bytes: $0.output) }, name)
        )
    }

    func completionQuery(_ rows: [CompletionRow]) -> PostgresQuery {
        PostgresQuery(
            unsafeSQL: sql.complete,
            binds: binds(
                rows.map(\.id),
                rows.map(\.attempt),
                rows.map(\.state),
                rows.map { ByteBuffer(bytes: $0.output) },
                rows.map { $0.failure?.code ?? "" },
                rows.map { $0.failure?.errorType ?? "" },
                rows.map { $0.failure?.message ?? "" },
                rows.map { $0.failure?.signal ?? -1 },
                rows.map { $0.failure?.exitStatus ?? -1 },
                rows.map { $0.failure?.stderr.joined(separator: "\n") ?? "" },
                rows.map(\.delayMilliseconds),
                name
            )
        )
    }

    // MARK: - Heartbeat

    func registerAndLoadLimits() async {
        _ = try? await heartbeatOnce()
    }

    func heartbeatLoop() async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: configuration.heartbeatInterval) } catch { return }
            do {
                try await heartbeatOnce()
            } catch {
                // Retry soon rather than after a whole interval: the lease is running out.
                try? await Task.sleep(for: .milliseconds(200))
                _ = try? await heartbeatOnce()
            }
        }
    }

    func heartbeatOnce() async throws {
        let held = state.withLock(self) { state in state.held.map { ($0.key, $0.value.attempt) } }
        let query = PostgresQuery(
            unsafeSQL: sql.heartbeat,
            binds: binds(
                held.map(\.0),
                configuration.lease.milliseconds,
                name,
                host,
                Int32(getpid()),
                configuration.queues,
                registry.jobNames,
                held.map(\.1)
            )
        )
        let limitsQuery = PostgresQuery(unsafeSQL: sql.queueLimits, binds: binds(configuration.queues))
        let (renewed, limits) = try await completeConnection.run { connection in
            var renewed = Set<Int64>()
            for try await id in try await connection.query(query, logger: Connector.logger).decode(Int64.self) {
                renewed.insert(id)
            }
            var limits: [String: Int] = [:]
            for try await (queue, limit) in try await connection.query(limitsQuery, logger: Connector.logger).decode(
                (String, Int32).self
            ) {
                limits[queue] = Int(limit)
            }
            return (renewed, limits)
        }
        state.withLock(self) { $0.limits = limits }
        if let observer = configuration.observer { await reportDepth(to: observer) }
        // Jobs not renewed are no longer ours (rescued after a stall, or cancelled while a notification was lost):
        // stop them and drop their results.
        drop(held.filter { !renewed.contains($0.0) })
    }

    /// Reads the unfinished jobs of the served queues by state and tells the observer (only with an observer: one
    /// statement per heartbeat). A failure skips this sample.
    func reportDepth(to observer: any PostgresObserver) async {
        let query = PostgresQuery(unsafeSQL: sql.queueDepth, binds: binds(configuration.queues))
        let counted = try? await completeConnection.run { connection in
            var counted: [String: Int] = [:]
            for try await (queue, state, jobs) in try await connection.query(query, logger: Connector.logger)
                .decode((String, String, Int64).self)
            {
                counted["\(state)\u{0}\(queue)"] = Int(jobs)
            }
            return counted
        }
        guard let counted else { return }
        var depths: [PostgresQueueDepth] = []
        for queue in configuration.queues {
            for state in ["available", "running"] {
                depths.append(PostgresQueueDepth(queue: queue, state: state, jobs: counted["\(state)\u{0}\(queue)"] ?? 0))
            }
        }
        observer.queueDepth(depths)
    }

    /// Jobs that are no longer this worker's (cancelled, or their lease lost): their local tasks are stopped (a
    /// process-backed worker kills the process running one) and their results will be dropped.
    func drop(_ jobs: [(Int64, Int32)]) {
        guard !jobs.isEmpty else { return }
        let stops = state.withLock(self) { state -> [LocalStop] in
            var stops: [LocalStop] = []
            for (id, attempt) in jobs {
                guard let held = state.held[id], held.attempt == attempt else { continue }
                state.held[id] = nil
                if let stop = held.stop {
                    stops.append(stop)
                } else {
                    state.stopWhenStarted[id] = attempt
                }
            }
            state.statistics.stopped += stops.count
            return stops
        }
        for stop in stops { stop() }
        claimBell.ring()
    }

    /// Whether `job` was dropped before its local task's stop was known (and so must be stopped now).
    func stopWanted(_ job: ClaimedJob) -> Bool {
        state.withLock(self) { state in
            guard state.stopWhenStarted[job.id] == job.attempt else { return false }
            state.stopWhenStarted[job.id] = nil
            state.statistics.stopped += 1
            return true
        }
    }

    // MARK: - Listen

    func listenLoop() async {
        var failures = 0
        while !Task.isCancelled {
            do {
                let connection = try await Connector.connectOnce(configuration.settings, purpose: "worker-listen")
                defer { Task { try? await connection.close() } }
                try await connection.listen(on: sql.jobsChannel) { notifications in
                    if failures > 0 { state.withLock(self) { $0.statistics.reconnects += 1 } }
                    failures = 0
                    // Jobs inserted while we were not listening.
                    claimBell.ring()
                    for try await notification in notifications {
                        let payload = notification.payload
                        if payload.hasPrefix("cancel:"), let id = Int64(payload.dropFirst(7)) {
                            cancelHeld(id)
                        } else {
                            claimBell.ring()
                        }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                failures += 1
                try? await Task.sleep(for: .milliseconds(min(1_000, 25 << min(failures, 6))))
            }
        }
    }

    /// A running job of ours was cancelled: stop it and drop its result.
    func cancelHeld(_ id: Int64) {
        guard let attempt = state.withLock(self, { $0.held[id]?.attempt }) else { return }
        drop([(id, attempt)])
    }

    // MARK: - Shutdown

    /// Waits for held jobs up to the grace period, then hands the rest back.
    func drainAndRelease() async {
        let deadline = ContinuousClock.now + configuration.shutdownGracePeriod
        while ContinuousClock.now < deadline && !state.withLock(self, { $0.held.isEmpty }) {
            await claimBell.wait(timeout: .milliseconds(50))
        }
        let remaining = state.withLock(self) { state in state.held.map { ($0.key, $0.value.attempt) } }
        guard !remaining.isEmpty else { return }
        let query = PostgresQuery(unsafeSQL: sql.release, binds: binds(remaining.map(\.0), remaining.map(\.1), name))
        for attempt in 0..<10 {
            do {
                let released = try await claimConnection.run { connection in
                    var count = 0
                    for try await _ in try await connection.query(query, logger: Connector.logger) { count += 1 }
                    return count
                }
                state.withLock(self) { $0.statistics.released += released }
                return
            } catch {
                try? await Task.sleep(for: .milliseconds(100 * (attempt + 1)))
            }
        }
    }
}
