import Offload

/// The lanes that run on Offload's in-process pools.
enum PoolLaneSessions {
    /// TODO(thread-pool): replaced by the real sessions when ThreadPool and IsolatedPool land on main.
    static func make(
        _ lane: BenchLane,
        workload: any Workload,
        workers: Int
    ) throws -> Result<any LaneSession, LaneUnavailable> {
        .failure(LaneUnavailable(reason: "\(lane.rawValue) lane skipped: the pool is not in this build yet"))
    }
}
