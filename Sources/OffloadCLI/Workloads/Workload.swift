import OffloadBenchJobs
import ArgumentParser

/// One of the seeds' CPU-bound workloads, runnable in every bench lane (the rayon-demo layout: one file per workload,
/// every mode runs the same `run(_:)`).
///
/// A workload is a list of independent items; each lane computes `run(item)` for every item and folds the results
/// into a checksum with wrapping addition. The checksum is printed and compared across lanes, so the optimiser cannot
/// drop the work and a lane that skipped or repeated an item is caught.
protocol Workload: Sendable {
    /// The `--workload` name.
    static var name: String { get }
    /// One line describing the work, shown in the report.
    var summary: String { get }
    /// The inputs, one per task.
    var items: [Int] { get }
    /// The work for one item.
    func run(_ item: Int) -> UInt64
    /// The `--n` the Python lanes use by default: pure Python runs the same loops 50-100 times slower, so the Python
    /// side gets a smaller size and is compared by speed-up (against its own sequential run), not by seconds.
    var defaultPythonN: Int { get }
}

extension Workload {
    /// The checksum of `results`: wrapping sum, the same fold the Python script applies (modulo 2^64).
    static func checksum(_ results: some Sequence<UInt64>) -> UInt64 {
        results.reduce(0, &+)
    }
}

/// The workloads `--workload` accepts.
enum WorkloadKind: String, CaseIterable, ExpressibleByArgument, Sendable {
    case sumOfSquares = "sum-of-squares"
    case primes
    case tiny

    /// The `--n` used when none is given.
    var defaultN: Int {
        switch self {
        case .sumOfSquares: return SumOfSquares.defaultIterations
        case .primes: return Primes.defaultCount
        case .tiny: return Tiny.defaultCount
        }
    }

    /// What `--n` means for this workload, for help and errors.
    var nMeaning: String {
        switch self {
        case .sumOfSquares: return "iterations per task (4 tasks)"
        case .primes: return "numbers tested, starting at 10,000,000"
        case .tiny: return "trivial items"
        }
    }

    /// The workload sized by `n`.
    func make(n: Int) -> any Workload {
        switch self {
        case .sumOfSquares: return SumOfSquares(iterations: n)
        case .primes: return Primes(count: n)
        case .tiny: return Tiny(count: n)
        }
    }
}

/// A value the optimiser cannot see through: `1` at run time, derived from the argument count (which is at least 1,
/// the program name, but only known at run time). Used as the loop step of `sum-of-squares`: with a literal step
/// LLVM replaces the whole loop by the closed form of Σi² and the "benchmark" takes 200 ns whatever `--n` says.
enum Opaque {
    static var one: UInt64 { Kernels.opaqueOne }
}
