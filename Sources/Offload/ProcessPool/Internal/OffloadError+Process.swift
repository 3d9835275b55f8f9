import OffloadSystem

/// Factories for the process pool's errors: one place decides the wording of each failure → error mapping
/// (the table in docs/design/process-pool.md).
extension OffloadError {
    static func spawnFailed(_ path: String, errno code: Int32) -> OffloadError {
        OffloadError(.spawnFailed, "could not launch worker executable '\(path)'", underlyingErrno: code)
    }

    static func workerCrashed(job: String, pid: Int32, termination: Termination, stderr: [String]) -> OffloadError {
        OffloadError(
            .workerCrashed,
            "the worker process running \(job) \(termination) before returning a result; it was replaced",
            workerPID: pid,
            job: job,
            termination: termination,
            workerStderr: stderr
        )
    }

    static func taskTimedOut(
        job: String,
        pid: Int32,
        timeout: Duration,
        termination: Termination,
        stderr: [String]
    )
        -> OffloadError
    {
        OffloadError(
            .taskTimedOut,
            "\(job) ran longer than the task timeout of \(timeout); its worker was killed and replaced",
            workerPID: pid,
            job: job,
            termination: termination,
            workerStderr: stderr
        )
    }

    static func memoryLimitExceeded(
        job: String,
        pid: Int32,
        resident: Int,
        limit: Int,
        termination: Termination,
        stderr: [String]
    ) -> OffloadError {
        OffloadError(
            .memoryLimitExceeded,
            "the worker running \(job) used \(resident) bytes of resident memory (VmRSS), over its limit of \(limit)"
                + " bytes; it was killed and replaced",
            workerPID: pid,
            job: job,
            termination: termination,
            workerStderr: stderr
        )
    }

    static func entryPointMissing(
        executable: String,
        pid: Int32,
        termination: Termination?,
        stderr: [String]
    )
        -> OffloadError
    {
        let how = termination.map { "\($0)" } ?? "did not answer within the start-up deadline"
        return OffloadError(
            .workerEntryPointMissing,
            "worker '\(executable)' \(how) without saying hello: its main must call "
                + "ProcessPool.runWorkerIfRequested(registry:) before doing anything else (the analogue of Python's "
                + "`if __name__ == \"__main__\":` guard)",
            workerPID: pid,
            termination: termination,
            workerStderr: stderr
        )
    }

    static func workerStartGarbled(
        executable: String,
        pid: Int32,
        violation: OffloadError,
        stderr: [String]
    ) -> OffloadError {
        OffloadError(
            .workerStartFailed,
            "worker '\(executable)' wrote something other than its hello before starting (\(violation.message)); the pool"
                + " stopped it. Does its main print to the result pipe, or call ProcessPool.runWorkerIfRequested(registry:)"
                + " late?",
            workerPID: pid,
            workerStderr: stderr,
            cause: violation
        )
    }

    static func workerStartCrashed(
        executable: String,
        pid: Int32,
        termination: Termination,
        stderr: [String]
    )
        -> OffloadError
    {
        OffloadError(
            .workerStartFailed,
            "worker '\(executable)' \(termination) while starting, before saying hello",
            workerPID: pid,
            termination: termination,
            workerStderr: stderr
        )
    }
}

extension OffloadError.Termination {
    /// How the system layer reported a child's end, in the error's words.
    init(_ exit: ChildExit) {
        switch exit {
        case .exited(let status): self = .exited(status)
        case .signaled(let signal): self = .signaled(signal)
        }
    }
}
