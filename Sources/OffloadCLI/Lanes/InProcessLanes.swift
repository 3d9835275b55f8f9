import Dispatch
import OffloadBenchJobs

// Every lane has one output contract, the one `map` has in Swift and in Python (`ThreadPool.map`,
// `ProcessPoolExecutor.map`, `[f(x) for x in items]`): it materialises one result per item, in input order, and the
// checksum is then folded over that array (``LaneRun/init(results:)``). A lane that summed as it went would skip the
// cost of storing the results that the pools' lanes pay, and the gap between them would be partly the lane's.

/// `sequential`: one loop on the calling task.
struct SequentialLane<Workload: BenchWorkload>: LaneSession {
    let workload: Workload
    let items: [Workload.Item]

    func run() async throws -> LaneRun {
        LaneRun(results: items.map { workload.run($0) })
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
        let results = await withTaskGroup(of: (caller: Int, values: [UInt64]).self) { group in
            for caller in 0..<callers {
                group.addTask {
                    var values: [UInt64] = []
                    values.reserveCapacity(items.count / callers + 1)
                    for index in stride(from: caller, to: items.count, by: callers) {
                        values.append(await funnel.run(items[index]))
                    }
                    return (caller, values)
                }
            }
            // Caller c computed items c, c + callers, …: put each value back at its item's place.
            var results = [UInt64](repeating: 0, count: items.count)
            for await (caller, values) in group {
                for (offset, value) in values.enumerated() { results[caller + offset * callers] = value }
            }
            return results
        }
        return LaneRun(results: results)
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
        let results = await withTaskGroup(of: (index: Int, value: UInt64).self) { group in
            var next = 0
            while next < min(inFlight, items.count) {
                let (index, item) = (next, items[next])
                group.addTask { (index, workload.run(item)) }
                next += 1
            }
            var results = [UInt64](repeating: 0, count: items.count)
            for await (index, value) in group {
                results[index] = value
                if next < items.count {
                    let (index, item) = (next, items[next])
                    group.addTask { (index, workload.run(item)) }
                    next += 1
                }
            }
            return results
        }
        return LaneRun(results: results)
    }
}

/// `concurrentPerform`: `iterations` contiguous slices of the items, each writing its results into its part of one
/// output array — the way `concurrentPerform` computes an array.
struct ConcurrentPerformLane<Workload: BenchWorkload>: LaneSession {
    let workload: Workload
    let items: [Workload.Item]
    let iterations: Int

    func run() async throws -> LaneRun {
        let items = self.items
        let workload = self.workload
        let iterations = self.iterations
        let results = [UInt64](unsafeUninitializedCapacity: items.count) { buffer, initialised in
            let output = SliceOutput(buffer)
            // Blocks this cooperative thread for the duration, as a synchronous caller of concurrentPerform would.
            DispatchQueue.concurrentPerform(iterations: iterations) { slice in
                let range = (slice * items.count / iterations)..<((slice + 1) * items.count / iterations)
                for index in range { output.initialise(index, to: workload.run(items[index])) }
            }
            initialised = items.count
        }
        return LaneRun(results: results)
    }
}

/// The output array of ``ConcurrentPerformLane`` as the slices see it.
///
/// `@unchecked Sendable`: every slice initialises only the indices of its own range, and the ranges are disjoint and
/// cover the buffer, so no element is written twice or by two threads; the buffer is read only after
/// `concurrentPerform` returned, which waits for every slice.
private struct SliceOutput: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<UInt64>

    init(_ buffer: UnsafeMutableBufferPointer<UInt64>) {
        self.buffer = buffer
    }

    @inline(__always)
    func initialise(_ index: Int, to value: UInt64) {
        (buffer.baseAddress! + index).initialize(to: value)
    }
}

/// `simd`: the vectorised kernel in one loop on the calling task.
struct VectorisedLane<Workload: VectorWorkload>: LaneSession {
    let workload: Workload
    let items: [Workload.Item]

    func run() async throws -> LaneRun {
        LaneRun(results: items.map { workload.runVectorised($0) })
    }
}
