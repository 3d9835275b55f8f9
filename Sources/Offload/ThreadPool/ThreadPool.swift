/// A pool of dedicated OS threads for CPU-bound (or blocking) work.
///
/// Swift has no GIL: any Swift thread runs in parallel with the others, so CPU-bound work does not need processes to
/// use every core. What it needs is *threads of its own*: Swift concurrency's cooperative pool has one thread per core,
/// and a long computation on it starves every other task in the program. A `ThreadPool` owns its threads, so CPU work
/// runs in parallel while async code keeps making progress.
///
/// ```swift
/// let pool = try ThreadPool()                       // one thread per available core
/// let squares = try await pool.map(1...1_000) { $0 * $0 }   // ordered, chunked automatically
/// let digest = try await pool.run { sha256(bigFile) }       // one task, awaited
/// await pool.shutdown()
/// ```
///
/// It is also a `TaskExecutor`: `withTaskExecutorPreference(pool) { … }` and `Task(executorPreference: pool) { … }`
/// run async code on the pool's threads.
///
/// Python mapping: `concurrent.futures.ThreadPoolExecutor` — ``submit(_:)`` is `submit`, ``map(_:chunkSize:progress:_:)`` is
/// `map` (with `Pool.map`'s chunking), ``mapUnordered(_:chunkSize:maxInFlight:progress:_:)`` is `as_completed` /
/// `imap_unordered`, ``run(_:)`` is `loop.run_in_executor`, ``withThreadPool(workers:name:_:)`` is the `with` block.
/// Unlike Python's, these threads run Python-style CPU-bound code *in parallel*.
///
/// Life cycle: call ``shutdown(cancelPending:)`` (or use ``withThreadPool(workers:name:_:)``). A pool released without
/// shutdown finishes its queued work and its threads end by themselves: nothing leaks and nothing hangs.
public final class ThreadPool: Sendable {
    @usableFromInline package let core: WorkerPoolCore<Void>

    /// The number of worker threads.
    public var workerCount: Int { core.workerCount }

    /// The name given to the pool; its threads are named `<name>-<index>` (truncated to 15 bytes).
    public var name: String { core.name }

    /// Starts a pool.
    /// - Parameters:
    ///   - workers: the number of threads; `nil` means ``WorkerCount/available`` (the processors this process may
    ///     use).
    ///   - name: a short name for the pool and its threads.
    /// - Throws: ``OffloadError/Code/invalidArgument`` for a worker count below 1;
    ///   ``OffloadError/Code/systemCallFailed`` if the threads cannot be created.
    public init(workers: Int? = nil, name: String = "offload") throws(OffloadError) {
        let count = try WorkerCount.resolve(workers)
        do {
            core = try WorkerPoolCore(name: name, workers: count, makeState: {})
        } catch let error as OffloadError {
            throw error
        } catch {
            preconditionFailure("a Void state initializer cannot throw: \(error)")
        }
    }

    deinit {
        core.shutdownDetached()
    }

    /// Queues `work` to run on one of the pool's threads.
    ///
    /// - Parameter work: the work; what it throws reaches whoever reads the handle, unchanged.
    /// - Returns: a handle to await (`try await handle.value`), wait on synchronously, or cancel.
    /// - Throws: ``OffloadError/Code/poolShutDown`` once shutdown has begun.
    @inlinable
    public func submit<T: Sendable>(
        _ work: @escaping @Sendable () throws -> T
    ) throws(OffloadError) -> TaskHandle<T> {
        let item = ThunkWorkItem(body: work)
        try enqueue(item)
        return TaskHandle(completion: item.completion, canceller: core)
    }

    /// The non-generic half of ``submit(_:)``, compiled (and specialized for `Void` state) in the library.
    @usableFromInline
    func enqueue(_ work: any PoolWork<Void>) throws(OffloadError) {
        try core.enqueue(work)
    }

    /// Runs `work` on one of the pool's threads and returns its result.
    ///
    /// Cancelling the calling task cancels the work if it has not started; running work can poll
    /// ``OffloadTask/isCancelled``.
    /// - Parameter work: the work.
    /// - Returns: what `work` returned.
    /// - Throws: what `work` threw, unchanged; `CancellationError`; or ``OffloadError/Code/poolShutDown``.
    @inlinable
    public func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await submit(work).value
    }

    /// A consistent snapshot of the pool's counters.
    public var stats: PoolStats { core.stats }

    /// Stops the pool and waits until its threads have ended. Idempotent; safe to call concurrently.
    ///
    /// - Parameter cancelPending: `false` (default) runs every queued task first; `true` cancels queued tasks
    ///   (their handles throw `CancellationError`) and waits only for running ones.
    public func shutdown(cancelPending: Bool = false) async {
        await core.shutdown(cancelPending: cancelPending)
    }

    /// Stops the pool and blocks the calling thread until its threads have ended. Idempotent.
    /// - Parameter cancelPending: as in ``shutdown(cancelPending:)``.
    @available(*, noasync, message: "use 'await shutdown()' in async code")
    public func shutdownSync(cancelPending: Bool = false) {
        core.shutdownBlocking(cancelPending: cancelPending)
    }
}

/// Runs `body` with a new ``ThreadPool`` and always shuts it down afterwards, also when `body` throws — the analogue of
/// Python's `with ThreadPoolExecutor() as pool:`.
///
/// - Parameters:
///   - workers: the number of threads; `nil` means ``WorkerCount/available``.
///   - name: a short name for the pool and its threads.
///   - body: the code using the pool.
/// - Returns: what `body` returned.
/// - Throws: ``OffloadError/Code/invalidArgument`` for a bad worker count, or what `body` threw.
@discardableResult
public func withThreadPool<R>(
    workers: Int? = nil,
    name: String = "offload",
    _ body: (ThreadPool) async throws -> R
) async throws -> R {
    try await withScopedPool(try ThreadPool(workers: workers, name: name), body)
}
