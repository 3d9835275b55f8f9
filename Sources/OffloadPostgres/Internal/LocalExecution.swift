import Dispatch
import Offload
import OffloadCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One claimed job as the local pool runs it.
struct LocalItem: Codable, Sendable {
    var jobName: String
    var payload: [UInt8]
    /// Milliseconds, or -1 for no limit.
    var timeoutMilliseconds: Int64
    /// The submitting span's context from the job's row: the job runs in a child span of it.
    var trace: [String: String]? = nil
}

/// What running one item produced.
enum LocalOutcome: Codable, Sendable {
    case success([UInt8])
    case failure(code: String, errorType: String?, message: String)
}

/// The job a process-backed ``PostgresWorker`` sends to its local ``ProcessPool``: a batch of claimed jobs, each
/// run through the user's ``JobRegistry`` inside the worker process. A job that crashes the process fails the whole
/// batch; the worker then runs the batch's jobs again one by one, so only the job that crashes loses its attempt.
struct LocalBatchJob: Job {
    static var jobName: String { "offload.postgres.LocalBatch" }
    var items: [LocalItem]

    func run() throws -> [LocalOutcome] {
        guard let registry = LocalRegistry.current else {
            throw OffloadError(
                .workerEntryPointMissing,
                "the worker executable must call PostgresWorker.runLocalWorkerIfRequested(registry:) first in main"
            )
        }
        return items.map { item in
            let token = item.timeoutMilliseconds > 0 ? Watchdog.arm(milliseconds: item.timeoutMilliseconds) : 0
            defer { if token != 0 { Watchdog.disarm(token) } }
            return TraceCarrier.run(jobName: item.jobName, carrier: item.trace) {
                LocalOutcome(registry.handle(jobName: item.jobName, payload: item.payload))
            }
        }
    }
}

// The local pool names a task's job in its errors with `String(describing:)`, and does so for every result it delivers
// (not only failing ones): reflecting over the items' payload bytes cost a quarter of a busy worker's CPU (measured
// with `perf`). A description of the job type names and count is what an error message needs.
extension LocalBatchJob: CustomStringConvertible {
    var description: String {
        guard let first = items.first else { return "\(Self.jobName) (empty)" }
        if items.count == 1 { return "\(first.jobName) (claimed from PostgreSQL)" }
        return "\(first.jobName) and \(items.count - 1) more (a batch claimed from PostgreSQL)"
    }
}

extension LocalOutcome {
    init(_ outcome: JobRegistry.Outcome) {
        switch outcome {
        case .success(let output, _): self = .success(output)
        case .failure(let failure):
            self = .failure(code: failure.code, errorType: failure.errorType, message: failure.message)
        }
    }

    var result: Result<[UInt8], StoredFailure> {
        switch self {
        case .success(let bytes): return .success(bytes)
        case .failure(let code, let errorType, let message):
            return .failure(StoredFailure(code: code, errorType: errorType, message: message))
        }
    }
}

/// The registry the worker process serves, set by ``PostgresWorker/runLocalWorkerIfRequested(registry:)``.
enum LocalRegistry {
    private static let storage = Mutex<JobRegistry?>(nil)
    /// Names `storage` to ThreadSanitizer: the local pool's threads read it for every batch, at once.
    private static let owner = MutexOwner()
    static var current: JobRegistry? { storage.withLock(owner) { $0 } }
    static func set(_ registry: JobRegistry) { storage.withLock(owner) { $0 = registry } }
}

/// Kills the worker process when a job outlives its timeout: the pool then reports the crash, which the worker
/// records as ``OffloadError/Code/taskTimedOut`` because of the line written to stderr first.
enum Watchdog {
    static let marker = "offload-postgres: the job exceeded its timeout"
    private static let current = Atomic<UInt64>(0)
    private static let counter = Atomic<UInt64>(0)

    static func arm(milliseconds: Int64) -> UInt64 {
        let token = counter.wrappingAdd(1, ordering: .relaxed).newValue
        current.store(token, ordering: .releasing)
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(clamping: milliseconds))) {
            guard current.load(ordering: .acquiring) == token else { return }
            var line = "\(marker) of \(milliseconds) ms; killing its process\n"
            line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
            raise(SIGKILL)
        }
        return token
    }

    static func disarm(_ token: UInt64) {
        _ = current.compareExchange(expected: token, desired: 0, ordering: .acquiringAndReleasing)
    }
}

