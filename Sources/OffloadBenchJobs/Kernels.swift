/// The seeds' CPU kernels, shared by the `offload bench` lanes and the process-pool jobs.
public enum Kernels {
    /// A value the optimiser cannot see through: `1` at run time, derived from the argument count (which is at least
    /// 1, the program name, but only known at run time). Used as the loop step of `sum-of-squares`: with a literal
    /// step LLVM replaces the whole loop by the closed form of Σi² and the "benchmark" takes 200 ns whatever `--n`
    /// says.
    public static let opaqueOne = UInt64(CommandLine.arguments.count.signum())

    /// The seeds' `heavy_calculation`: `result += i*i` for `i` in `0..<iterations`, wrapping; `step` is 1 but opaque
    /// to the optimiser (see ``opaqueOne``).
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

    /// `all(n % i for i in range(2, isqrt(n) + 1))`, as in the seeds.
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
