// ProcessPool: crash-proof worker processes running typed Codable jobs.
//
// Data flow (compare CPython Lib/concurrent/futures/process.py):
//
//  caller threads                  manager thread (one per pool)              worker processes
//  ──────────────                  ─────────────────────────────              ────────────────
//  submit(job) / submitBatch        poll(wake eventfd, result pipes,          read fd 3 → frames
//   ├ JobCodec.encode               stderr pipes, pidfds, POLLOUT)             ├ check cancel flag (journal)
//   ├ lock: state machine ─────────►├ frames → events → state machine         ├ run item, record its output
//   │  → actions; unlock            │   → actions, applied outside the lock   │   in the journal (fd 5, shared)
//   │  write "run" frame ───────────┼──────── command pipe (fd 3) ──────────► ├ result/partial/itemFailure
//   └ TaskHandle ◄──────────────────┤ decode outside the lock, resume ◄─── result pipe (fd 4)
//                                   │ pidfd readable → reap, read journal:
//                                   │   the item running fails, finished items are kept, the rest re-runs
//                                   ├ deadlines: per-job timeout (journal progress), start-up, memory → SIGKILL
//                                   └ shutdown: drain → "shutdown" frames → SIGTERM → SIGKILL → reap
//
// Duties — caller: encode, feed the state machine, write to a worker that can take the job (no manager hop on the
// latency path). Manager: every read, spawn, reap, signal-on-deadline and close; it never blocks on a write.
// State machine (ProcessPoolStateMachine): every decision, no system call. Worker: serve frames in order, record each
// item's progress and output in its journal, exit on "shutdown" or EOF, die with the parent (PR_SET_PDEATHSIG).
// Design note with the wire format and the failure → error table: docs/design/process-pool.md.
import OffloadSystem

/// A pool of worker processes that run typed ``Job``s: the crash-proof counterpart of ``ThreadPool``.
///
/// Swift has no GIL, so threads already run CPU-bound work in parallel; processes add *isolation*. A `fatalError`, an
/// out-of-bounds index, a segfault in a C library, a hang or a memory blow-up stays inside one worker: its job fails
/// with a precise ``OffloadError`` (``OffloadError/Code/workerCrashed`` with the signal and the worker's last stderr
/// lines, ``OffloadError/Code/taskTimedOut``, ``OffloadError/Code/memoryLimitExceeded``), the worker is replaced, and
/// every other job completes. Python's `ProcessPoolExecutor` instead marks the whole pool broken.
///
/// ```swift
/// // main.swift of the executable — the first line makes relaunched copies serve as workers:
/// ProcessPool.runWorkerIfRequested(registry: JobRegistry(CountPrimes.self))
///
/// let counts = try await withProcessPool { pool in
///     try await pool.map((0..<8).map { CountPrimes(range: $0 * 1_000_000 ..< ($0 + 1) * 1_000_000) })
/// }
/// ```
///
/// Jobs and results cross the process boundary encoded by ``JobCodec`` in length-prefixed frames over pipes. The
/// maps send jobs in chunks (one frame per chunk); inside a chunk every job still has its own outcome: a job that
/// throws, crashes its worker or exceeds its timeout fails alone, naming its input, and the jobs after it run on the
/// replacement worker. Large inputs should travel in a ``SharedBuffer`` rather than inside the job.
///
/// Cancellation (``CancellationMode``, default ``Configuration/cancellationMode``): queued jobs, and jobs a worker
/// holds but has not started, are withdrawn at once; a running job is left to finish (`.finishRunning`) or stopped by
/// killing its worker, which is replaced (`.stopRunning`). Either way the handle ends with `CancellationError` at once.
/// Shut the pool down explicitly (``shutdown(cancelPending:)``) or use ``withProcessPool(configuration: _:_:)``; a pool released
/// without shutdown starts a graceful shutdown from `deinit`.
///
/// Python mapping: `concurrent.futures.ProcessPoolExecutor` / `multiprocessing.Pool`.
public final class ProcessPool: JobExecutor {
    let core: ProcessPoolCore

    /// The pool's configuration.
    public var configuration: ProcessPool.Configuration { core.configuration }

    /// Number of worker processes.
    public var workerCount: Int { core.workerCount }

