import OffloadBenchJobs

/// The claims of the Python texts that a bench run can test, each judged from the run's own figures.
enum BenchClaims {
    /// A speed-up below this is "no speed-up"; at or above it, "runs in parallel" (on at least 2 cores).
    static let parallelThreshold = 1.3

    /// The claims whose lanes ran in `report`, in the order the texts make them.
    static func evaluate(_ report: BenchReport) -> [Claim] {
        let cores = report.cores
        var claims: [Claim] = []
        let gil = report.versions.pythonGILEnabled ?? true
        if let threads = best(report, .pythonThread) {
            claims.append(gil ? noThreadSpeedup(threads, cores) : freeThreadedSpeedup(threads, cores))
        }
        if let asyncio = report.lanes(.pythonAsyncio).first {
            let holds = asyncio.speedup < parallelThreshold
            claims.append(Claim(
                claim: "asyncio does not help CPU-bound work: async tasks that never await run one after another "
                    + "on the one event loop",
                measured: "python-asyncio \(times(asyncio.speedup)) vs python-sequential",
                verdict: holds
                    ? "holds: the event loop ran the tasks one at a time, no faster than the plain loop"
                    : "does not hold here: the asyncio lane ran \(times(asyncio.speedup)) faster",
                holds: holds))
        }
        if let executor = best(report, .pythonAsyncioExecutor) {
            claims.append(parallel(
                executor, cores,
                claim: "The fix is loop.run_in_executor into a ProcessPoolExecutor: the same tasks then run in "
                    + "parallel, one process (and one GIL) each"))
        }
        if let processes = best(report, .pythonProcess), report.workload != NumPySumOfSquares.name {
            claims.append(parallel(
                processes, cores,
                claim: "ProcessPoolExecutor gives real multi-core parallelism to CPU-bound Python"))
        }
        if let numpy = report.lanes(.pythonNumpy).first, let threaded = best(report, .pythonNumpyThread) {
            claims.append(numpyThreads(numpy: numpy, threaded: threaded, cores))
        }
        if let numpy = report.lanes(.pythonNumpy).first,
            let pure = report.lanes(.pythonSequential).first
        {
            claims.append(numpyVersusProcesses(numpy: numpy, pure: pure, processes: best(report, .pythonProcess)))
        }
        if let scalar = report.lanes(.sequential).first, let simd = report.lanes(.simd).first,
            let pooled = best(report, .simdThreadpool)
        {
            claims.append(vectorTimesCores(scalar: scalar, simd: simd, pooled: pooled,
                                           numpy: report.lanes(.pythonNumpy).first, cores))
        }
        return claims
    }

    /// The lane's entry with the highest speed-up among those on 2 or more workers (or its only entry).
    static func best(_ report: BenchReport, _ lane: BenchLane) -> BenchReport.Lane? {
        let entries = report.lanes(lane)
        let parallel = entries.filter { $0.workers >= 2 }
        return (parallel.isEmpty ? entries : parallel).max { $0.speedup < $1.speedup }
    }

    private static func noThreadSpeedup(_ threads: BenchReport.Lane, _ cores: Int) -> Claim {
        let measured = "python-thread best \(times(threads.speedup)) at \(threads.workers) workers vs python-sequential"
        let claim = "Threads do not speed up CPU-bound pure-Python code: the GIL lets one thread run bytecode at a time"
        guard cores >= 2, threads.workers >= 2 else { return undecided(claim, measured, cores) }
        let holds = threads.speedup < parallelThreshold
        return Claim(
            claim: claim, measured: measured,
            verdict: holds ? "holds: more threads, no more speed" : "does not hold here: the threads ran in parallel",
            holds: holds)
    }

    private static func freeThreadedSpeedup(_ threads: BenchReport.Lane, _ cores: Int) -> Claim {
        let claim = "On a free-threaded build (PEP 703) pure-Python threads run in parallel"
        let measured = "python-thread best \(times(threads.speedup)) at \(threads.workers) workers, without a GIL"
        guard cores >= 2, threads.workers >= 2 else { return undecided(claim, measured, cores) }
        let holds = threads.speedup >= parallelThreshold
        return Claim(
            claim: claim, measured: measured,
            verdict: holds ? "holds: the threads ran in parallel" : "does not hold here: no speed-up without the GIL",
            holds: holds)
    }

