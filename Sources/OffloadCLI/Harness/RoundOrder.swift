/// The order the lanes run in, round by round: a fresh shuffle per round drawn from one seed, as Google Benchmark's
/// `--benchmark_enable_random_interleaving` does. A lane that always ran right after another would always inherit its
/// caches, its heat and its frequency; shuffled, no lane sits in the same place every round, and the seed reproduces
/// the schedule exactly.
///
/// The generator and the shuffle are written out here, not taken from the standard library, whose `shuffle(using:)`
/// algorithm may change between toolchains: a seed printed today must give the same order tomorrow.
struct RoundOrder: Sendable {
    /// The seed the orders are drawn from.
    let seed: UInt64
    private var generator: SplitMix64

    init(seed: UInt64) {
        self.seed = seed
        generator = SplitMix64(state: seed)
    }

    /// A seed for a run that was not given one (`--seed` omitted): printed, so that the run can be repeated.
    static func randomSeed() -> UInt64 {
        var system = SystemRandomNumberGenerator()
        return system.next() >> 32  // 32 bits: short enough to type back into --seed
    }

    /// The next round's order of `count` lanes: a Fisher–Yates shuffle of `0..<count`.
    mutating func next(count: Int) -> [Int] {
        var order = Array(0..<count)
        var index = count - 1
        while index > 0 {
            let other = Int(generator.next() % UInt64(index + 1))
            order.swapAt(index, other)
            index -= 1
        }
        return order
    }
}

/// SplitMix64 (Steele, Lea and Flood): a tiny, well-mixed 64-bit generator, good enough to shuffle lanes and fixed
/// forever, so that a seed means the same schedule on every toolchain.
struct SplitMix64: RandomNumberGenerator, Sendable {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}
