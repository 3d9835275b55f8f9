/// 100,000 trivial items (a multiply): nothing but per-item overhead, which is what this workload measures.
public struct Tiny: ProcessWorkload {
    public static let name = "tiny"
    public static let sizeMeaning = "trivial items"
    public static let defaultN = 100_000
    public static let defaultPythonN = 20_000
    public static let lanes: [BenchLane] = [
        .sequential, .actor, .taskgroup, .taskgroupAll, .concurrentPerform, .threadpool, .threadpoolSubmit,
        .isolatedpool, .processpool,
        .pythonSequential, .pythonThread, .pythonProcess, .pythonInterpreter,
    ]
    public static let python = """
        def tiny_item(n):
            \"\"\"One multiply: nothing but per-item overhead.\"\"\"
            return (n * 2654435761) & MASK


        WORKLOADS["tiny"] = lambda n: (tiny_item, list(range(n)))
        """

    public let n: Int

    public init(n: Int) {
        self.n = n
    }

    public var summary: String { "\(grouped(n)) trivial items (one multiply each): per-item overhead" }

    public var items: [Int] { Array(0..<n) }

    public static func runAlone(_ item: Int) -> UInt64 {
        UInt64(item) &* 2_654_435_761
    }
}
