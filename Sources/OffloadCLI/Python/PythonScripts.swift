/// The Python programs `offload` runs on the installed interpreter. They ship inside the binary as string literals
/// (no bundle resources to lose) and are written to a temporary directory for each run. They need Python 3.8 or later
/// and only the standard library.
enum PythonScripts {
    /// The workloads, as an importable module: ProcessPoolExecutor and InterpreterPoolExecutor pickle functions by
    /// module and name, and `__main__` of a script is not importable in their workers, so the work lives here and the
    /// directory is put on `PYTHONPATH` for every interpreter.
    static let workloadsModuleName = "offload_workloads.py"
    static let workloadsModule = #"""
        """Workloads of `offload bench`, the same loops as the Swift lanes (results reduced modulo 2**64)."""
        import math

        MASK = (1 << 64) - 1
        PRIMES_START = 10_000_000


        def heavy_calculation(iterations):
            """The seeds' heavy_calculation: result += i*i over range(iterations)."""
            result = 0
            for i in range(iterations):
                result += i * i
            return result & MASK


        def prime_item(n):
            """The seeds' is_prime by trial division; the number if prime, else 0."""
            if n < 2:
                return 0
            for i in range(2, math.isqrt(n) + 1):
                if n % i == 0:
                    return 0
            return n


        def tiny_item(n):
            """One multiply: nothing but per-item overhead."""
            return (n * 2654435761) & MASK


        def noop(_):
            return 0


        def workload(name, n):
            """(function, items) for a workload name and size."""
            if name == "sum-of-squares":
                return heavy_calculation, [n] * 4
            if name == "primes":
                return prime_item, list(range(PRIMES_START, PRIMES_START + n))
            if name == "tiny":
                return tiny_item, list(range(n))
            raise SystemExit("unknown workload " + name)
        """#

    /// The bench driver: prints one JSON object with a lane entry per (lane, workers).
    static let benchDriverName = "offload_bench.py"
    static let benchDriver = #"""
        import argparse
        import json
        import statistics
        import sys
        import time
        from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

        import offload_workloads as w

        parser = argparse.ArgumentParser()
        parser.add_argument("--workload", required=True)
        parser.add_argument("--n", type=int, required=True)
        parser.add_argument("--workers", required=True)
        parser.add_argument("--repeat", type=int, default=3)
        parser.add_argument("--lanes", default="thread,process,interpreter")
        args = parser.parse_args()

        func, items = w.workload(args.workload, args.n)
        workers_list = [int(x) for x in args.workers.split(",")]
        lanes_wanted = args.lanes.split(",")
        out = {
            "python_version": "%d.%d.%d" % sys.version_info[:3],
            "executable": sys.executable,
            "gil_enabled": getattr(sys, "_is_gil_enabled", lambda: True)(),
            "lanes": [],
            "notices": [],
        }


        def checksum(results):
            return str(sum(results) & w.MASK)


        def progress(text):
            sys.stderr.write(text + "\n")
            sys.stderr.flush()


        runs = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            results = [func(x) for x in items]
            runs.append(time.perf_counter() - start)
        out["lanes"].append({"lane": "python-sequential", "workers": 1, "runs": runs,
                             "median_seconds": statistics.median(runs), "checksum": checksum(results)})
        progress("python-sequential done")


        def executor_lane(name, make, chunked):
            for workers in workers_list:
                start = time.perf_counter()
                executor = make(workers)
                list(executor.map(w.noop, range(workers)))  # start the workers before the clock
                startup = time.perf_counter() - start
                chunksize = max(1, len(items) // (4 * workers)) if chunked else 1
                runs = []
                for _ in range(args.repeat):
                    start = time.perf_counter()
                    results = list(executor.map(func, items, chunksize=chunksize))
                    runs.append(time.perf_counter() - start)
                executor.shutdown()
                out["lanes"].append({"lane": name, "workers": workers, "runs": runs,
                                     "median_seconds": statistics.median(runs), "checksum": checksum(results),
                                     "startup_seconds": startup, "chunksize": chunksize})
                progress("%s x%d done" % (name, workers))


        if __name__ == "__main__":
            if "thread" in lanes_wanted:
                executor_lane("python-thread", lambda n: ThreadPoolExecutor(max_workers=n), False)
            if "process" in lanes_wanted:
                executor_lane("python-process", lambda n: ProcessPoolExecutor(max_workers=n), True)
            if "interpreter" in lanes_wanted:
                try:
                    from concurrent.futures import InterpreterPoolExecutor
                except ImportError:
                    out["notices"].append(
                        "python-interpreter lane skipped: Python %d.%d has no "
                        "concurrent.futures.InterpreterPoolExecutor (new in 3.14)" % sys.version_info[:2])
                else:
                    executor_lane("python-interpreter", lambda n: InterpreterPoolExecutor(max_workers=n), False)
            print(json.dumps(out))
        """#

    /// The seeds' race, measured: `counter += 1` from 2 threads × 1,000,000, plus a variant whose increment contains
    /// a call (so the eval loop may switch threads between the load and the store), plus the Lock fix.
    static let raceScriptName = "offload_race.py"
    static let raceScript = #"""
        import argparse
        import json
        import sys
        import threading
        import time

        parser = argparse.ArgumentParser()
        parser.add_argument("--threads", type=int, default=2)
        parser.add_argument("--iterations", type=int, default=1_000_000)
        parser.add_argument("--trials", type=int, default=5)
        args = parser.parse_args()

        counter = 0
        lock = threading.Lock()


        def one():
            return 1


        def plain():
            global counter
            for _ in range(args.iterations):
                counter += 1


        def with_call():
            global counter
            for _ in range(args.iterations):
                counter += one()


        def locked():
            global counter
            for _ in range(args.iterations):
                with lock:
                    counter += 1


        def trial(target):
            global counter
            counter = 0
            threads = [threading.Thread(target=target) for _ in range(args.threads)]
            start = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            return counter, time.perf_counter() - start


        expected = args.threads * args.iterations
        variants = []
        for name, target, code in [
            ("counter += 1", plain, "counter += 1"),
            ("counter += one()", with_call, "counter += one()  # a call between the load and the store"),
            ("with lock: counter += 1", locked, "with lock: counter += 1"),
        ]:
            results = [trial(target) for _ in range(args.trials)]
            variants.append({
                "variant": name,
                "code": code,
                "expected": expected,
                "counts": [c for c, _ in results],
                "lost_updates": [expected - c for c, _ in results],
                "seconds": [s for _, s in results],
            })
        print(json.dumps({
            "python_version": "%d.%d.%d" % sys.version_info[:3],
            "executable": sys.executable,
            "gil_enabled": getattr(sys, "_is_gil_enabled", lambda: True)(),
            "switch_interval": sys.getswitchinterval(),
            "threads": args.threads,
            "iterations": args.iterations,
            "variants": variants,
        }))
        """#
}