/// Stops one local task: withdraws it if the local pool has not started it, and otherwise kills the worker process
/// running it (``CancellationMode/stopRunning``).
struct LocalStop: Sendable {
    let stop: @Sendable () -> Void
    init(_ stop: @escaping @Sendable () -> Void) { self.stop = stop }
    func callAsFunction() { stop() }
}

/// Where a worker runs the jobs it claimed: a local ``ProcessPool`` (a crash costs the job's attempt, never the
/// worker) or a ``ThreadPool``.
enum LocalRunner: Sendable {
    case processes(ProcessPool)
    case threads(ThreadPool, JobRegistry)

    var workerCount: Int {
        switch self {
        case .processes(let pool): return pool.workerCount
        case .threads(let pool, _): return pool.stats.workers
        }
    }

    /// Starts `items` as one local task and calls `done` with one outcome per item. A crashed batch is run again
    /// item by item, so that only the job that crashes loses its attempt.
    /// - Returns: what stops the task (a process-backed runner kills the worker process running it, and `done` then
    ///   gets `CancellationError`s), or `nil` when the task cannot be stopped (a thread-backed runner).
    @discardableResult
    func start(
        _ items: [LocalItem],
        done: @escaping @Sendable ([Result<[UInt8], StoredFailure>]) -> Void
    ) -> LocalStop? {
        switch self {
        case .threads(let pool, let registry):
            do {
                let handle = try pool.submit {
                    items.map { item in
                        TraceCarrier.run(jobName: item.jobName, carrier: item.trace) {
                            LocalOutcome(registry.handle(jobName: item.jobName, payload: item.payload)).result
                        }
                    }
                }
                handle.completion.onCompletion { result in
                    switch result {
                    case .success(let outcomes): done(outcomes)
                    case .failure(let error): done(Array(repeating: .failure(StoredFailure(error)), count: items.count))
                    }
                }
            } catch {
                done(Array(repeating: .failure(StoredFailure(error)), count: items.count))
            }
            return nil
        case .processes(let pool):
            do {
                let handle = try pool.submit(LocalBatchJob(items: items))
                handle.completion.onCompletion { result in
                    switch result {
                    case .success(let outcomes): done(outcomes.map(\.result))
                    case .failure(let error) where items.count > 1 && Self.isCrash(error):
                        // Find the job that crashed: run each alone (at-least-once: the others may run twice).
                        let gather = ResultGather<Result<[UInt8], StoredFailure>>(count: items.count) { gathered in
                            if case .success(let outcomes) = gathered { done(outcomes) }
                        }
                        for (index, item) in items.enumerated() {
                            start([item]) { outcomes in gather.set(index, .success(outcomes[0])) }
                        }
                    case .failure(let error):
                        done(Array(repeating: .failure(Self.failure(from: error)), count: items.count))
                    }
                }
                return LocalStop { _ = handle.cancel(mode: .stopRunning) }
            } catch {
                done(Array(repeating: .failure(StoredFailure(error)), count: items.count))
                return nil
            }
        }
    }

    static func failure(from error: any Error) -> StoredFailure {
        var failure = StoredFailure(error)
        if let error = error as? OffloadError, error.workerStderr.contains(where: { $0.contains(Watchdog.marker) }) {
            failure.code = OffloadError.Code.taskTimedOut.description
            failure.message = "the job ran longer than its timeout; its worker process was killed"
        }
        return failure
    }

    static func isCrash(_ error: any Error) -> Bool {
        guard let error = error as? OffloadError else { return false }
        return error.code == .workerCrashed || error.code == .taskTimedOut || error.code == .memoryLimitExceeded
    }

    /// Process IDs to kill when jobs outlive the shutdown grace period.
    var processIDs: [Int32] {
        if case .processes(let pool) = self { return pool.workerPIDs }
        return []
    }

    func shutdown() async {
        switch self {
        case .processes(let pool): await pool.shutdown(cancelPending: true)
        case .threads(let pool, _): await pool.shutdown(cancelPending: true)
        }
    }
}
