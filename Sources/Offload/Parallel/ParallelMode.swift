/// Where `parallelMap` and ``WorkerPool`` run work — Python's `mode="io" | "cpu" | "auto"`, made precise.
///
/// | Mode | Runs on | Use for | Python analogue |
/// |---|---|---|---|
/// | ``io(maxConcurrency:)`` | Swift's cooperative pool, at most N tasks at once | async I/O: HTTP, databases, files | `asyncio.TaskGroup` + `Semaphore` |
/// | ``threads(workers:)`` | a ``ThreadPool`` of dedicated threads | CPU-bound or blocking work | `ThreadPoolExecutor` (but parallel: no GIL) |
/// | ``isolated(workers:)`` | an ``IsolatedPool``: each worker owns state from `makeState` | CPU work needing per-worker resources | `InterpreterPoolExecutor(initializer=…)` |
/// | ``processes(workers:)`` | a ``ProcessPool`` of worker processes, running ``Job``s | crash isolation, non-thread-safe libraries, memory limits | `ProcessPoolExecutor` |
/// | ``auto`` | ``threads(workers:)`` with one thread per core | when you are not sure | `parallel_map(mode="auto")` |
///
/// Why `.auto` picks threads: Swift has no GIL, so threads already run CPU-bound work on every core, without the
/// start-up, serialization and memory costs of processes; and async work handed to a thread pool still releases the
/// thread at each `await`. Python's `parallel_map(mode="auto")` picks threads for the opposite reason — it is the only safe default in
/// Python — and then cannot use more than one core for pure-Python CPU work.
///
/// Not every mode fits every kind of work, and the mismatch is reported as ``OffloadError/Code/invalidArgument``
/// naming the right call: a closure cannot cross a process boundary (use a ``Job``), and `.isolated` needs a state
/// initializer (use the `makeState:` overload).
public enum ParallelMode: Sendable, Hashable, CustomStringConvertible {
    /// Async work on Swift's cooperative pool, with at most `maxConcurrency` items in flight.
    case io(maxConcurrency: Int)
    /// Dedicated OS threads; `nil` means one per available core.
    case threads(workers: Int? = nil)
    /// Dedicated threads that each own private state; `nil` means one per available core.
    case isolated(workers: Int? = nil)
    /// Worker processes running ``Job``s; `nil` means one per available core.
    case processes(workers: Int? = nil)
    /// ``threads(workers:)`` with one thread per available core.
    case auto

    public var description: String {
        switch self {
        case .io(let limit): return "io(maxConcurrency: \(limit))"
        case .threads(let workers): return "threads(workers: \(workers.map(String.init) ?? "auto"))"
        case .isolated(let workers): return "isolated(workers: \(workers.map(String.init) ?? "auto"))"
        case .processes(let workers): return "processes(workers: \(workers.map(String.init) ?? "auto"))"
        case .auto: return "auto"
        }
    }
}
