import OffloadBenchJobs

/// The Python side of `offload bench`: the workloads as an importable module (each workload's own Python text, see
/// ``BenchWorkload/python``) and a lane server that the harness drives one run at a time, so Python lanes take their
/// turn in the same interleaved rounds as the Swift lanes.
enum PythonLaneScripts {
    static let workloadsModuleName = "offload_workloads.py"

    /// Every workload's Python definition in one module (ProcessPoolExecutor pickles functions by module and name).
    static var workloadsModule: String {
        let header = #"""
            """Workloads of `offload bench`, the same loops as the Swift lanes (results reduced modulo 2**64)."""
            import math

            MASK = (1 << 64) - 1
            WORKLOADS = {}
            NUMPY_WORKLOADS = {}


            def noop(_):
                return 0


            """#
        return header + BenchWorkloads.all.map { $0.python }.joined(separator: "\n\n\n") + "\n"
    }

    static let serverName = "offload_lanes.py"

    /// Reads one JSON command per line on stdin and answers each with one JSON line on stdout:
    /// `prepare` (start a lane's executor, warm it up, report its start-up), `run` (one timed run: seconds by
    /// `perf_counter`, checksum), `close`. End of input closes everything.
    static let server = #"""
        import asyncio
        import json
        import sys
        import time
        from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

        import offload_workloads as w


        def checksum(results):
            return str(sum(results) & w.MASK)


        class Lane:
            def __init__(self, lane, workload, workers, n, chunksize=None):
                self.lane, self.workers, self.chunksize = lane, workers, chunksize
                self.executor = None
                self.loop = None
                if lane.startswith("python-numpy"):
                    try:
                        import numpy
                    except ImportError:
                        raise LaneUnavailable(
                            "%s lane skipped: NumPy is not installed for Python %d.%d.%d (%s -m pip install numpy)"
                            % ((lane,) + tuple(sys.version_info[:3]) + (sys.executable,)))
                    self.func, self.items = w.NUMPY_WORKLOADS[workload](n)
                else:
                    self.func, self.items = w.WORKLOADS[workload](n)
                if lane in ("python-thread", "python-numpy-thread"):
                    self.executor = ThreadPoolExecutor(max_workers=workers)
                elif lane in ("python-process", "python-asyncio-executor"):
                    self.executor = ProcessPoolExecutor(max_workers=workers)
                elif lane == "python-interpreter":
                    try:
                        from concurrent.futures import InterpreterPoolExecutor
                    except ImportError:
                        raise LaneUnavailable(
                            "python-interpreter lane skipped: Python %d.%d has no "
                            "concurrent.futures.InterpreterPoolExecutor (new in 3.14)" % sys.version_info[:2])
                    self.executor = InterpreterPoolExecutor(max_workers=workers)
                if lane.startswith("python-asyncio"):
                    self.loop = asyncio.new_event_loop()
                if self.executor is not None:
                    list(self.executor.map(w.noop, range(workers)))  # start the workers before the clock

            def run(self):
                func, items = self.func, self.items
                if self.lane == "python-asyncio":
                    async def task(x):
                        return func(x)

                    async def main():
                        return await asyncio.gather(*(task(x) for x in items))

                    return self.loop.run_until_complete(main())
                if self.lane == "python-asyncio-executor":
                    loop, executor = self.loop, self.executor

                    async def main():
                        return await asyncio.gather(*(loop.run_in_executor(executor, func, x) for x in items))

                    return loop.run_until_complete(main())
                if self.lane == "python-process":
                    chunksize = self.chunksize or max(1, len(items) // (4 * self.workers))
                    return list(self.executor.map(func, items, chunksize=chunksize))
                if self.executor is not None:
                    return list(self.executor.map(func, items))
                return [func(x) for x in items]

            def close(self):
                if self.executor is not None:
                    self.executor.shutdown()
                if self.loop is not None:
                    self.loop.close()


        class LaneUnavailable(Exception):
            pass


        def answer(obj):
            sys.stdout.write(json.dumps(obj) + "\n")
            sys.stdout.flush()


        def main():
            lanes = {}
            answer({"python_version": "%d.%d.%d" % sys.version_info[:3], "executable": sys.executable,
                    "gil_enabled": getattr(sys, "_is_gil_enabled", lambda: True)()})
            for line in sys.stdin:
                command = json.loads(line)
                op, key = command["op"], command.get("id")
                try:
                    if op == "prepare":
                        start = time.perf_counter()
                        lanes[key] = Lane(command["lane"], command["workload"], command["workers"], command["n"],
                                          command.get("chunksize"))
                        answer({"startup_seconds": time.perf_counter() - start})
                    elif op == "run":
                        start = time.perf_counter()
                        results = lanes[key].run()
                        seconds = time.perf_counter() - start
                        answer({"seconds": seconds, "checksum": checksum(results)})
                    elif op == "close":
                        lanes.pop(key).close()
                        answer({})
                except LaneUnavailable as unavailable:
                    answer({"unavailable": str(unavailable)})
                except Exception as error:
                    answer({"error": "%s: %s" % (type(error).__name__, error)})
            for lane in lanes.values():
                lane.close()


        if __name__ == "__main__":
            main()
        """#
}
