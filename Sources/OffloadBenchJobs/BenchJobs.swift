import Offload

/// The jobs `offload`'s worker processes serve: `offload` itself (relaunched) and the lean `offload-worker`, which
/// links only Offload and so starts several milliseconds faster.
public enum BenchJobs {
    /// Every job type `offload` can run in its worker processes.
    public static var registry: JobRegistry {
        JobRegistry(
            SliceJob<SumOfSquares>.self,
            SliceJob<Primes>.self,
            SliceJob<Tiny>.self,
            TrivialJob.self,
            SharedSampleJob.self,
            InlineSampleJob.self,
            CrashJob.self
        )
    }
}

/// One multiply: nothing but per-job overhead (the round-trip, throughput and start-up figures of `bench-processes`).
public struct TrivialJob: Job {
    public static var jobName: String { "offload.bench.Trivial" }
    public var item: Int

    public init(item: Int) {
        self.item = item
    }
    public func run() throws -> UInt64 { Tiny.runAlone(item) }
}

/// Reads every `stride`-th element of a shared buffer (the 256 MB hand-off through shared memory).
public struct SharedSampleJob: Job {
    public static var jobName: String { "offload.bench.SharedSample" }
    public var input: SharedBuffer<Double>.Handle
    public var stride: Int

    public init(input: SharedBuffer<Double>.Handle, stride: Int) {
        self.input = input
        self.stride = stride
    }
    public func run() throws -> Double {
        try input.withUnsafeBufferPointer { Self.sample($0, stride: stride) }
    }

    public static func sample(_ values: UnsafeBufferPointer<Double>, stride: Int) -> Double {
        var total = 0.0
        var index = 0
        while index < values.count {
            total += values[index]
            index += stride
        }
        return total
    }
}

/// The same sample, with the values encoded into the job (the 256 MB hand-off through the pipe).
public struct InlineSampleJob: Job {
    public static var jobName: String { "offload.bench.InlineSample" }
    public var values: [Double]
    public var stride: Int

    public init(values: [Double], stride: Int) {
        self.values = values
        self.stride = stride
    }
    public func run() throws -> Double {
        values.withUnsafeBufferPointer { SharedSampleJob.sample($0, stride: stride) }
    }
}
