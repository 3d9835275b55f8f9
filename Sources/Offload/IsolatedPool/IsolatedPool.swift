/// A pool of dedicated threads, each owning private, non-`Sendable` state made by an initializer that runs on that
/// thread — the analogue of Python's `InterpreterPoolExecutor`, without the interpreters.
///
/// Use it for work that needs a per-worker resource that must not be shared: a parser or decoder with caches, a
/// scratch buffer, a handle to a C library that is not thread-safe, a seeded random generator. Each worker's `State`
/// never leaves its thread, work receives it `inout`, and only `Sendable` inputs and outputs cross between threads —
/// the compiler checks all of this, so user code needs no locks.
///
/// ```swift
/// let pool = try IsolatedPool(workers: 4) { Tokenizer(vocabulary: vocab) }   // one Tokenizer per thread
/// let counts = try await pool.map(documents) { tokenizer, text in tokenizer.tokenize(text).count }
/// await pool.shutdown()
/// ```
///
/// Python mapping: `concurrent.futures.InterpreterPoolExecutor(initializer=…)`. Python isolates whole interpreters
/// so that each has its own GIL; Swift has no GIL, so isolation here is only about *state*: each worker owns its own,
/// enforced at compile time, and work runs in parallel on plain threads at no serialization cost.
public final class IsolatedPool<State>: Sendable {
    @usableFromInline package let core: WorkerPoolCore<State>

    /// The number of workers (threads).
    public var workerCount: Int { core.workerCount }

    /// The name given to the pool; its threads are named `<name>-<index>`.
    public var name: String { core.name }

    /// Starts the workers and runs `makeState` once on each of them, returning when all have succeeded.
    ///
    /// - Parameters:
    ///   - workers: the number of workers; `nil` means ``WorkerCount/available``.
    ///   - name: a short name for the pool and its threads.
    ///   - makeState: creates one worker's private state, on that worker's thread.
    /// - Throws: ``OffloadError/Code/invalidArgument`` for a worker count below 1; the error `makeState` threw
    ///   (unchanged; the workers already started are stopped first); ``OffloadError/Code/systemCallFailed`` if threads
    ///   cannot be created.
    public init(
        workers: Int? = nil,
        name: String = "isolated",
        makeState: @escaping @Sendable () throws -> State
    ) throws {
        let count = try WorkerCount.resolve(workers)
        core = try WorkerPoolCore(name: name, workers: count, kind: .isolated, makeState: makeState)
    }

    deinit {
        core.shutdownDetached()
    }

    /// Queues `work` to run on a worker with that worker's state.
    ///
    /// - Parameters:
    ///   - input: the value handed to `work`; it crosses to the worker thread, hence `Sendable`.
    ///   - work: the work; mutates the worker's state freely.
    /// - Returns: a handle to await, wait on, or cancel.
    /// - Throws: ``OffloadError/Code/poolShutDown`` once shutdown has begun.
    @inlinable
    public func submit<Input: Sendable, Output: Sendable>(
        _ input: Input,
        _ work: @escaping @Sendable (inout State, Input) throws -> Output
    ) throws(OffloadError) -> TaskHandle<Output> {
        try core.submit { state in try work(&state, input) }
    }

    /// Queues a task whose body takes only the state (the chunks of `map`).
    @inlinable
    func submitStateful<Output: Sendable>(
        _ work: @escaping @Sendable (inout State) throws -> Output
    ) throws(OffloadError) -> TaskHandle<Output> {
        try core.submit(work)
    }

    /// Runs `work` on a worker with that worker's state and returns its result.
    ///
    /// - Parameters:
    ///   - input: the value handed to `work`.
    ///   - work: the work.
    /// - Returns: what `work` returned.
    /// - Throws: what `work` threw, unchanged; `CancellationError`; ``OffloadError/Code/poolShutDown``.
    @inlinable
    public func run<Input: Sendable, Output: Sendable>(
        _ input: Input,
        _ work: @escaping @Sendable (inout State, Input) throws -> Output
    ) async throws -> Output {
        try await submit(input, work).value
    }

    /// A consistent snapshot of the pool's counters.
    public var stats: PoolStats { core.stats }

    /// Stops the pool and waits until its threads (and their states) are gone. Idempotent.
    /// - Parameter cancelPending: `true` cancels queued tasks instead of running them.
    public func shutdown(cancelPending: Bool = false) async {
        await core.shutdown(cancelPending: cancelPending)
    }

    /// Stops the pool and blocks until its threads have ended. Idempotent.
    /// - Parameter cancelPending: `true` cancels queued tasks instead of running them.
    @available(*, noasync, message: "use 'await shutdown()' in async code")
    public func shutdownSync(cancelPending: Bool = false) {
        core.shutdownBlocking(cancelPending: cancelPending)
    }
}

/// Runs `body` with a new ``IsolatedPool`` and always shuts it down afterwards, also when `body` throws.
///
/// - Parameters:
///   - workers: the number of workers; `nil` means ``WorkerCount/available``.
///   - name: a short name for the pool.
///   - makeState: creates one worker's private state, on that worker's thread.
///   - body: the code using the pool.
/// - Returns: what `body` returned.
/// - Throws: what `makeState` or `body` threw, or ``OffloadError/Code/invalidArgument``.
@discardableResult
public func withIsolatedPool<State, R>(
    workers: Int? = nil,
    name: String = "isolated",
    makeState: @escaping @Sendable () throws -> State,
    _ body: (IsolatedPool<State>) async throws -> R
) async throws -> R {
    try await withScopedPool(try IsolatedPool(workers: workers, name: name, makeState: makeState), body)
}
