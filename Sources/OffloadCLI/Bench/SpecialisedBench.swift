import OffloadBenchJobs

/// A workload that `offload bench` runs with every lane compiled for it.
///
/// `--workload` names a workload at run time, and calling the generic runner on an opened existential would run every
/// lane's per-item loop through unspecialised generic code (measured: `tiny`'s sequential lane 2 → 11 ns per item).
/// ``runBench(_:)`` is a requirement with a default implementation, so each conformance below gets a witness compiled
/// for its own type, and everything it calls is specialised from there. A workload missing here still runs, through
/// the generic path (``BenchRunner/run()``); a test checks that every workload is listed.
protocol SpecialisedBench: BenchWorkload {
    static func runBench(_ runner: BenchRunner) async throws -> BenchReport
}

extension SpecialisedBench {
    static func runBench(_ runner: BenchRunner) async throws -> BenchReport {
        try await runner.run(Self(n: runner.n))
    }
}

extension SumOfSquares: SpecialisedBench {}
extension Primes: SpecialisedBench {}
extension Tiny: SpecialisedBench {}
extension NumPySumOfSquares: SpecialisedBench {}
