import Foundation

/// Python's `ProcessPoolExecutor` running the same trivial job, for the side-by-side figures of `bench-processes`.
enum ProcessBenchPython {
    struct Figures: Codable {
        /// Pool creation to the first result with 2 workers, forkserver start method, in a fresh interpreter (the
        /// forkserver itself starts with the first pool, as in every real program) (milliseconds).
        var forkserverStartMilliseconds: Double
        /// The same for later pools of the same interpreter, whose forkserver is already running (median of 3).
        var forkserverWarmStartMilliseconds: Double
        /// Jobs per second with `map(chunksize=1)` (one pickle round trip per job). `bench-processes` replaces the
        /// script's figure with the median of a lane run in the throughput section's interleaved rounds.
        var unbatchedJobsPerSecond: Double
        /// Jobs per second with `map(chunksize=ceil(n / (workers * 4)))`.
        var batchedJobsPerSecond: Double
        var unbatchedJobs: Int
        var batchedJobs: Int
        var version: String
    }

    static let script = """
        import json, math, sys, time
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        def trivial(x):
            return (x * 2654435761) & 0xFFFFFFFFFFFFFFFF

        def main():
            workers, unbatched, batched = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
            ctx = mp.get_context("forkserver")
            starts = []
            for _ in range(4):
                t0 = time.perf_counter()
                with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as ex:
                    ex.submit(trivial, 1).result()
                    starts.append((time.perf_counter() - t0) * 1000)
            cold, warm = starts[0], sorted(starts[1:])[1]
            with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as ex:
                list(ex.map(trivial, range(100)))
                t0 = time.perf_counter()
                list(ex.map(trivial, range(unbatched), chunksize=1))
                unbatched_rate = unbatched / (time.perf_counter() - t0)
                chunk = max(1, math.ceil(batched / (workers * 4)))
                t0 = time.perf_counter()
                list(ex.map(trivial, range(batched), chunksize=chunk))
                batched_rate = batched / (time.perf_counter() - t0)
            print(json.dumps({"forkserverStartMilliseconds": cold, "forkserverWarmStartMilliseconds": warm,
                              "unbatchedJobsPerSecond": unbatched_rate,
                              "batchedJobsPerSecond": batched_rate, "unbatchedJobs": unbatched,
                              "batchedJobs": batched, "version": sys.version.split()[0]}))

        if __name__ == "__main__":
            main()
        """

    /// Runs the script, or explains in one line why it could not.
    static func measure(workers: Int, unbatched: Int, batched: Int) -> Result<Figures, PythonUnavailable> {
        let interpreter: PythonInterpreter
        switch PythonInterpreter.locate(nil) {
        case .success(let found): interpreter = found
        case .failure(let unavailable): return .failure(unavailable)
        }
        do {
            let output = try interpreter.runScript(
                "process_bench.py",
                files: ["process_bench.py": script],
                arguments: [String(workers), String(unbatched), String(batched)]
            )
            guard output.status == 0, let line = output.stdout.split(separator: "\n").last,
                let figures = try? JSONDecoder().decode(Figures.self, from: Data(line.utf8))
            else {
                let reason = output.stderr.split(separator: "\n").last.map(String.init) ?? "exit \(output.status)"
                return .failure(PythonUnavailable(notice: "Python side skipped: the script failed (\(reason))"))
            }
            return .success(figures)
        } catch {
            return .failure(PythonUnavailable(notice: "Python side skipped: \(error)"))
        }
    }
}
