// ProcessPool: crash-proof worker processes running typed Codable jobs.
//
// Data flow (compare CPython Lib/concurrent/futures/process.py):
//
//  caller threads                 manager thread (one per pool)               worker processes
//  ──────────────                 ──────────────────────────────              ────────────────
//  submit(job)                    poll(wake eventfd, result pipes,            read fd 3 → frames
//   ├ JobCodec.encode(job)             stderr pipes, pidfds, POLLOUT)          ├ registry: decode job
//   ├ lock: queue task  ─────────►├ results: decode outside lock,              ├ run()
//   │  idle worker? write frame ──┼──────── command pipe (fd 3) ────────────►  ├ encode output
//   │  else wake manager          │  resume caller's TaskHandle  ◄── result pipe (fd 4) ┘ (coalesced writes)
//   └ TaskHandle ◄────────────────┤ pidfd readable → reap, fail the running task (workerCrashed/…),
//                                 │   requeue the rest, spawn a replacement (posix_spawn)
//                                 ├ deadlines: task timeout / memory limit → SIGKILL the worker
//                                 └ shutdown: drain → "shutdown" frames → SIGTERM → SIGKILL → reap
//
// Duties — caller: encode, queue, write to an idle worker directly (no manager hop on the latency path).
// Manager: everything else; it never blocks on a write (non-blocking pipes + POLLOUT) and is the only reader.
// Worker: serve frames in order, coalesce results, exit on "shutdown" or EOF, die with the parent (PR_SET_PDEATHSIG).
// Design note with the wire format and the failure → error table: docs/design/process-pool.md.
import OffloadSystem

/// A pool of worker processes that run typed ``Job``s: the crash-proof counterpart of ``ThreadPool``.
///
/// Swift has no GIL, so threads already run CPU-bound work in parallel; processes add *isolation*. A `fatalError`, an
/// out-of-bounds index, a segfault in a C library, a hang or a memory blow-up stays inside one worker: its task fails
/// with a precise ``OffloadError`` (``OffloadError/Code/workerCrashed`` with the signal and the worker's last stderr
/// lines, ``OffloadError/Code/taskTimedOut``, ``OffloadError/Code/memoryLimitExceeded``), the worker is replaced, and
/// every other task completes. Python's `ProcessPoolExecutor` instead marks the whole pool broken.
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
/// Jobs and results cross the process boundary encoded by ``JobCodec`` in length-prefixed frames over pipes. Several
/// tasks are kept in flight per worker (adaptive prefetch, ``Configuration/maxPrefetch``) and frames are coalesced
/// into few system calls; ``map(_:batchSize:)`` also batches small jobs. Large inputs should travel in a
/// ``SharedBuffer`` rather than inside the job.
///
/// Cancellation: a task is withdrawn if it is still in the pool's queue; once sent to a worker (at most the prefetch
/// of each worker) it runs to completion. Shut the pool down explicitly (``shutdown(cancelPending:)``) or use
/// ``withProcessPool(_:_:)``; a pool released without shutdown starts a graceful shutdown from `deinit`.
///
/// Python mapping: `concurrent.futures.ProcessPoolExecutor` / `multiprocessing.Pool`.
public final class ProcessPool: Sendable {
    let core: ProcessPoolCore

    /// The pool's configuration.
    public var configuration: ProcessPool.Configuration { core.configuration }

    /// Number of worker processes.
    public var workerCount: Int { core.workerCount }

    /// Starts a pool. Workers are launched in the background; the first tasks wait for them to say hello.
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
            Syscalls.close(core.wakeFD)
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

    /// Queues a job and returns a handle to its result.
    ///
    /// - Parameter job: the job; its type must be registered in the worker's ``JobRegistry``.
    /// - Returns: a handle whose ``TaskHandle/value`` is the job's output, or throws ``OffloadError`` with code
    ///   ``OffloadError/Code/jobFailed`` (the job threw: ``OffloadError/remoteErrorType`` and message),
    ///   ``OffloadError/Code/workerCrashed``, ``OffloadError/Code/taskTimedOut``,
    ///   ``OffloadError/Code/memoryLimitExceeded``, ``OffloadError/Code/unregisteredJob``,
    ///   ``OffloadError/Code/decodingFailed`` / ``OffloadError/Code/encodingFailed`` (in the worker or the parent),
    ///   or `CancellationError`.
    /// - Throws: ``OffloadError/Code/encodingFailed`` if the job cannot be encoded,
    ///   ``OffloadError/Code/poolShutDown`` after shutdown, or the start-up error of a broken pool
    ///   (``OffloadError/Code/workerEntryPointMissing``, ``OffloadError/Code/workerInitializationFailed``,
    ///   ``OffloadError/Code/spawnFailed``).
    public func submit<J: Job>(_ job: J) throws(OffloadError) -> TaskHandle<J.Output> {
        let payload = try JobCodec.encode(job)
        let completion = TaskCompletion<J.Output>()
        try core.submit(
            jobName: J.jobName,
            isBatch: false,
            payload: payload,
            isIdempotent: J.isIdempotent,
            sink: CompletionSink(completion: completion),
            describe: { ProcessPool.describe(job) }
        )
        return TaskHandle(completion: completion, canceller: core)
    }

    /// Queues several jobs as one task (one frame, one result frame): the unit of automatic batching.
    func submitBatch<J: Job>(_ jobs: [J]) throws(OffloadError) -> TaskHandle<BatchResults<J.Output>> {
        let payload = try JobCodec.encode(jobs)
        let completion = TaskCompletion<BatchResults<J.Output>>()
        let count = jobs.count
        try core.submit(
            jobName: J.jobName,
            isBatch: true,
            payload: payload,
            isIdempotent: J.isIdempotent,
            sink: ValuesBatchSink(completion: completion),
            describe: { "\(J.jobName) (batch of \(count))" }
        )
        return TaskHandle(completion: completion, canceller: core)
    }

    /// Runs a job in a worker and returns its output. Cancelling the calling task withdraws the job if no worker has
    /// it yet.
    ///
    /// - Parameter job: the job.
    /// - Returns: the job's output.
    /// - Throws: everything ``submit(_:)`` and its handle throw.
    public func run<J: Job>(_ job: J) async throws -> J.Output {
        try await submit(job).value
    }

    /// A consistent snapshot of the pool's counters (`submitted == completed + failed + cancelled + pending +
    /// running`; a task sent to a worker counts as running).
    public var stats: PoolStats { core.stats }

    /// Process IDs of the live workers (for monitoring, and for tests that check no worker outlives the pool).
    public var workerPIDs: [Int32] { core.workerPIDs }

    /// Shuts the pool down and waits until every worker has exited and been reaped. Idempotent.
    ///
    /// Without `cancelPending`, queued and running tasks finish first (drain). Then each worker is sent a `shutdown`
    /// frame; one that has not exited after ``Configuration/shutdownGracePeriod`` gets SIGTERM, and after another
    /// grace period SIGKILL.
    ///
    /// - Parameter cancelPending: cancel tasks that no worker has started (they end with `CancellationError`).
    public func shutdown(cancelPending: Bool = false) async {
        core.requestShutdown(cancelPending: cancelPending)
        _ = try? await core.terminated.value()
    }

    /// Blocking form of ``shutdown(cancelPending:)`` for synchronous code.
    /// - Parameter cancelPending: cancel tasks that no worker has started.
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
