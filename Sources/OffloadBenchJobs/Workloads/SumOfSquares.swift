/// Python's `heavy_calculation` from the texts: `result += i ** 2` for `i` in `range(iterations)`, submitted as 4
/// tasks.
///
/// Swift's `UInt64` wraps where Python's int grows, so the result is the Python result modulo 2^64 (the Python lanes
/// reduce theirs the same way, and the checksums match).
public struct SumOfSquares: ProcessWorkload {
    public static let name = "sum-of-squares"
    public static let sizeMeaning = "iterations per task (4 tasks)"
    /// 200 million iterations per task: about 70 ms each on a 2-core machine once the loop really runs.
    public static let defaultN = 200_000_000
    public static let defaultPythonN = 2_000_000
    /// 4 tasks, as in the texts.
    public static let taskCount = 4
    public static let lanes: [BenchLane] = [
        .sequential, .actor, .taskgroup, .taskgroupAll, .concurrentPerform, .threadpool, .threadpoolSubmit,
        .isolatedpool, .processpool,
        .pythonSequential, .pythonThread, .pythonProcess, .pythonInterpreter, .pythonAsyncio, .pythonAsyncioExecutor,
    ]
    public static let python = """
        def heavy_calculation(iterations):
            \"\"\"result += i*i over range(iterations), as in the texts.\"\"\"
            result = 0
            for i in range(iterations):
                result += i * i
            return result & MASK


        WORKLOADS["sum-of-squares"] = lambda n: (heavy_calculation, [n] * 4)
        """

    public let n: Int

    public init(n: Int) {
        self.n = n
    }

    public var summary: String {
        "\(Self.taskCount) tasks of heavy_calculation(\(grouped(n))): result += i*i"
    }

    public var items: [Int] { Array(repeating: n, count: Self.taskCount) }

    public static func runAlone(_ item: Int) -> UInt64 {
        heavyCalculation(UInt64(item), step: Opaque.one)
    }

    /// The loop itself, wrapping; `step` is 1 but opaque to the optimiser (see ``Opaque``).
    @inline(never)
    public static func heavyCalculation(_ iterations: UInt64, step: UInt64) -> UInt64 {
        var result: UInt64 = 0
        var i: UInt64 = 0
        while i < iterations {
            result &+= i &* i
            i &+= step
        }
        return result
    }
}

