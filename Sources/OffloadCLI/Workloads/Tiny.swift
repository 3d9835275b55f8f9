/// 100,000 trivial items (a multiply): nothing but per-item overhead, which is what this workload measures.
struct Tiny: Workload {
    static let name = "tiny"
    static let defaultCount = 100_000

    let count: Int

    var summary: String { "\(Format.grouped(count)) trivial items (one multiply each): per-item overhead" }

    var items: [Int] { Array(0..<count) }

    var defaultPythonN: Int { 20_000 }

    func run(_ item: Int) -> UInt64 {
        UInt64(item) &* 2_654_435_761
    }
}