    /// Starts a pool. Workers are launched in the background; jobs submitted before they are ready wait for them,
    /// spread over every worker (see ``waitUntilReady()``).
    ///
    /// - Parameter configuration: worker count, executable, limits and the other options.
    /// - Throws: ``OffloadError/Code/invalidArgument`` for an invalid configuration, ``OffloadError/Code/spawnFailed``
    ///   when the worker executable is not executable, ``OffloadError/Code/systemCallFailed`` when a descriptor or the
    ///   manager thread cannot be created.
    public init(configuration: Configuration = Configuration()) throws(OffloadError) {
        ProcessPool.refuseIfWorkerWithoutEntryPoint()
        Signals.ignoreSIGPIPE()
        let core = try ProcessPoolCore(configuration: configuration)
        self.core = core
        do {
            try systemCall { () throws(SystemCallError) in
                try OSThread.spawnDetached(name: "offload-procs") { core.runManager() }
            }
        } catch {
            core.closeWake()
            throw error
        }
    }

    /// Starts a pool of `workers` processes with otherwise default options.
    /// - Parameter workers: number of worker processes (`nil`: ``WorkerCount/available``).
    /// - Throws: as ``init(configuration:)``.
    public convenience init(workers: Int?) throws(OffloadError) {
        try self.init(configuration: Configuration(workers: workers))
    }

    deinit {
        core.requestShutdown(cancelPending: false)
    }

    /// Waits until every worker has started and said hello, so that the first jobs start at once (useful before
    /// timing, or to report a worker that cannot start before submitting any work).
    /// - Throws: the reason workers cannot start (``OffloadError/Code/workerEntryPointMissing``,
    ///   ``OffloadError/Code/workerInitializationFailed``, ``OffloadError/Code/workerStartFailed``,
    ///   ``OffloadError/Code/spawnFailed``).
    public func waitUntilReady() async throws {
        try await core.ready.value()
    }

    /// Queues a job and returns a handle to its result.
    ///
    /// - Parameters:
    ///   - job: the job; its type must be registered in the worker's ``JobRegistry``.
    ///   - options: per-call options; ``JobOptions/timeout`` overrides ``Configuration/taskTimeout``.
    /// - Returns: a handle whose ``TaskHandle/value`` is the job's output, or throws ``OffloadError`` with code
    ///   ``OffloadError/Code/jobFailed`` (the job threw: ``OffloadError/remoteErrorType`` and message),
    ///   ``OffloadError/Code/workerCrashed``, ``OffloadError/Code/taskTimedOut``,
    ///   ``OffloadError/Code/memoryLimitExceeded``, ``OffloadError/Code/unregisteredJob``,
    ///   ``OffloadError/Code/decodingFailed`` / ``OffloadError/Code/encodingFailed`` (in the worker or the parent),
    ///   or `CancellationError`.
    /// - Throws: ``OffloadError/Code/encodingFailed`` if the job cannot be encoded, ``OffloadError/Code/invalidArgument``
    ///   for a timeout that is not positive, ``OffloadError/Code/poolShutDown`` after shutdown, or the start-up error
    ///   of a broken pool (``OffloadError/Code/workerEntryPointMissing``,
    ///   ``OffloadError/Code/workerInitializationFailed``, ``OffloadError/Code/workerStartFailed``,
    ///   ``OffloadError/Code/spawnFailed``).
    public func submit<J: Job>(_ job: J, options: JobOptions) throws(OffloadError) -> TaskHandle<J.Output> {
        let completion = TaskCompletion<J.Output>()
        try submitSingle(job, options: options, sink: CompletionSink(completion: completion), completion: completion)
        return TaskHandle(completion: completion, canceller: core)
    }

