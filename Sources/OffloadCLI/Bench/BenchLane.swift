import ArgumentParser
import Offload

/// The ways `offload bench` runs a workload. The raw values are the `lane` strings of the JSON contract.
enum BenchLane: String, CaseIterable, ExpressibleByArgument, Sendable {
    /// One loop on the calling thread: the baseline every speed-up is relative to.
    case sequential
    /// Every item funnelled through one actor by `workers` concurrent callers: Swift's analogue of the GIL.
    case actor
    /// One child task per item in a `TaskGroup` (at most `workers` in flight), on Swift's cooperative pool.
    case taskgroup
    /// One child task per item, all added to the `TaskGroup` at once: the seeds' `tg.create_task` per item. The
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
    /// Worker processes (ProcessPool), when that lane is wired in (see ``ProcessPoolLaneHook``).
    case processpool

    /// Whether the worker count changes what the lane does (the sequential baseline runs once, with 1 worker).
    var sweepsWorkers: Bool { self != .sequential && self != .taskgroupAll }

    /// The worker count reported for a lane that does not sweep: 1 for the baseline, the cooperative pool's width
    /// (one thread per core) for `taskgroup-all`.
    var fixedWorkers: Int { self == .taskgroupAll ? WorkerCount.available : 1 }

    /// What the lane is, for the report's legend.
    var explanation: String {
        switch self {
        case .sequential: return "one loop on one thread (the baseline)"
        case .actor:
            return "all items funnelled through ONE actor by N callers: Swift's GIL analogue, serialised by design"
        case .taskgroup: return "TaskGroup, one child task per item, at most N in flight (cooperative pool)"
        case .taskgroupAll: return "TaskGroup, one child task per item, all added at once (cooperative pool, 1 thread/core)"
        case .concurrentPerform: return "DispatchQueue.concurrentPerform(iterations: N), a contiguous slice each"
        case .threadpool: return "ThreadPool(workers: N).map, automatic chunking"
        case .threadpoolSubmit: return "ThreadPool(workers: N).submit once per item, no chunking"
        case .isolatedpool: return "IsolatedPool(workers: N).map, per-worker private state"
        case .processpool: return "ProcessPool(workers: N): worker processes, Codable jobs"
        }
    }
}
