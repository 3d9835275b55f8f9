/// Trial division over `10_000_000..<10_000_000 + n`, one item per number (the texts' `is_prime`, which tries every
/// divisor from 2 to √n). An item's result is the number if it is prime, else 0.
public struct Primes: ProcessWorkload {
    public static let name = "primes"
    public static let sizeMeaning = "numbers tested, starting at 10,000,000"
    /// 200,000 numbers: 10_000_000..<10_200_000.
    public static let defaultN = 200_000
    public static let defaultPythonN = 20_000
    /// The first number tested.
    public static let start = 10_000_000
    public static let lanes: [BenchLane] = [
        .sequential, .actor, .taskgroup, .taskgroupAll, .concurrentPerform, .threadpool, .threadpoolSubmit,
        .isolatedpool, .processpool,
        .pythonSequential, .pythonThread, .pythonProcess, .pythonInterpreter, .pythonAsyncio, .pythonAsyncioExecutor,
    ]
    public static let python = """
        def prime_item(n):
            \"\"\"is_prime by trial division, as in the texts; the number if prime, else 0.\"\"\"
            if n < 2:
                return 0
            for i in range(2, math.isqrt(n) + 1):
                if n % i == 0:
                    return 0
            return n


        WORKLOADS["primes"] = lambda n: (prime_item, list(range(10_000_000, 10_000_000 + n)))
        """

    public let n: Int

    public init(n: Int) {
        self.n = n
    }

    public var summary: String {
        "trial division over \(grouped(Self.start))..<\(grouped(Self.start + n)), one item per number"
    }

    public var items: [Int] { Array(Self.start..<(Self.start + n)) }

    public static func runAlone(_ item: Int) -> UInt64 {
        isPrime(item) ? UInt64(item) : 0
    }

    /// `all(n % i for i in range(2, isqrt(n) + 1))`, as in the texts.
    public static func isPrime(_ n: Int) -> Bool {
        if n < 2 { return false }
        var divisor = 2
        while divisor * divisor <= n {
            if n % divisor == 0 { return false }
            divisor += 1
        }
        return true
    }
}
