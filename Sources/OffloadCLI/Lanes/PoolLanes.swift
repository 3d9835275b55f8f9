import Offload
import OffloadBenchJobs

/// `threadpool`: `ThreadPool.map`, automatic chunking. The work is a closure literal, so that the inlined `map` can
/// inline it too, as a caller's code would.
struct ThreadPoolMapLane<Workload: BenchWorkload>: LaneSession {
    let pool: ThreadPool
    let workload: Workload
    let items: [Workload.Item]

    func run() async throws -> LaneRun {
        let workload = self.workload
        return LaneRun(results: try await pool.map(items) { workload.run($0) })
    }

    func close() async {
        await pool.shutdown()
    }
}

/// `simd-threadpool`: the vectorised kernel on `ThreadPool.map`.
struct VectorisedThreadPoolLane<Workload: VectorWorkload>: LaneSession {
    let pool: ThreadPool
    let workload: Workload
    let items: [Workload.Item]

    func run() async throws -> LaneRun {
        let workload = self.workload
        return LaneRun(results: try await pool.map(items) { workload.runVectorised($0) })
    }

    func close() async {
        await pool.shutdown()
    }
}

/// `threadpool-submit`: one unchunked `ThreadPool.submit` per item, then every handle awaited: the per-task cost of
/// the pool. The submit loop is also timed on its own: the overhead a caller pays per `submit`.
struct ThreadPoolSubmitLane<Workload: BenchWorkload>: LaneSession {
    let pool: ThreadPool
    let workload: Workload
    let items: [Workload.Item]

    func run() async throws -> LaneRun {
        let workload = self.workload
        var handles: [TaskHandle<UInt64>] = []
        handles.reserveCapacity(items.count)
        let start = ContinuousClock.now
        for item in items {
            handles.append(try pool.submit { workload.run(item) })
        }
        let submitted = (ContinuousClock.now - start).seconds
        var results: [UInt64] = []
        results.reserveCapacity(handles.count)
        for handle in handles { results.append(try await handle.value) }
        return LaneRun(results: results, submitSeconds: submitted)
    }

    func close() async {
        await pool.shutdown()
    }
}

/// `isolatedpool`: `IsolatedPool.map`; each worker's private state counts the items it processed, state no other
/// worker can touch.
struct IsolatedPoolMapLane<Workload: BenchWorkload>: LaneSession {
    let pool: IsolatedPool<Int>
    let workload: Workload
    let items: [Workload.Item]

    func run() async throws -> LaneRun {
        let workload = self.workload
        let results = try await pool.map(items) { processed, item in
            processed += 1
            return workload.run(item)
        }
        return LaneRun(results: results)
    }

    func close() async {
        await pool.shutdown()
    }
}

/// `processpool`: `ProcessPool.map` over slices of the items, one ``SliceJob`` per slice, sliced as the pool's
/// automatic batch size would batch them (a job per number would spend its time encoding a struct per number rather
/// than testing it); each slice sends back one result per item.
struct ProcessPoolLane<Workload: ProcessWorkload>: LaneSession {
    let pool: ProcessPool
    let slices: [SliceJob<Workload>]

    /// Starts the pool and waits until every worker answered once, so that timings exclude process start-up.
    static func start(items: [Workload.Item], workers: Int) async throws -> ProcessPoolLane {
        let pool = try await ProcessPool.warmed(workers: workers)
        // About eight slices per worker, at most 1,024 items each (one job per slice).
        let size = max(1, min(1_024, (items.count + pool.workerCount * 8 - 1) / (pool.workerCount * 8)))
        let slices = stride(from: 0, to: items.count, by: size).map {
            SliceJob<Workload>(items: Array(items[$0..<min($0 + size, items.count)]))
        }
        return ProcessPoolLane(pool: pool, slices: slices)
    }

    func run() async throws -> LaneRun {
        // One array of results per slice, joined in input order: what `ProcessPoolExecutor.map` hands back.
        LaneRun(results: Array(try await pool.map(slices, chunkSize: 1).joined()))
    }

    func close() async {
        await pool.shutdown()
    }
}

extension ProcessPool {
    /// A pool of `workers` worker processes that have all answered once, so that timings exclude process start-up.
    static func warmed(workers: Int) async throws -> ProcessPool {
        let pool = try ProcessPool(configuration: ProcessPool.Configuration(workers: workers))
        _ = try await pool.map((0..<workers * 2).map { TrivialJob(item: $0) }, chunkSize: 1)
        return pool
    }
}
