import OffloadSystem
import Synchronization

extension ProcessPool {
    /// Turns this process into a pool worker if a ``ProcessPool`` started it; returns at once otherwise.
    ///
    /// Call it first thing in `main` of every executable that a pool launches — by default the current executable,
    /// relaunched in worker mode. In a worker it never returns: it serves jobs from `registry` until the pool shuts it
    /// down, then exits.
    ///
    /// ```swift
    /// @main struct App {
    ///     static func main() async throws {
    ///         ProcessPool.runWorkerIfRequested(registry: JobRegistry(CountPrimes.self))
    ///         try await withProcessPool { pool in print(try await pool.run(CountPrimes(range: 0..<1_000))) }
    ///     }
    /// }
    /// ```
    ///
    /// Forgetting the call is caught: the relaunched program reaches ``ProcessPool/init(configuration:)`` in worker
    /// mode, which refuses (exit status 78) instead of starting workers of its own, and the parent reports
    /// ``OffloadError/Code/workerEntryPointMissing``. A program that never creates a pool is caught by the parent's
    /// start-up deadline (``Configuration/startTimeout``).
    ///
    /// With ``StartMethod/forkServer`` the pool also starts this executable once as its fork server, which enters
    /// its role here and forks the workers: the call must come before the program starts any thread, and whatever
    /// ran before it is inherited by every worker.
    ///
    /// Python mapping: the `if __name__ == "__main__":` guard that the `spawn` and `forkserver` start methods need.
    ///
    /// - Parameter registry: the job types (and initializers) this executable can run as a worker.
    public static func runWorkerIfRequested(registry: JobRegistry) {
        // The fork server (``StartMethod/forkServer``) is checked first: it also holds descriptors 3 and 4.
        if ForkServer.isRequested { ForkServer.serve(registry: registry) }
        guard WorkerEnvironment.isWorkerRequested else { return }
        WorkerLoop.run(registry: registry)
    }

    /// Whether the current process is a pool worker (inside ``runWorkerIfRequested(registry:)``).
    public static var isWorkerProcess: Bool {
        WorkerLoop.inWorker.load(ordering: .acquiring)
    }

    /// Called by `init`: a process started as a worker that reached `ProcessPool.init` never called the entry point.
    /// It must not start workers of its own (a fork bomb); it explains and exits.
    static func refuseIfWorkerWithoutEntryPoint() {
        guard WorkerEnvironment.isWorkerRequested || ForkServer.isRequested else { return }
        Syscalls.writeToStandardError(
            "offload: this process was launched as a ProcessPool worker but main did not call "
                + "ProcessPool.runWorkerIfRequested(registry:) before creating a ProcessPool; refusing to start "
                + "workers of its own (exit status \(WorkerEnvironment.entryPointMissingStatus))\n"
        )
        Syscalls.exitProcess(WorkerEnvironment.entryPointMissingStatus)
    }
}

extension ProcessPool {
    /// Test hook (package access): in a worker, the next result flush writes only `bytes` bytes, then the worker
    /// kills itself with SIGKILL — "the worker dies while writing a payload larger than the pipe buffer".
    package static func testHookDieAfterWritingBytes(_ bytes: Int) {
        WorkerLoop.dieAfterWritingBytes.store(bytes, ordering: .relaxed)
    }
}
