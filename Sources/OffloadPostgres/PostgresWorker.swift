import Dispatch
import Offload
import OffloadCore
import PostgresNIO
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The working side of a PostgreSQL job queue: claims jobs that ``PostgresQueue`` (or any process) inserted, runs them
/// with your ``JobRegistry`` — in a local ``ProcessPool`` by default — and records their results.
///
/// Run it from `main` of your worker executable, with the same registry you would give a process pool:
///
/// ```swift
/// @main struct Worker {
///     static func main() async throws {
///         let registry = JobRegistry(CountPrimes.self, SendReceipt.self)
///         PostgresWorker.runLocalWorkerIfRequested(registry: registry)  // first: serves the local process pool
///         let settings = try PostgresSettings(url: "postgres://worker@db/jobs")
///         let worker = try await PostgresWorker(configuration: .init(settings: settings), registry: registry)
///         try await worker.run()  // until SIGTERM or worker.shutdown()
///     }
/// }
/// ```
///
/// One worker process claims up to ``Configuration/claimBatch`` jobs per statement (`FOR UPDATE SKIP LOCKED`, so any
/// number of workers on any number of machines share a queue without blocking each other), only of the job types its
/// registry knows, and holds them under a lease that one heartbeat statement renews. Results are recorded in batches
/// fenced by the attempt: a worker whose lease ran out (it stalled, or lost its connection for too long) cannot
/// overwrite the outcome of the attempt that replaced it. Failed attempts are retried with exponential backoff and
/// jitter; a job with no attempts left is `failed` with its last error. A queue's concurrency limit
/// (``PostgresQueue/setConcurrencyLimit(_:forQueue:)``) holds across all workers. New jobs wake the worker by
/// LISTEN/NOTIFY, with a fallback poll (``Configuration/pollInterval``) that also rescues jobs of dead workers.
///
/// A dropped connection or a PostgreSQL restart is survived: connections are reopened with backoff, LISTEN is
/// re-established, and results waiting to be recorded are kept and recorded then.
///
/// Python mapping: a Celery or RQ worker (`celery worker`, `rq worker`); River's `Client.Start`, Oban's queues.
public final class PostgresWorker: Sendable {
    struct Held: Sendable {
        var attempt: Int32
        /// Stops the job's local task (set once it started, when the task holds this job alone).
        var stop: LocalStop?
    }

    struct ClaimedJob: Sendable {
        var id: Int64
        var jobName: String
        var payload: [UInt8]
        var attempt: Int32
        var maxAttempts: Int32
        var timeoutMilliseconds: Int64
        var queue: String = ""
        /// The submitting span's context (``TraceCarrier``).
        var trace: [String: String]? = nil
    }

    struct CompletionRow: Sendable {
        var id: Int64
        var attempt: Int32
        var state: String
        var output: [UInt8]
        var failure: StoredFailure?
        var delayMilliseconds: Int64
        var queue: String = ""
    }

    struct State {
        var held: [Int64: Held] = [:]
        var statistics = Statistics()
        var limits: [String: Int] = [:]
        var stopRequested = false
        var started = false
        var completions: [CompletionRow] = []
        var completerFinishing = false
        /// Jobs dropped (cancelled, lease lost) before their local task's stop was known: stopped once it is.
        var stopWhenStarted: [Int64: Int32] = [:]
    }

    /// The configuration.
    public let configuration: Configuration
    /// The worker's name, as shown by ``PostgresQueue/status()`` and `offload-postgres status`.
    public let name: String
    let registry: JobRegistry
    let sql: SQL
    let claimConnection: ManagedConnection
    let completeConnection: ManagedConnection
    let runner: LocalRunner
    let state = Mutex(State())
    let claimBell = Doorbell()
    let completerBell = Doorbell()
    let maxHeld: Int
    let host: String
    let server: String

    /// Turns this process into a local pool worker when a process-backed ``PostgresWorker`` started it; returns at
    /// once otherwise. Call it first thing in `main` (instead of ``ProcessPool/runWorkerIfRequested(registry:)``).
    /// - Parameter registry: the job types this executable can run.
    public static func runLocalWorkerIfRequested(registry: JobRegistry) {
        LocalRegistry.set(registry)
        var local = registry
        local.register(LocalBatchJob.self)
        ProcessPool.runWorkerIfRequested(registry: local)
    }

