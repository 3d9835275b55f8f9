// offload-worker: a worker executable for the bench jobs that links only Offload (no Foundation), so a process pool
// built on it starts faster than one that relaunches `offload`. `offload bench-processes` uses it when it sits next to
// `offload`. Run by hand, it explains itself and exits.
import Offload
import OffloadBenchJobs

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

ProcessPool.runWorkerIfRequested(registry: BenchJobs.registry)

print("offload-worker serves the bench jobs of `offload bench-processes` as a ProcessPool worker; it is not run by hand.")
exit(64)
