/// The Python programs `offload race` runs on the installed interpreter (the bench lanes are in
/// ``PythonLaneScripts``). They ship inside the binary as string literals (no bundle resources to lose) and are written
/// to a temporary directory for each run. They need Python 3.8 or later and only the standard library.
enum PythonScripts {
    /// The texts' race, measured: `counter += 1` from 2 threads × 1,000,000, plus a variant whose increment contains
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
