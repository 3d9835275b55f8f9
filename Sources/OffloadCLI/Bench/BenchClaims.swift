import OffloadBenchJobs

/// The claims of the Python texts that a bench run can test, each judged from the run's own figures.
///
/// Claims about parallelism need cores that are free. The run's ``BenchReport/ParallelControl`` is the control: when
/// Swift's own CPU-bound control did not reach ``parallelThreshold`` on a ThreadPool, other work held the cores during
/// the run, and those claims are left undecided rather than judged on a machine that could not run anything in
/// parallel.
struct BenchClaims {
    /// A speed-up below this is "no speed-up"; at or above it, "runs in parallel".
    static let parallelThreshold = 1.3

    let report: BenchReport
    /// Why parallel lanes could not scale in this run, if the control says so.
    let busyCores: String?

    init(_ report: BenchReport) {
        self.report = report
        if report.cores < 2 {
            busyCores = "this machine has \(report.cores) core"
        } else if let control = report.parallelControl, control.speedup < Self.parallelThreshold {
            busyCores = "the cores were busy with other work: Swift's CPU-bound control reached only "
                + "\(Self.times(control.speedup)) on a ThreadPool of \(control.workers) workers in this run"
        } else {
            busyCores = nil
        }
    }

    /// The claims whose lanes ran in `report`, in the order the texts make them.
    static func evaluate(_ report: BenchReport) -> [Claim] {
        BenchClaims(report).claims
    }

    var claims: [Claim] {
        var claims: [Claim] = []
        let gil = report.versions.pythonGILEnabled ?? true
        if let threads = best(.pythonThread) {
            claims.append(gil ? noThreadSpeedup(threads) : freeThreadedSpeedup(threads))
        }
        if let asyncio = report.lanes(.pythonAsyncio).first {
            // One event loop is one thread: the claim needs no free cores.
            let holds = asyncio.speedup < Self.parallelThreshold
            claims.append(Claim(
                claim: "asyncio does not help CPU-bound work: async tasks that never await run one after another "
                    + "on the one event loop",
                measured: "python-asyncio \(Self.times(asyncio.speedup)) vs python-sequential",
                verdict: holds
                    ? "holds: the event loop ran the tasks one at a time, no faster than the plain loop"
                    : "does not hold here: the asyncio lane ran \(Self.times(asyncio.speedup)) faster",
                holds: holds))
        }
        if let executor = best(.pythonAsyncioExecutor) {
            claims.append(parallel(
                executor,
                claim: "The fix is loop.run_in_executor into a ProcessPoolExecutor: the same tasks then run in "
                    + "parallel, one process (and one GIL) each"))
        }
        if let processes = best(.pythonProcess), report.workload != NumPySumOfSquares.name {
            claims.append(parallel(
                processes, claim: "ProcessPoolExecutor gives real multi-core parallelism to CPU-bound Python"))
        }
        if let numpy = report.lanes(.pythonNumpy).first, let threaded = best(.pythonNumpyThread) {
            claims.append(numpyThreads(numpy: numpy, threaded: threaded))
        }
        if let numpy = report.lanes(.pythonNumpy).first, let pure = report.lanes(.pythonSequential).first {
            claims.append(numpyVersusProcesses(numpy: numpy, pure: pure, processes: best(.pythonProcess)))
        }
        if let scalar = report.lanes(.sequential).first, let simd = report.lanes(.simd).first,
            let pooled = best(.simdThreadpool)
        {
            claims.append(vectorTimesCores(scalar: scalar, simd: simd, pooled: pooled,
                                           numpy: report.lanes(.pythonNumpy).first))
        }
        return claims
    }

    /// The lane's entry with the highest speed-up among those on 2 or more workers (or its only entry).
    func best(_ lane: BenchLane) -> BenchReport.Lane? {
        let entries = report.lanes(lane)
        let parallel = entries.filter { $0.workers >= 2 }
        return (parallel.isEmpty ? entries : parallel).max { $0.speedup < $1.speedup }
    }

    /// Why a claim about parallelism measured on `lane` cannot be decided, if it cannot.
    private func undecidedReason(_ lane: BenchReport.Lane) -> String? {
        if lane.workers < 2 { return "needs 2 or more workers (run with --workers 1,2)" }
        return busyCores
    }

    private func undecided(_ claim: String, _ measured: String, _ reason: String) -> Claim {
        Claim(claim: claim, measured: measured, verdict: "cannot decide: \(reason)", holds: nil)
    }

    private func noThreadSpeedup(_ threads: BenchReport.Lane) -> Claim {
        let claim = "Threads do not speed up CPU-bound pure-Python code: the GIL lets one thread run bytecode at a time"
        let measured = "python-thread best \(Self.times(threads.speedup)) at \(threads.workers) workers "
            + "vs python-sequential"
        if let reason = undecidedReason(threads) { return undecided(claim, measured, reason) }
        let holds = threads.speedup < Self.parallelThreshold
        return Claim(
            claim: claim, measured: measured,
            verdict: holds ? "holds: more threads, no more speed" : "does not hold here: the threads ran in parallel",
            holds: holds)
    }

