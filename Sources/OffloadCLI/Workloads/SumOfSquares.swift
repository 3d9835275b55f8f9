import OffloadBenchJobs
/// The seeds' `heavy_calculation`: `result += i ** 2` for `i` in `0..<iterations`, submitted as 4 tasks.
///
/// Swift's `UInt64` wraps where Python's int grows, so the result is the Python result modulo 2^64 (the Python lanes
/// reduce theirs the same way, and the checksums match).
struct SumOfSquares: Workload {
    static let name = "sum-of-squares"
    /// 4 tasks, as in the seeds.
    static let taskCount = 4
    /// 200 million iterations per task: about 70 ms each on this machine once the loop really runs.
    static let defaultIterations = 200_000_000

    let iterations: Int

    var summary: String {
        "\(Self.taskCount) tasks of heavy_calculation(\(Format.grouped(iterations))): result += i*i"
    }

    var items: [Int] { Array(repeating: iterations, count: Self.taskCount) }

    var defaultPythonN: Int { 2_000_000 }

    func run(_ item: Int) -> UInt64 {
        Self.heavyCalculation(UInt64(item), step: Opaque.one)
    }

    /// The loop itself; `step` is 1 but opaque to the optimiser (see ``Opaque``).
    static func heavyCalculation(_ iterations: UInt64, step: UInt64) -> UInt64 {
        Kernels.heavyCalculation(iterations, step: step)
    }
}
