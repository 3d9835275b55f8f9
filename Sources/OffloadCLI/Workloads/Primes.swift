import OffloadBenchJobs
/// Trial division over `10_000_000..<10_000_000 + count`, one item per number (the seeds' `is_prime`, which tries
/// every divisor from 2 to √n). The result of an item is the number if it is prime, else 0.
struct Primes: Workload {
    static let name = "primes"
    /// The first number tested.
    static let start = 10_000_000
    /// 200,000 numbers: 10_000_000..<10_200_000.
    static let defaultCount = 200_000

    let count: Int

    var summary: String {
        "trial division over \(Format.grouped(Self.start))..<\(Format.grouped(Self.start + count)), one item per number"
    }

    var items: [Int] { Array(Self.start..<(Self.start + count)) }

    var defaultPythonN: Int { 20_000 }

    func run(_ item: Int) -> UInt64 {
        Self.isPrime(item) ? UInt64(item) : 0
    }

    /// `all(n % i for i in range(2, isqrt(n) + 1))`, as in the seeds.
    static func isPrime(_ n: Int) -> Bool { Kernels.isPrime(n) }
}
