import Offload
import OffloadBenchJobs

/// Starts the session of any ``BenchLane`` for any workload: the one place that knows which type runs which lane.
enum LaneCatalog {
    /// What the Python lanes need: the running server and the size of the pure-Python lanes.
    struct PythonSide: Sendable {
        let server: PythonLaneServer
        let pureN: Int
    }

    /// The worker count a lane that does not sweep reports: 1, or the cooperative pool's width (one thread per core)
    /// for `taskgroup-all`.
    static func fixedWorkers(_ lane: BenchLane) -> Int {
        lane == .taskgroupAll ? WorkerCount.available : 1
    }

    /// The size a lane runs at: the workload's, or the pure-Python size.
    static func size<W: BenchWorkload>(of lane: BenchLane, workload: W, python: PythonSide?) -> Int {
        lane.isPython && !lane.isNumPy ? (python?.pureN ?? workload.n) : workload.n
    }

    /// Starts `lane` for `workload` on `workers` workers.
    /// - Returns: the prepared lane, or why it cannot run here.
    /// - Throws: a pool's error when it cannot start, or the Python server's.
    static func prepare<W: BenchWorkload>(
        _ lane: BenchLane,
        workload: W,
        items: [W.Item],
        workers: Int,
        python: PythonSide?
    ) async throws -> Result<PreparedLane, LaneUnavailable> {
        func ready<Session: LaneSession>(_ session: Session) -> Result<PreparedLane, LaneUnavailable> {
            .success(PreparedLane(name: lane.rawValue, workers: workers, session: ErasedLane(session)))
        }
        switch lane {
        case .sequential: return ready(SequentialLane(workload: workload, items: items))
        case .actor: return ready(ActorLane(workload: workload, items: items, callers: workers))
        case .taskgroup: return ready(TaskGroupLane(workload: workload, items: items, inFlight: workers))
        case .taskgroupAll: return ready(TaskGroupLane(workload: workload, items: items, inFlight: .max))
        case .concurrentPerform:
            return ready(ConcurrentPerformLane(workload: workload, items: items, iterations: workers))
        case .threadpool:
            let pool = try ThreadPool(workers: workers, name: "bench")
            return ready(ThreadPoolMapLane(pool: pool, workload: workload, items: items))
        case .threadpoolSubmit:
            return ready(ThreadPoolSubmitLane(pool: try ThreadPool(workers: workers, name: "bench"), workload: workload,
                                              items: items))
        case .isolatedpool:
            let pool = try IsolatedPool<Int>(workers: workers, name: "bench") { 0 }
            return ready(IsolatedPoolMapLane(pool: pool, workload: workload, items: items))
        case .processpool:
            // Per-slice work (one IPC round trip per slice): the opened existential costs nothing measurable here.
            guard let jobs = workload as? any ProcessWorkload else { return notApplicable(lane, W.self) }
            return .success(PreparedLane(name: lane.rawValue, workers: workers,
                                         session: try await processLane(jobs, workers: workers)))
        case .simd, .simdThreadpool:
            // Per-item work is a whole array sum: likewise.
            guard let vector = workload as? any VectorWorkload else { return notApplicable(lane, W.self) }
            return .success(PreparedLane(name: lane.rawValue, workers: workers,
                                         session: try vectorLane(vector, onPool: lane == .simdThreadpool ? workers : nil)))
        case .pythonSequential, .pythonThread, .pythonProcess, .pythonInterpreter, .pythonAsyncio,
            .pythonAsyncioExecutor, .pythonNumpy, .pythonNumpyThread:
            guard let python else { return .failure(LaneUnavailable(reason: "\(lane.rawValue) needs --python")) }
            let n = size(of: lane, workload: workload, python: python)
            switch try await python.server.prepare(lane, workload: W.name, workers: workers, n: n) {
            case .failure(let unavailable): return .failure(unavailable)
            case .success(let (session, startup)):
                // Only the executor lanes start something worth reporting.
                return .success(PreparedLane(name: lane.rawValue, workers: workers, session: session,
                                             startupSeconds: lane.sweepsWorkers ? startup : nil))
            }
        }
    }

    private static func notApplicable<W: BenchWorkload>(_ lane: BenchLane, _: W.Type)
        -> Result<PreparedLane, LaneUnavailable>
    {
        .failure(LaneUnavailable(reason: "\(lane.rawValue) lane skipped: it does not apply to \(W.name)"))
    }

    private static func processLane<P: ProcessWorkload>(_ workload: P, workers: Int) async throws -> any LaneSession {
        ErasedLane(try await ProcessPoolLane<P>.start(items: workload.items, workers: workers))
    }

    private static func vectorLane<V: VectorWorkload>(_ workload: V, onPool workers: Int?) throws -> any LaneSession {
        guard let workers else { return ErasedLane(VectorisedLane(workload: workload, items: workload.items)) }
        let pool = try ThreadPool(workers: workers, name: "bench")
        return ErasedLane(VectorisedThreadPoolLane(pool: pool, workload: workload, items: workload.items))
    }
}
