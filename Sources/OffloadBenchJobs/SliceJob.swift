import Offload

/// A slice of a workload's items as one process-pool ``Job``: the worker runs ``ProcessWorkload/runAlone(_:)`` on each
/// and returns one result per item — the analogue of `ProcessPoolExecutor.map(fn, items, chunksize=…)` pickling one
/// list each way per chunk. One generic job serves every workload, so a workload is defined once.
public struct SliceJob<Workload: ProcessWorkload>: Job {
    public static var jobName: String { "offload.bench.\(Workload.name)" }

    public var items: [Workload.Item]

    public init(items: [Workload.Item]) {
        self.items = items
    }

    public func run() throws -> [UInt64] {
        Workload.runSlice(items)
    }
}
