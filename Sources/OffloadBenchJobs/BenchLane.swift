/// The ways `offload bench` runs a workload. The raw values are the `lane` strings of the `--json` contract.
public enum BenchLane: String, CaseIterable, Sendable {
    /// One loop on the calling thread: the baseline every Swift speed-up is relative to.
    case sequential
    /// Every item funnelled through one actor by `workers` concurrent callers: Swift's analogue of the GIL.
    case actor
    /// One child task per item in a `TaskGroup` (at most `workers` in flight), on Swift's cooperative pool.
    case taskgroup
    /// One child task per item, all added to the `TaskGroup` at once: Python's `tg.create_task` per item. The
    /// cooperative pool decides the parallelism (one thread per core), so the worker count does not apply.
    case taskgroupAll = "taskgroup-all"
    /// `DispatchQueue.concurrentPerform` with `workers` iterations, each taking a contiguous slice of the items.
    case concurrentPerform
    /// `ThreadPool.map` (automatic chunking).
    case threadpool
    /// One unchunked `ThreadPool.submit` per item: the per-task overhead of the pool.
    case threadpoolSubmit = "threadpool-submit"
    /// `IsolatedPool.map`: each worker owns private state (the analogue of InterpreterPoolExecutor).
    case isolatedpool
    /// Worker processes: `ProcessPool.map` over slices of the items (``SliceJob``).
    case processpool
    /// The vectorised kernel (SIMD types) in one loop on the calling thread.
    case simd
    /// The vectorised kernel on `ThreadPool.map`: vector width times cores.
    case simdThreadpool = "simd-threadpool"
    /// Python, one loop: the baseline of the pure-Python lanes.
    case pythonSequential = "python-sequential"
    /// `ThreadPoolExecutor(max_workers=N).map`.
    case pythonThread = "python-thread"
    /// `ProcessPoolExecutor(max_workers=N).map(chunksize=items / 4N)`.
    case pythonProcess = "python-process"
    /// `InterpreterPoolExecutor(max_workers=N).map` (Python 3.14+).
    case pythonInterpreter = "python-interpreter"
    /// One `async def` task per item, gathered on one event loop: asyncio on CPU-bound work.
    case pythonAsyncio = "python-asyncio"
    /// One `loop.run_in_executor(ProcessPoolExecutor(N), …)` per item, gathered on one event loop.
    case pythonAsyncioExecutor = "python-asyncio-executor"
    /// The NumPy kernel, one call per item in one loop.
    case pythonNumpy = "python-numpy"
    /// The NumPy kernel on `ThreadPoolExecutor(max_workers=N)`.
    case pythonNumpyThread = "python-numpy-thread"

    /// Whether the lane runs on the Python side.
    public var isPython: Bool { rawValue.hasPrefix("python-") }

    /// Whether the lane runs NumPy (at the Swift size, compared with the Swift lanes) rather than pure Python (at the
    /// Python size, compared with `python-sequential`).
    public var isNumPy: Bool { self == .pythonNumpy || self == .pythonNumpyThread }

    /// Whether the worker count changes what the lane does.
    public var sweepsWorkers: Bool {
        switch self {
        case .sequential, .taskgroupAll, .simd, .pythonSequential, .pythonAsyncio, .pythonNumpy: return false
        default: return true
        }
    }

    /// What the lane is, for the report's legend.
    public var explanation: String {
        switch self {
        case .sequential: return "one loop on one thread (the baseline)"
        case .actor:
            return "all items funnelled through ONE actor by N callers: Swift's GIL analogue, serialised by design"
        case .taskgroup: return "TaskGroup, one child task per item, at most N in flight (cooperative pool)"
        case .taskgroupAll:
            return "TaskGroup, one child task per item, all added at once (cooperative pool, 1 thread/core)"
        case .concurrentPerform: return "DispatchQueue.concurrentPerform(iterations: N), a contiguous slice each"
        case .threadpool: return "ThreadPool(workers: N).map, automatic chunking"
        case .threadpoolSubmit: return "ThreadPool(workers: N).submit once per item, no chunking"
        case .isolatedpool: return "IsolatedPool(workers: N).map, per-worker private state"
        case .processpool: return "ProcessPool(workers: N).map over slices of the items: worker processes, Codable jobs"
        case .simd: return "the kernel written with SIMD8<Double> vectors, one loop on one thread"
        case .simdThreadpool: return "the SIMD kernel on ThreadPool(workers: N).map: vector width × cores"
        case .pythonSequential: return "Python: one loop, [f(x) for x in items] (the Python baseline)"
        case .pythonThread: return "Python: ThreadPoolExecutor(max_workers=N).map"
        case .pythonProcess: return "Python: ProcessPoolExecutor(max_workers=N).map(chunksize=items/4N)"
        case .pythonInterpreter: return "Python: InterpreterPoolExecutor(max_workers=N).map (3.14+)"
        case .pythonAsyncio: return "Python: one async task per item, asyncio.gather on one event loop"
        case .pythonAsyncioExecutor:
            return "Python: asyncio.gather of loop.run_in_executor(ProcessPoolExecutor(N), f, x) per item"
        case .pythonNumpy: return "Python: the NumPy kernel, one call per item (BLAS kept to one thread)"
        case .pythonNumpyThread: return "Python: the NumPy kernel on ThreadPoolExecutor(max_workers=N)"
        }
    }
}