    private func freeThreadedSpeedup(_ threads: BenchReport.Lane) -> Claim {
        let claim = "On a free-threaded build (PEP 703) pure-Python threads run in parallel"
        let measured = "python-thread best \(Self.times(threads.speedup)) at \(threads.workers) workers, without a GIL"
        if let reason = undecidedReason(threads) { return undecided(claim, measured, reason) }
        let holds = threads.speedup >= Self.parallelThreshold
        return Claim(
            claim: claim, measured: measured,
            verdict: holds ? "holds: the threads ran in parallel" : "does not hold here: no speed-up without the GIL",
            holds: holds)
    }

    private func parallel(_ lane: BenchReport.Lane, claim: String) -> Claim {
        let measured = "\(lane.lane) best \(Self.times(lane.speedup)) at \(lane.workers) workers "
            + "vs \(lane.baseline ?? "?")"
        if let reason = undecidedReason(lane) { return undecided(claim, measured, reason) }
        let holds = lane.speedup >= Self.parallelThreshold
        return Claim(
            claim: claim, measured: measured,
            verdict: holds
                ? "holds: \(Self.times(lane.speedup)) on \(min(lane.workers, report.cores)) cores"
                : "does not hold here: the per-item cost of sending work to processes ate the gain",
            holds: holds)
    }

    private func numpyThreads(numpy: BenchReport.Lane, threaded: BenchReport.Lane) -> Claim {
        let ratio = threaded.medianSeconds > 0 ? numpy.medianSeconds / threaded.medianSeconds : 0
        let claim = "NumPy releases the GIL, so threads running NumPy kernels run in parallel "
            + "(\"With NumPy, threaded IS faster\")"
        let measured = "python-numpy-thread ×\(threaded.workers) \(Self.times(ratio)) vs python-numpy "
            + "(\(Format.seconds(threaded.medianSeconds)) vs \(Format.seconds(numpy.medianSeconds)), "
            + "BLAS on one thread)"
        if let reason = undecidedReason(threaded) { return undecided(claim, measured, reason) }
        let holds = ratio >= Self.parallelThreshold
        return Claim(
            claim: claim, measured: measured,
            verdict: holds
                ? "holds: the threads overlapped inside NumPy's C loops"
                : "does not hold here: the NumPy threads did not overlap (memory bandwidth, or a GIL-held kernel)",
            holds: holds)
    }

    private func numpyVersusProcesses(numpy: BenchReport.Lane, pure: BenchReport.Lane,
                                      processes: BenchReport.Lane?) -> Claim
    {
        // Per element: the NumPy lanes run at the Swift size, the pure-Python lanes at the Python size.
        let numpyPerElement = numpy.medianSeconds / Double(max(1, numpy.n))
        let purePerElement = pure.medianSeconds / Double(max(1, pure.n))
        let vectorised = numpyPerElement > 0 ? purePerElement / numpyPerElement : 0
        var measured = "per element, python-numpy is \(Self.times(vectorised)) faster than the pure-Python loop"
        if let processes {
            measured += "; python-process reached \(Self.times(processes.speedup)) at \(processes.workers) workers"
        }
        // The most processes can give is one per core: NumPy must beat that bound, not only this run's figure.
        let bound = Double(report.cores)
        let holds = vectorised > 2 * max(bound, processes?.speedup ?? 0)
        return Claim(
            claim: "For numeric, vectorisable work, NumPy (native code) gives a far larger speed-up than "
                + "multiprocessing alone",
            measured: measured,
            verdict: holds
                ? "holds: one NumPy thread beat the most \(report.cores) processes could give "
                    + "(\(report.cores)×) by far"
                : "does not hold here: NumPy's per-element gain is within reach of \(report.cores) processes",
            holds: holds)
    }

    private func vectorTimesCores(scalar: BenchReport.Lane, simd: BenchReport.Lane, pooled: BenchReport.Lane,
                                  numpy: BenchReport.Lane?) -> Claim
    {
        let width = simd.speedup
        let onCores = simd.medianSeconds > 0 && pooled.medianSeconds > 0
            ? simd.medianSeconds / pooled.medianSeconds : 0
        var measured = "simd \(Self.times(width)) vs the scalar loop; simd-threadpool ×\(pooled.workers) "
            + "\(Self.times(onCores)) on top (\(Self.times(pooled.speedup)) in all)"
        if let numpy { measured += "; python-numpy \(Self.times(numpy.speedup)) vs the same scalar Swift loop" }
        let claim = "Swift is native already: its answer to \"push the hot loop into native code\" is vectorisation "
            + "(SIMD types) multiplied by cores"
        if let reason = undecidedReason(pooled) {
            return undecided(claim, measured, "vector width \(Self.times(width)) measured; cores: \(reason)")
        }
        let holds = width >= Self.parallelThreshold && onCores >= Self.parallelThreshold
        return Claim(
            claim: claim, measured: measured,
            verdict: holds
                ? "holds: both multipliers count — vector width \(Self.times(width)), cores \(Self.times(onCores))"
                : "partly: vector width \(Self.times(width)), cores \(Self.times(onCores)) — a sum streaming "
                    + "\(Format.grouped((scalar.n * 8) >> 20)) MB from memory is limited by the bandwidth the cores "
                    + "share (a smaller --n stays in cache)",
            holds: holds)
    }

    private static func times(_ value: Double) -> String { Format.fixed(value, 2) + "×" }
}
