import Dispatch
import Offload
import Synchronization

/// A lane prepared for one worker count: its pool (if any) is started before the clock starts and stopped after the
/// runs, so the timings measure the work and the pool's per-item overhead, not thread or process start-up.
protocol LaneSession: Sendable {
    /// Runs every item once and returns the checksum.
    func run() async throws -> UInt64
    /// Stops the pool, if any.
    func close() async
    /// For lanes that submit one task per item: the seconds the submit loop alone took in the last ``run()``.
    var lastSubmitSeconds: Double? { get }
}

extension LaneSession {
    var lastSubmitSeconds: Double? { nil }
}

/// Makes the session of `lane` for `workers` workers.
enum LaneSessions {
    /// - Returns: the session, or `nil` when the lane is not available in this build (with the reason).
    /// - Throws: the pool's error if it cannot start.
    static func make(
        _ lane: BenchLane,
        workload: any Workload,
        kind: WorkloadKind,
        n: Int,
        workers: Int
    ) async throws -> Result<any LaneSession, LaneUnavailable> {
        switch lane {
        case .sequential: return .success(SequentialSession(workload: workload))
        case .actor: return .success(ActorSession(workload: workload, callers: workers))
        case .taskgroup: return .success(TaskGroupSession(workload: workload, inFlight: workers))
        case .taskgroupAll: return .success(TaskGroupSession(workload: workload, inFlight: .max))
        case .concurrentPerform: return .success(ConcurrentPerformSession(workload: workload, iterations: workers))
        case .threadpool, .threadpoolSubmit, .isolatedpool:
            return try PoolLaneSessions.make(lane, workload: workload, workers: workers)
        case .processpool:
            guard let factory = ProcessPoolLaneHook.makeSession else {
                return .failure(LaneUnavailable(reason: ProcessPoolLaneHook.unavailableReason))
            }
            return .success(try await factory(kind, n, workers))
        }
    }
}

/// Why a lane was skipped.
struct LaneUnavailable: Error {
    let reason: String
}

struct SequentialSession: LaneSession {
    let workload: any Workload

    func run() async throws -> UInt64 {
        var sum: UInt64 = 0
        for item in workload.items { sum &+= workload.run(item) }
        return sum
    }

    func close() async {}
}

/// The GIL analogue: the work runs *inside* one actor, so however many tasks call it, one item runs at a time.
actor Funnel {
    let workload: any Workload

    init(workload: any Workload) {
        self.workload = workload
    }

    func run(_ item: Int) -> UInt64 {
        workload.run(item)
    }
}

struct ActorSession: LaneSession {
    let workload: any Workload
    let callers: Int

    func run() async throws -> UInt64 {
        let funnel = Funnel(workload: workload)
        let items = workload.items
        let callers = min(callers, max(1, items.count))
        return await withTaskGroup(of: UInt64.self) { group in
            for caller in 0..<callers {
                group.addTask {
                    var sum: UInt64 = 0
                    for index in stride(from: caller, to: items.count, by: callers) {
                        sum &+= await funnel.run(items[index])
                    }
                    return sum
                }
            }
            return await group.reduce(0, &+)
        }
    }

    func close() async {}
}

/// One child task per item; at most `inFlight` children exist at once (`.max`: all are added up front).
struct TaskGroupSession: LaneSession {
    let workload: any Workload
    let inFlight: Int

    func run() async throws -> UInt64 {
        let items = workload.items
        let workload = self.workload
        return await withTaskGroup(of: UInt64.self) { group in
            var next = 0
            while next < min(inFlight, items.count) {
                let item = items[next]
                group.addTask { workload.run(item) }
                next += 1
            }
            var sum: UInt64 = 0
            for await value in group {
                sum &+= value
                if next < items.count {
                    let item = items[next]
                    group.addTask { workload.run(item) }
                    next += 1
                }
            }
            return sum
        }
    }

    func close() async {}
}

struct ConcurrentPerformSession: LaneSession {
    let workload: any Workload
    let iterations: Int

    func run() async throws -> UInt64 {
        let items = workload.items
        let workload = self.workload
        let iterations = self.iterations
        let total = Atomic<UInt64>(0)
        // Blocks this cooperative thread for the duration, as a synchronous caller of concurrentPerform would.
        DispatchQueue.concurrentPerform(iterations: iterations) { slice in
            let range = (slice * items.count / iterations)..<((slice + 1) * items.count / iterations)
            var sum: UInt64 = 0
            for index in range { sum &+= workload.run(items[index]) }
            total.wrappingAdd(sum, ordering: .relaxed)
        }
        return total.load(ordering: .relaxed)
    }

    func close() async {}
}
