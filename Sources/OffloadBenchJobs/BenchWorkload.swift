/// A CPU-bound workload of `offload bench`, defined in one place: its items, the work for one item, its sizes, the
/// lanes it runs in and the same work written in Python (rayon-demo's shape: one file per demo, every lane runs the
/// same kernel).
///
/// A workload is a list of independent items; each lane computes ``run(_:)`` for every item, keeps one result per
/// item in input order (as `map` does), and folds the results into a checksum with wrapping addition. The checksum
/// is compared across lanes, so the optimiser cannot drop the work and a lane that skipped or repeated an item is
/// caught.
public protocol BenchWorkload: Sendable {
    /// One task's input.
    associatedtype Item: Codable & Sendable

    /// The `--workload` name.
    static var name: String { get }
    /// What `--n` means, for help and errors.
    static var sizeMeaning: String { get }
    /// The `--n` used when none is given.
    static var defaultN: Int { get }
    /// The `--n` of the pure-Python lanes when `--python-n` is not given: pure Python runs the same loops 50–100 times
    /// slower, so it gets a smaller size and is compared by speed-up against its own sequential run.
    static var defaultPythonN: Int { get }
    /// Every lane this workload runs in (Swift and Python), in report order; `sequential` first.
    static var lanes: [BenchLane] { get }
    /// The same workload in Python: a function `make(n)` returning `(function, items)` registered in `WORKLOADS`
    /// under ``name`` (and, for NumPy lanes, in `NUMPY_WORKLOADS`). Runs on Python 3.8 or later.
    static var python: String { get }

    /// The workload sized by `n` (already validated to be at least 1).
    init(n: Int)
    /// The size.
    var n: Int { get }
    /// One line describing the work, shown in the report.
    var summary: String { get }
    /// The inputs, one per task.
    var items: [Item] { get }
    /// The work for one item.
    func run(_ item: Item) -> UInt64
}

extension BenchWorkload {
    /// The checksum of `results`: wrapping sum, the same fold the Python lanes apply (modulo 2^64).
    public static func checksum(_ results: some Sequence<UInt64>) -> UInt64 {
        results.reduce(0, &+)
    }
}

/// A workload whose items a worker process can run from the item alone: it has the `processpool` lane, whose jobs are
/// slices of the items (``SliceJob``).
public protocol ProcessWorkload: BenchWorkload {
    /// The work for one item, without the workload value (a worker process has only the job).
    static func runAlone(_ item: Item) -> UInt64
    /// ``runAlone(_:)`` of every item of `items`, in order: a ``SliceJob``'s work. A requirement (with a default),
    /// so that each workload's witness is compiled for its own item type: the job's generic body alone would run every
    /// item through unspecialised generic code, several times slower on a one-multiply item.
    static func runSlice(_ items: [Item]) -> [UInt64]
}

extension ProcessWorkload {
    public func run(_ item: Item) -> UInt64 { Self.runAlone(item) }

    public static func runSlice(_ items: [Item]) -> [UInt64] {
        items.map { runAlone($0) }
    }
}

/// A workload with a vectorised kernel (SIMD types) beside its scalar ``BenchWorkload/run(_:)``: it has the `simd` and
/// `simd-threadpool` lanes, so one table shows both multipliers, vector width and cores.
public protocol VectorWorkload: BenchWorkload {
    /// The same result as ``BenchWorkload/run(_:)``, computed with SIMD vectors.
    func runVectorised(_ item: Item) -> UInt64
}

/// The workloads `--workload` accepts, in help order.
public enum BenchWorkloads {
    public static let all: [any BenchWorkload.Type] = [
        SumOfSquares.self, Primes.self, Tiny.self, NumPySumOfSquares.self,
    ]

    /// The workload type called `name`, if any.
    public static func named(_ name: String) -> (any BenchWorkload.Type)? {
        all.first { $0.name == name }
    }
}

/// A value the optimiser cannot see through: `1` at run time, derived from the argument count (which is at least 1,
/// the program name, but only known at run time). Used as the loop step of `sum-of-squares`: with a literal step LLVM
/// replaces the whole loop by the closed form of Σi² and the "benchmark" takes 200 ns whatever `--n` says.
public enum Opaque {
    public static let one = UInt64(CommandLine.arguments.count.signum())
}
