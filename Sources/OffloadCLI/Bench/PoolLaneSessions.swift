import Offload
import Synchronization

/// The lanes that run on Offload's in-process pools. Each session starts its pool before the clock starts, and shuts
/// it down in ``LaneSession/close()``.
enum PoolLaneSessions {
    /// - Returns: the session for `lane` on `workers` workers.
    /// - Throws: the pool's ``OffloadError`` when it cannot start.
    static func make(
        _ lane: BenchLane,
        workload: any Workload,
        workers: Int
    ) throws -> Result<any LaneSession, LaneUnavailable> {
        switch lane {
        case .threadpool:
            return .success(ThreadPoolMapSession(pool: try ThreadPool(workers: workers, name: "bench"), workload: workload))
        case .threadpoolSubmit:
            return .success(ThreadPoolSubmitSession(pool: try ThreadPool(workers: workers, name: "bench"),
                                                    workload: workload))
        case .isolatedpool:
            // Each worker's private state counts the items it processed: state no other worker can touch.
            let pool = try IsolatedPool<Int>(workers: workers, name: "bench") { 0 }
            return .success(IsolatedPoolMapSession(pool: pool, workload: workload))
        default:
            return .failure(LaneUnavailable(reason: "\(lane.rawValue) is not a pool lane"))
        }
    }
}

/// `ThreadPool.map`, automatic chunking.
struct ThreadPoolMapSession: LaneSession {
    let pool: ThreadPool
    let workload: any Workload

    func run() async throws -> UInt64 {
        let workload = self.workload
        let results = try await pool.map(workload.items) { workload.run($0) }
        return results.reduce(0, &+)
    }

    func close() async {
        await pool.shutdown()
    }
}

/// One unchunked `ThreadPool.submit` per item, then every handle awaited: the per-task cost of the pool. The submit
/// loop is also timed on its own (``lastSubmitSeconds``): that is the overhead a caller pays per `submit`.
struct ThreadPoolSubmitSession: LaneSession {
    let pool: ThreadPool
    let workload: any Workload
    private let submitSeconds = SubmitTimer()

    init(pool: ThreadPool, workload: any Workload) {
        self.pool = pool
        self.workload = workload
    }

    var lastSubmitSeconds: Double? { submitSeconds.value.withLock { $0 } }

    func run() async throws -> UInt64 {
        let workload = self.workload
        var handles: [TaskHandle<UInt64>] = []
        handles.reserveCapacity(workload.items.count)
        let items = workload.items
        let start = ContinuousClock.now
        for item in items {
            handles.append(try pool.submit { workload.run(item) })
        }
        let submitted = (ContinuousClock.now - start).seconds
        submitSeconds.value.withLock { $0 = submitted }
        var sum: UInt64 = 0
        for handle in handles { sum &+= try await handle.value }
        return sum
    }

    func close() async {
        await pool.shutdown()
    }
}

/// `IsolatedPool.map`: every item gets the running worker's private state.
struct IsolatedPoolMapSession: LaneSession {
    let pool: IsolatedPool<Int>
    let workload: any Workload

    func run() async throws -> UInt64 {
        let workload = self.workload
        let results = try await pool.map(workload.items) { processed, item in
            processed += 1
            return workload.run(item)
        }
        return results.reduce(0, &+)
    }

    func close() async {
        await pool.shutdown()
    }
}

/// The last submit-loop time of a ``ThreadPoolSubmitSession``.
final class SubmitTimer: Sendable {
    let value = Mutex<Double?>(nil)
}