    /// Connects, migrates (unless ``PostgresSettings/migrateOnStart`` is `false`) and starts the local pool.
    /// - Parameters:
    ///   - configuration: the server, queues, execution and timings.
    ///   - registry: the job types this worker runs; it claims only these.
    /// - Throws: ``OffloadError/Code/connectionFailed`` naming the server and the cause,
    ///   ``OffloadError/Code/schemaTooNew``, ``OffloadError/Code/invalidArgument``, or the local pool's start-up
    ///   error (``OffloadError/Code/workerEntryPointMissing`` when `main` does not call
    ///   ``runLocalWorkerIfRequested(registry:)``).
    public init(configuration: Configuration, registry: JobRegistry) async throws(OffloadError) {
        try configuration.validate()
        if registry.jobNames.isEmpty { throw OffloadError(.invalidArgument, "the worker's registry has no job types") }
        let settings = configuration.settings
        self.configuration = configuration
        self.registry = registry
        sql = SQL(schema: settings.schema)
        server = settings.endpoint.serverDescription
        host = Self.hostName()
        name = configuration.name ?? "\(host):\(getpid()):\(UInt32.random(in: 0..<UInt32.max) >> 8)"
        maxHeld = configuration.maxHeld ?? configuration.claimBatch * 2
        let first = try await Connector.connectToCurrentSchema(settings, purpose: "worker")
        claimConnection = ManagedConnection(settings: settings, purpose: "worker", initial: first)
        completeConnection = ManagedConnection(settings: settings, purpose: "worker-complete")
        do {
            switch configuration.execution {
            case .processes(let local):
                let pool = try ProcessPool(configuration: local)
                do {
                    _ = try await pool.run(LocalBatchJob(items: []))
                } catch {
                    await pool.shutdown(cancelPending: true)
                    throw (error as? OffloadError) ?? OffloadError(.spawnFailed, "the local pool failed: \(error)")
                }
                runner = .processes(pool)
            case .threads(let workers):
                runner = .threads(try ThreadPool(workers: workers, name: "offload-pg"), registry)
            }
        } catch let error as OffloadError {
            await claimConnection.close()
            throw error
        } catch {
            await claimConnection.close()
            throw OffloadError(.spawnFailed, "the local pool failed to start: \(error)")
        }
    }

    /// Serves the queues until ``shutdown()`` is called or (with ``Configuration/handlesTerminationSignals``) SIGTERM
    /// or SIGINT arrives; then stops claiming, lets held jobs finish for ``Configuration/shutdownGracePeriod``, hands
    /// the rest back, records every result, and returns. Call it once.
    /// - Throws: ``OffloadError/Code/invalidArgument`` if called twice.
    public func run() async throws(OffloadError) {
        let first = state.withLock(self) { state in
            defer { state.started = true }
            return !state.started
        }
        if !first { throw OffloadError(.invalidArgument, "PostgresWorker.run() was already called") }
        let signalSources = configuration.handlesTerminationSignals ? installSignalHandlers() : []
        await registerAndLoadLimits()
        let listen = Task { await listenLoop() }
        let heartbeat = Task { await heartbeatLoop() }
        let completer = Task { await completerLoop() }
        let retention = Task { await retentionLoop() }
        await fetchLoop()
        retention.cancel()
        await retention.value
        await drainAndRelease()
        state.withLock(self) { $0.completerFinishing = true }
        completerBell.ring()
        await completer.value
        listen.cancel()
        heartbeat.cancel()
        await listen.value
        await heartbeat.value
        // Jobs still running after the grace period were handed back; stop their processes.
        if !state.withLock(self, { $0.held.isEmpty }) {
            for pid in runner.processIDs { kill(pid, SIGKILL) }
        }
        await runner.shutdown()
        _ = try? await claimConnection.run { [self] connection in
            try await connection.query(
                PostgresQuery(unsafeSQL: sql.deleteWorker, binds: binds(name)),
                logger: Connector.logger
            )
        }
        await claimConnection.close()
        await completeConnection.close()
        for source in signalSources { source.cancel() }
    }

    /// Asks the worker to stop: ``run()`` stops claiming, finishes or hands back its jobs, and returns.
    public func shutdown() {
        state.withLock(self) { $0.stopRequested = true }
        claimBell.ring()
    }

    /// What the worker has done so far.
    public var statistics: Statistics {
        state.withLock(self) { $0.statistics }
    }

    /// Jobs claimed and not yet finished here.
    public var heldJobs: Int { state.withLock(self) { $0.held.count } }

    var stopRequested: Bool { state.withLock(self) { $0.stopRequested } }

    private func installSignalHandlers() -> [any DispatchSourceSignal] {
        var sources: [any DispatchSourceSignal] = []
        for number in [SIGTERM, SIGINT] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [weak self] in self?.shutdown() }
            source.resume()
            sources.append(source)
        }
        return sources
    }

    private static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
