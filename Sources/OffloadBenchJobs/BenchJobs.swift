import Offload

/// The seeds' workloads as process-pool ``Job``s, and the registry their workers serve: `offload` itself (relaunched)
/// and the lean `offload-worker`, which links only Offload and so starts several milliseconds faster.
public enum BenchJobs {
    /// Every job type `offload` can run in its worker processes.
    public static var registry: JobRegistry {
        JobRegistry(
            SumOfSquaresJob.self,
            IsPrimeJob.self,
            IsPrimeSliceJob.self,
            TrivialJob.self,
            TrivialSliceJob.self,
            SharedSampleJob.self,
            InlineSampleJob.self
        )
    }
}

/// `heavy_calculation(iterations)`, its loop step opaque to the optimiser.
public struct SumOfSquaresJob: Job {
    public static var jobName: String { "offload.bench.SumOfSquares" }
    public var iterations: Int

    public init(iterations: Int) {
        self.iterations = iterations
    }
    public func run() throws -> UInt64 { Kernels.heavyCalculation(UInt64(iterations), step: Kernels.opaqueOne) }
}

/// The seeds' `is_prime(n)` by trial division; the output is `n` if prime, else 0.
public struct IsPrimeJob: Job {
    public static var jobName: String { "offload.bench.IsPrime" }
    public var number: Int

    public init(number: Int) {
        self.number = number
    }
    public func run() throws -> UInt64 { Kernels.isPrime(number) ? UInt64(number) : 0 }
}

/// `is_prime` over a slice of the numbers, returning the sum of the primes (the lane's checksum): the job carries its
/// slice as one `[Int]`, the analogue of `pool.map(is_prime, numbers, chunksize=…)` pickling one list per chunk.
public struct IsPrimeSliceJob: Job {
    public static var jobName: String { "offload.bench.IsPrimeSlice" }
    public var numbers: [Int]

    public init(numbers: [Int]) {
        self.numbers = numbers
    }
    public func run() throws -> UInt64 { numbers.reduce(0) { $0 &+ (Kernels.isPrime($1) ? UInt64($1) : 0) } }
}

/// One multiply per item over a slice, returning the wrapping sum.
public struct TrivialSliceJob: Job {
    public static var jobName: String { "offload.bench.TrivialSlice" }
    public var items: [Int]

    public init(items: [Int]) {
        self.items = items
    }
    public func run() throws -> UInt64 { items.reduce(0) { $0 &+ UInt64($1) &* 2_654_435_761 } }
}

/// One multiply: nothing but per-job overhead.
public struct TrivialJob: Job {
    public static var jobName: String { "offload.bench.Trivial" }
    public var item: Int

    public init(item: Int) {
        self.item = item
    }
    public func run() throws -> UInt64 { UInt64(item) &* 2_654_435_761 }
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

