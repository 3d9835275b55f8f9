import OffloadCore

/// A failed attempt as stored in a job's `error_*` columns, and its translation to and from ``OffloadError``.
struct StoredFailure: Error, Sendable, Equatable {
    var code: String
    var errorType: String?
    var message: String
    var signal: Int32?
    var exitStatus: Int32?
    var stderr: [String]

    init(
        code: String,
        errorType: String? = nil,
        message: String,
        signal: Int32? = nil,
        exitStatus: Int32? = nil,
        stderr: [String] = []
    ) {
        self.code = code
        self.errorType = errorType
        self.message = message
        self.signal = signal
        self.exitStatus = exitStatus
        self.stderr = stderr
    }

    /// From an error the local pool reported for one job.
    init(_ error: any Error) {
        if let error = error as? OffloadError {
            var signal: Int32?
            var exitStatus: Int32?
            switch error.termination {
            case .signaled(let number): signal = number
            case .exited(let status): exitStatus = status
            case nil: break
            }
            self.init(
                code: error.code.description,
                errorType: error.remoteErrorType,
                message: error.message,
                signal: signal,
                exitStatus: exitStatus,
                stderr: error.workerStderr
            )
        } else {
            self.init(code: "jobFailed", errorType: String(reflecting: type(of: error)), message: "\(error)")
        }
    }

    /// Whether another attempt can possibly succeed: decoding and encoding failures are deterministic.
    var isRetryable: Bool {
        code != OffloadError.Code.decodingFailed.description && code != OffloadError.Code.encodingFailed.description
            && code != OffloadError.Code.unregisteredJob.description
    }

    /// The error a submitter sees.
    func offloadError(jobID: Int64, jobName: String) -> OffloadError {
        var termination: OffloadError.Termination?
        if let signal { termination = .signaled(signal) } else if let exitStatus { termination = .exited(exitStatus) }
        return OffloadError(
            Self.code(named: code),
            message,
            job: "\(jobName) #\(jobID)",
            termination: termination,
            workerStderr: stderr,
            remoteErrorType: errorType
        )
    }

    static func code(named name: String) -> OffloadError.Code {
        let known: [OffloadError.Code] = [
            .jobFailed, .workerCrashed, .taskTimedOut, .memoryLimitExceeded, .decodingFailed, .encodingFailed,
            .unregisteredJob, .workerInitializationFailed, .spawnFailed, .workerEntryPointMissing, .protocolViolation,
            .payloadTooLarge, .systemCallFailed,
        ]
        return known.first { $0.description == name } ?? .jobFailed
    }
}

/// What to do with a finished attempt: a pure function of the outcome, the attempt number and the policy.
enum AttemptDecision: Equatable, Sendable {
    /// Record the output: `completed`.
    case complete
    /// Queue again after `delayMilliseconds`: `available`.
    case retry(delayMilliseconds: Int64)
    /// No attempts left, or retrying cannot help: `failed`.
    case fail

    /// Decides after a failed attempt.
    /// - Parameters:
    ///   - failure: the failure.
    ///   - attempt: the attempt that failed (1-based).
    ///   - maxAttempts: the job's limit.
    ///   - backoff: the retry policy.
    ///   - random: a value in 0..<1 (jitter).
    static func afterFailure(
        _ failure: StoredFailure,
        attempt: Int,
        maxAttempts: Int,
        backoff: PostgresWorker.Backoff,
        random: Double
    ) -> AttemptDecision {
        guard failure.isRetryable, attempt < maxAttempts else { return .fail }
        return .retry(delayMilliseconds: backoff.delayMilliseconds(afterAttempt: attempt, random: random))
    }
}