    private static func parallel(_ lane: BenchReport.Lane, _ cores: Int, claim: String) -> Claim {
        let measured = "\(lane.lane) best \(times(lane.speedup)) at \(lane.workers) workers vs \(lane.baseline ?? "?")"
        guard cores >= 2, lane.workers >= 2 else { return undecided(claim, measured, cores) }
        let holds = lane.speedup >= parallelThreshold
        return Claim(
            claim: claim, measured: measured,
            verdict: holds
                ? "holds: \(times(lane.speedup)) on \(min(lane.workers, cores)) cores"
                : "does not hold here: the per-item cost of sending work to processes ate the gain",
            holds: holds)
    }

    private static func numpyThreads(numpy: BenchReport.Lane, threaded: BenchReport.Lane, _ cores: Int) -> Claim {
        let ratio = threaded.medianSeconds > 0 ? numpy.medianSeconds / threaded.medianSeconds : 0
        let claim = "NumPy releases the GIL, so threads running NumPy kernels run in parallel "
            + "(\"With NumPy, threaded IS faster\")"
        let measured = "python-numpy-thread ×\(threaded.workers) \(times(ratio)) vs python-numpy "
            + "(\(Format.seconds(threaded.medianSeconds)) vs \(Format.seconds(numpy.medianSeconds)), "
            + "BLAS on one thread)"
        guard cores >= 2, threaded.workers >= 2 else { return undecided(claim, measured, cores) }
        let holds = ratio >= parallelThreshold
        return Claim(
            claim: claim, measured: measured,
            verdict: holds
                ? "holds: the threads overlapped inside NumPy's C loops"
                : "does not hold here: the NumPy threads did not overlap (memory bandwidth, or a GIL-held kernel)",
            holds: holds)
    }

    private static func numpyVersusProcesses(numpy: BenchReport.Lane, pure: BenchReport.Lane,
                                             processes: BenchReport.Lane?) -> Claim
    {
        // Per element: the NumPy lanes run at the Swift size, the pure-Python lanes at the Python size.
        let numpyPerElement = numpy.medianSeconds / Double(max(1, numpy.n))
        let purePerElement = pure.medianSeconds / Double(max(1, pure.n))
        let vectorised = numpyPerElement > 0 ? purePerElement / numpyPerElement : 0
        var measured = "per element, python-numpy is \(times(vectorised)) faster than the pure-Python loop"
        if let processes {
            measured += "; python-process reached \(times(processes.speedup)) at \(processes.workers) workers"
        }
        let holds = processes.map { vectorised > 2 * $0.speedup }
        return Claim(
            claim: "For numeric, vectorisable work, NumPy (native code) gives a far larger speed-up than "
                + "multiprocessing alone",
            measured: measured,
            verdict: holds == true
                ? "holds: vectorised native code beat every process count by far"
                : (holds == nil ? "the processes lane did not run" : "does not hold here"),
            holds: holds)
    }

    private static func vectorTimesCores(scalar: BenchReport.Lane, simd: BenchReport.Lane,
                                         pooled: BenchReport.Lane, numpy: BenchReport.Lane?, _ cores: Int) -> Claim
    {
        let width = simd.speedup
        let onCores = simd.medianSeconds > 0 && pooled.medianSeconds > 0 ? simd.medianSeconds / pooled.medianSeconds : 0
        var measured = "simd \(times(width)) vs the scalar loop; simd-threadpool ×\(pooled.workers) \(times(onCores)) "
            + "on top (\(times(pooled.speedup)) in all)"
        if let numpy { measured += "; python-numpy \(times(numpy.speedup)) vs the same scalar Swift loop" }
        let claim = "Swift is native already: its answer to \"push the hot loop into native code\" is vectorisation "
            + "(SIMD types) multiplied by cores"
        guard cores >= 2, pooled.workers >= 2 else { return undecided(claim, measured, cores) }
        let holds = width >= parallelThreshold && onCores >= parallelThreshold
        return Claim(
            claim: claim, measured: measured,
            verdict: holds
                ? "holds: both multipliers count — vector width \(times(width)), cores \(times(onCores))"
                : "partly: vector width \(times(width)), cores \(times(onCores)) (one multiplier stayed near 1: "
                    + "memory bandwidth shared by the cores is the usual limit of a 160 MB streaming sum)",
            holds: holds)
    }

    private static func undecided(_ claim: String, _ measured: String, _ cores: Int) -> Claim {
        Claim(claim: claim, measured: measured,
                   verdict: "cannot decide: needs 2 or more workers on 2 or more cores (this machine has \(cores))",
                   holds: nil)
    }

    private static func times(_ value: Double) -> String { Format.fixed(value, 2) + "×" }
}
