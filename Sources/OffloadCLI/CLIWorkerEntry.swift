import Offload
import OffloadBenchJobs

/// The first thing `offload`'s `main` does: serve as a process-pool worker (or as the raw-pipe echo child of
/// `bench-processes`) when this run of the executable was launched as one, and return at once otherwise.
///
/// `offload` is its own worker executable: ProcessPool relaunches `/proc/self/exe`, so without this call a relaunched
/// copy would parse the worker's command line as a CLI invocation — ProcessPool then reports
/// ``OffloadError/Code/workerEntryPointMissing`` instead.
enum CLIWorkerEntry {
    static func runIfRequested() {
        RawPipeEcho.runIfRequested()
        ProcessPool.runWorkerIfRequested(registry: BenchJobs.registry)
    }
}