    /// Queues several jobs as one task (one frame each way) with one outcome per job: the unit of the maps' chunks.
    ///
    /// The worker runs the jobs in order and records each outcome as it ends. A job that throws fails alone. If a job
    /// crashes its worker, exceeds its timeout or its memory limit, that job fails (or is retried, for an idempotent
    /// job with ``Configuration/retries``), the outcomes before it are kept, and the jobs after it run on the
    /// replacement worker. Each error names its job (``OffloadError/job``) and its position in `jobs`
    /// (``OffloadError/index``).
    ///
    /// - Parameters:
    ///   - jobs: the jobs, at least one.
    ///   - options: per-call options; the timeout applies to each job, not to the batch.
    /// - Returns: a handle to the outcomes, in the order of `jobs`.
    /// - Throws: as ``submit(_:options:)``, and ``OffloadError/Code/invalidArgument`` for an empty batch.
    public func submitBatch<J: Job>(
        _ jobs: [J],
        options: JobOptions
    ) throws(OffloadError) -> TaskHandle<BatchResults<J.Output>> {
        guard !jobs.isEmpty else { throw OffloadError.invalidArgument("submitBatch needs at least one job") }
        if jobs.count == 1 { return try submitAlone(jobs[0], options: options) }
        let payload = try JobCodec.encode(jobs)
        let completion = TaskCompletion<BatchResults<J.Output>>()
        let jobName = J.jobName
        var task = PoolTask(
            jobName: jobName,
            payload: payload,
            itemCount: jobs.count,
            isIdempotent: J.isIdempotent,
            timeout: try core.timeout(for: options),
            sink: BatchSink(completion: completion),
            describe: { index in
                index.map { ProcessPool.describe(jobs[$0]) } ?? "\(jobName) (batch of \(jobs.count))"
            }
        )
        task.progress = options.progress
        task.traceContext = JobTracing.traceTask(
            jobName: jobName,
            items: jobs.count,
            pool: core.configuration.name,
            completion: completion
        )
        try core.submit(task)
        return TaskHandle(completion: completion, canceller: core)
    }

    /// A batch of one job, sent as a single job: one frame each way and none of a batch's bookkeeping in the worker
    /// (the maps' `chunkSize: 1`), with the outcome still reported as a batch's.
    private func submitAlone<J: Job>(
        _ job: J,
        options: JobOptions
    ) throws(OffloadError) -> TaskHandle<BatchResults<J.Output>> {
        let completion = TaskCompletion<BatchResults<J.Output>>()
        try submitSingle(job, options: options, sink: SoloBatchSink(completion: completion), completion: completion)
        return TaskHandle(completion: completion, canceller: core)
    }

    /// Queues `job` alone (a `run` frame without the batch flag); its outcome goes to `sink`, which finishes
    /// `completion`.
    private func submitSingle<J: Job, Value>(
        _ job: J,
        options: JobOptions,
        sink: any TaskSink,
        completion: TaskCompletion<Value>
    ) throws(OffloadError) {
        let jobName = J.jobName  // a lookup in a locked table for the default name: once per submission
        var task = PoolTask(
            jobName: jobName,
            payload: try JobCodec.encode(job),
            itemCount: nil,
            isIdempotent: J.isIdempotent,
            timeout: try core.timeout(for: options),
            sink: sink,
            describe: { _ in ProcessPool.describe(job) }
        )
        task.progress = options.progress
        task.traceContext = JobTracing.traceTask(
            jobName: jobName,
            items: 1,
            pool: core.configuration.name,
            completion: completion
        )
        try core.submit(task)
    }

    /// A consistent snapshot of the pool's counters (`submitted == completed + failed + cancelled + pending +
    /// running`; a task sent to a worker counts as running; a batch counts as one task, failed if any of its jobs
    /// failed).
    public var stats: PoolStats { core.stats }

    /// Process IDs of the live workers (for monitoring, and for tests that check no worker outlives the pool).
    public var workerPIDs: [Int32] { core.workerPIDs }

    /// Shuts the pool down and waits until every worker has exited and been reaped. Idempotent.
    ///
    /// Without `cancelPending`, queued and running tasks finish first (drain). Then each worker is sent a `shutdown`
    /// frame; one that has not exited after ``Configuration/shutdownGracePeriod`` gets SIGTERM, and after another
    /// grace period SIGKILL.
    ///
    /// - Parameter cancelPending: cancel the tasks that no worker has begun (queued, or prefetched by a worker);
    ///   they end with `CancellationError`. Running jobs finish; a running batch stops after its current job.
    public func shutdown(cancelPending: Bool = false) async {
        core.requestShutdown(cancelPending: cancelPending)
        _ = try? await core.terminated.value()
    }

    /// Blocking form of ``shutdown(cancelPending:)`` for synchronous code.
    /// - Parameter cancelPending: cancel tasks that no worker has begun.
    @available(*, noasync, message: "use 'await pool.shutdown()' in async code")
    public func shutdownSync(cancelPending: Bool = false) {
        core.requestShutdown(cancelPending: cancelPending)
        _ = try? core.terminated.wait(timeout: nil)
    }

    static func describe<J: Job>(_ job: J) -> String {
        var text = String(describing: job)
        if text.count > 200 { text = String(text.prefix(200)) + "…" }
        return text
    }
}
