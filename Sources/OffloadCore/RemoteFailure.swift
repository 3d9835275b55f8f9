/// A failure reported by a worker for one task, sent in a `failure` frame (CPython's `_RemoteTraceback`).
package struct RemoteFailure: Codable, Sendable, Equatable {
    /// What failed, as an ``OffloadError/Code`` name: `jobFailed`, `decodingFailed`, `encodingFailed`,
    /// `unregisteredJob` or `workerInitializationFailed`.
    package var code: String
    /// `String(reflecting: type(of: error))` of the error thrown in the worker, if any.
    package var errorType: String?
    /// `String(describing: error)`, or Offload's own explanation.
    package var message: String
    /// For a batch, the index of the job that failed.
    package var index: Int?

    package init(code: OffloadError.Code, errorType: String? = nil, message: String, index: Int? = nil) {
        self.code = code.description
        self.errorType = errorType
        self.message = message
        self.index = index
    }

    /// The code, mapped back; an unknown name is itself a protocol violation, reported as `protocolViolation`.
    package var offloadCode: OffloadError.Code {
        switch code {
        case OffloadError.Code.jobFailed.description: return .jobFailed
        case OffloadError.Code.decodingFailed.description: return .decodingFailed
        case OffloadError.Code.encodingFailed.description: return .encodingFailed
        case OffloadError.Code.unregisteredJob.description: return .unregisteredJob
        case OffloadError.Code.workerInitializationFailed.description: return .workerInitializationFailed
        default: return .protocolViolation
        }
    }
}

extension OffloadError {
    /// The error a remote failure becomes on the submitting side (the pool adds the worker's PID).
    package static func remote(_ failure: RemoteFailure, job: String) -> OffloadError {
        let code = failure.offloadCode
        var message: String
        switch code {
        case .jobFailed:
            let what = failure.index.map { "item \($0) of the batch of \(job)" } ?? job
            message = "\(what) threw \(failure.errorType ?? "an error"): \(failure.message)"
        case .workerInitializationFailed:
            message = "the worker initializer failed: \(failure.errorType.map { "\($0): " } ?? "")\(failure.message)"
        default:
            message = "in the worker: \(failure.message)"
        }
        if code == .protocolViolation { message = "worker sent an unknown failure code '\(failure.code)'" }
        return OffloadError(code, message, job: job, remoteErrorType: failure.errorType)
    }
}
