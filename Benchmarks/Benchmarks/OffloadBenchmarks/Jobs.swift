import Offload

/// One multiply: nothing but per-job overhead (the shape of `offload bench-processes`' trivial job).
struct TrivialJob: Job {
    static var jobName: String { "benchmarks.Trivial" }
    var item: Int
    func run() throws -> UInt64 { UInt64(item) &* 2_654_435_761 }
}

/// A typical small job that is not plain data: a few scalars, a short string and an array (the shape of
/// `offload bench-processes`' codec comparison and of the pickle lane beside it).
struct SmallJob: Job, Equatable {
    static var jobName: String { "benchmarks.Small" }
    var id: Int
    var scale: Double
    var label: String
    var flags: [Bool]
    func run() throws -> Int { id }
}

/// The registry the benchmark executable serves when a pool relaunches it as a worker.
let registry = JobRegistry(TrivialJob.self, SmallJob.self)
