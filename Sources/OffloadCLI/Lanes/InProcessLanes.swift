import Dispatch
import OffloadBenchJobs
import Synchronization

/// `sequential`: one loop on the calling task.
struct SequentialLane<Workload: BenchWorkload>: LaneSession {
    let workload: Workload
    let items: [Workload.Item]

    func run() async throws -> LaneRun {
        var sum: UInt64 = 0
        for item in items { sum &+= workload.run(item) }
        return LaneRun(sum)
    }
}

/// The GIL analogue: the work runs *inside* one actor, so however many tasks call it, one item runs at a time.
actor Funnel<Workload: BenchWorkload> {
    let workload: Workload

    init(workload: Workload) {
        self.workload = workload
    }

    func run(_ item: Workload.Item) -> UInt64 {
        workload.run(item)
    }
}

/// `actor`: `callers` tasks push every item through one ``Funnel``.
struct ActorLane<Workload: BenchWorkload>: LaneSession {
    let workload: Workload
    let items: [Workload.Item]
    let callers: Int

    func run() async throws -> LaneRun {
        let funnel = Funnel(workload: workload)
        let items = self.items
        let callers = min(self.callers, max(1, items.count))
        let sum = await withTaskGroup(of: UInt64.self) { group in
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
        return LaneRun(sum)
    }
}

/// `taskgroup` / `taskgroup-all`: one child task per item; at most `inFlight` children exist at once (`.max`: all
/// are added up front).
struct TaskGroupLane<Workload: BenchWorkload>: LaneSession {
    let workload: Workload
    let items: [Workload.Item]
    let inFlight: Int

    func run() async throws -> LaneRun {
        let items = self.items
        let workload = self.workload
        let sum = await withTaskGroup(of: UInt64.self) { group in
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
        return LaneRun(sum)
    }
}

/// `concurrentPerform`: `iterations` contiguous slices of the items.
struct ConcurrentPerformLane<Workload: BenchWorkload>: LaneSession {
    let workload: Workload
    let items: [Workload.Item]
    let iterations: Int

    func run() async throws -> LaneRun {
        let items = self.items
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
        return LaneRun(total.load(ordering: .relaxed))
    }
}

/// `simd`: the vectorised kernel in one loop on the calling task.
struct VectorisedLane<Workload: VectorWorkload>: LaneSession {
    let workload: Workload
    let items: [Workload.Item]

    func run() async throws -> LaneRun {
        var sum: UInt64 = 0
        for item in items { sum &+= workload.runVectorised(item) }
        return LaneRun(sum)
    }
}
