/// The one error type Offload throws.
///
/// Every failure that Offload itself detects — bad configuration, a pool that was shut down, a worker process that
/// crashed or hung, a frame that could not be decoded — is an `OffloadError` with a precise ``Code``, a message that
/// names what was wrong, and where it applies the worker's PID, the job, the input's position, the `errno` and the
/// worker's last stderr lines. Errors thrown by *your* work reach you unchanged from `run`, `submit` and `map` of the
/// in-process pools; in a process pool (where the original value cannot cross the process boundary) they arrive as
/// ``Code/jobFailed`` carrying the remote error's type name and message; in the per-item outcome maps they arrive as
/// ``Code/jobFailed`` with the original error as ``cause``.
///
/// Users read errors; they never make them: the initializer is not public.
///
/// Cancellation is reported as Swift's own `CancellationError`, so `try await` code handles it the usual way.
///
/// ```swift
/// do {
///     let value = try await pool.run { try parse(input) }
/// } catch let error as OffloadError where error.code == .poolShutDown {
///     // the pool was shut down before the work could be queued
/// }
/// ```
public struct OffloadError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, as a value that can be compared and switched over with `==` and `~=`.
    ///
    /// Codes are static members so that new ones can be added without breaking exhaustive `switch` statements.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        package enum Storage: String, Hashable, Sendable, CaseIterable {
            case invalidArgument
            case poolShutDown
            case waitTimedOut
            case workerInitializationFailed
            case jobFailed
            case workerCrashed
            case taskTimedOut
            case memoryLimitExceeded
            case unregisteredJob
            case encodingFailed
            case decodingFailed
            case protocolViolation
            case workerEntryPointMissing
            case spawnFailed
            case workerStartFailed
            case sharedMemoryFailed
            case systemCallFailed
            case connectionFailed
            case schemaTooNew
            case payloadTooLarge
            case jobNotFound
        }

        package let storage: Storage

        package init(_ storage: Storage) {
            self.storage = storage
        }

        /// An argument or configuration value is out of range (a worker count of zero, a negative timeout, …).
        public static let invalidArgument = Code(.invalidArgument)
        /// The pool was shut down before the work was accepted.
        public static let poolShutDown = Code(.poolShutDown)
        /// A blocking wait on a handle (``TaskHandle/wait(timeout:)``) ran out of time. The work itself goes on.
        /// Not to be confused with ``taskTimedOut``, where the *work* ran too long and was stopped.
        public static let waitTimedOut = Code(.waitTimedOut)
        /// A worker's state initializer (or a worker process's initializer) threw.
        public static let workerInitializationFailed = Code(.workerInitializationFailed)
        /// A job threw. From a process pool: ``OffloadError/remoteErrorType`` and the message describe the error; from
        /// a per-item outcome map of an in-process pool: ``OffloadError/cause`` is the error itself.
        public static let jobFailed = Code(.jobFailed)
        /// The worker process running the task died (signal or exit status in ``OffloadError/termination``).
        public static let workerCrashed = Code(.workerCrashed)
        /// The task ran longer than its timeout; its worker was killed and replaced.
        public static let taskTimedOut = Code(.taskTimedOut)
        /// The worker process exceeded its memory limit and was killed; the task failed.
        public static let memoryLimitExceeded = Code(.memoryLimitExceeded)
        /// The worker does not know the job type: it was not registered with the worker's ``JobRegistry``.
        public static let unregisteredJob = Code(.unregisteredJob)
        /// A job or result could not be encoded.
        public static let encodingFailed = Code(.encodingFailed)
        /// A job or result could not be decoded.
        public static let decodingFailed = Code(.decodingFailed)
        /// A peer sent a frame that breaks the wire protocol (garbled, truncated, oversized or unexpected).
        public static let protocolViolation = Code(.protocolViolation)
        /// The worker executable did not call the worker entry point at the top of `main`.
        public static let workerEntryPointMissing = Code(.workerEntryPointMissing)
        /// A worker process could not be launched at all (`posix_spawn` failed: a missing or non-executable file).
        public static let spawnFailed = Code(.spawnFailed)
        /// A worker process was launched but died, or broke the protocol, before it was ready for work.
        public static let workerStartFailed = Code(.workerStartFailed)
        /// A shared-memory segment could not be created, opened, mapped or is too small.
        public static let sharedMemoryFailed = Code(.sharedMemoryFailed)
        /// A system call failed; ``OffloadError/underlyingErrno`` holds `errno`.
        public static let systemCallFailed = Code(.systemCallFailed)
        /// A connection to a server (a PostgreSQL database) could not be established or was lost; the message names
        /// the host and the cause.
        public static let connectionFailed = Code(.connectionFailed)
        /// The database's schema was created by a newer version of the code; it is left untouched.
        public static let schemaTooNew = Code(.schemaTooNew)
        /// A job's encoded payload is larger than the configured limit; the job was not queued.
        public static let payloadTooLarge = Code(.payloadTooLarge)
        /// No job with the given durable ID exists (it never existed, or finished jobs were deleted after retention).
        public static let jobNotFound = Code(.jobNotFound)

        public var description: String { storage.rawValue }
    }

    /// How a worker process ended.
    public enum Termination: Sendable, Hashable, CustomStringConvertible {
        /// The process called `exit` (or returned from `main`) with this status.
        case exited(Int32)
        /// The process was killed by this signal.
        case signaled(Int32)

        public var description: String {
            switch self {
            case .exited(let status): return "exited with status \(status)"
            case .signaled(let signal): return "killed by signal \(signal) (\(signalName(signal)))"
            }
        }
    }

    /// The details, boxed: an error is one pointer wide (plus its code), so `Result<Output, OffloadError>` stays
    /// small in the per-item outcome maps, which hold one per input.
    private final class Details: Sendable {
        let message: String
        let underlyingErrno: Int32?
        let workerPID: Int32?
        let job: String?
        let index: Int?
        let termination: Termination?
        let workerStderr: [String]
        let remoteErrorType: String?
        let cause: (any Error)?

        init(
            message: String,
            underlyingErrno: Int32?,
            workerPID: Int32?,
            job: String?,
            index: Int?,
            termination: Termination?,
            workerStderr: [String],
            remoteErrorType: String?,
            cause: (any Error)?
        ) {
            self.message = message
            self.underlyingErrno = underlyingErrno
            self.workerPID = workerPID
            self.job = job
            self.index = index
            self.termination = termination
            self.workerStderr = workerStderr
            self.remoteErrorType = remoteErrorType
            self.cause = cause
        }
    }

    /// What went wrong.
    public let code: Code
    private let details: Details

    /// A sentence naming what was wrong and, where it helps, what to do about it.
    public var message: String { details.message }
    /// `errno` of the failed system call, when one failed.
    public var underlyingErrno: Int32? { details.underlyingErrno }
    /// The process ID of the worker involved, for process-pool errors.
    public var workerPID: Int32? { details.workerPID }
    /// The job type's name (and a short description of the job where one is available).
    public var job: String? { details.job }
    /// For an error from a `map`, the position of the failing input in the input sequence.
    public var index: Int? { details.index }
    /// How the worker process ended, for ``Code/workerCrashed``, ``Code/taskTimedOut`` and
    /// ``Code/memoryLimitExceeded``.
    public var termination: Termination? { details.termination }
    /// The last lines the worker wrote to its standard error before it died.
    public var workerStderr: [String] { details.workerStderr }
    /// The Swift type name of the error a remote job threw, for ``Code/jobFailed``.
    public var remoteErrorType: String? { details.remoteErrorType }
    /// The error this one wraps, when there is one in this process: the `DecodingError` behind a
    /// ``Code/decodingFailed``, the error a job threw behind a ``Code/jobFailed`` of a job map. Not part of equality.
    public var cause: (any Error)? { details.cause }

    package init(
        _ code: Code,
        _ message: String,
        underlyingErrno: Int32? = nil,
        workerPID: Int32? = nil,
        job: String? = nil,
        index: Int? = nil,
        termination: Termination? = nil,
        workerStderr: [String] = [],
        remoteErrorType: String? = nil,
        cause: (any Error)? = nil
    ) {
        self.code = code
        self.details = Details(
            message: message,
            underlyingErrno: underlyingErrno,
            workerPID: workerPID,
            job: job,
            index: index,
            termination: termination,
            workerStderr: workerStderr,
            remoteErrorType: remoteErrorType,
            cause: cause
        )
    }

    /// A copy that names the input it belongs to: its position in a `map`'s input and, when the error does not name
    /// one yet, the job's description.
    @usableFromInline
    package func attributed(toIndex index: Int, job description: String?) -> OffloadError {
        OffloadError(
            code,
            message,
            underlyingErrno: underlyingErrno,
            workerPID: workerPID,
            job: job ?? description,
            index: index,
            termination: termination,
            workerStderr: workerStderr,
            remoteErrorType: remoteErrorType,
            cause: cause
        )
    }

    /// A copy with the worker's PID set (the jobs layer words a remote failure; the pool that ran it knows the PID).
    package func withWorkerPID(_ pid: Int32) -> OffloadError {
        OffloadError(
            code,
            message,
            underlyingErrno: underlyingErrno,
            workerPID: pid,
            job: job,
            index: index,
            termination: termination,
            workerStderr: workerStderr,
            remoteErrorType: remoteErrorType,
            cause: cause
        )
    }

    public var description: String {
        var text = "OffloadError.\(code): \(message)"
        if let remoteErrorType { text += " [remote error type: \(remoteErrorType)]" }
        if let index { text += " [input \(index)]" }
        if let job { text += " [job: \(job)]" }
        if let workerPID { text += " [worker pid: \(workerPID)]" }
        if let termination { text += " [worker \(termination)]" }
        if let underlyingErrno { text += " [errno \(underlyingErrno): \(errnoDescription(underlyingErrno))]" }
        if let cause { text += " [cause: \(String(reflecting: type(of: cause))): \(cause)]" }
        if !workerStderr.isEmpty {
            text += "\n  worker stderr (last \(workerStderr.count) lines):"
            for line in workerStderr { text += "\n    \(line)" }
        }
        return text
    }

    public static func == (lhs: OffloadError, rhs: OffloadError) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message && lhs.underlyingErrno == rhs.underlyingErrno
            && lhs.workerPID == rhs.workerPID && lhs.job == rhs.job && lhs.index == rhs.index
            && lhs.termination == rhs.termination && lhs.workerStderr == rhs.workerStderr
            && lhs.remoteErrorType == rhs.remoteErrorType
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(message)
        hasher.combine(job)
        hasher.combine(index)
        hasher.combine(workerPID)
    }
}

// MARK: - Factories

extension OffloadError {
    package static func invalidArgument(_ message: String) -> OffloadError {
        OffloadError(.invalidArgument, message)
    }

    package static func poolShutDown(_ pool: String) -> OffloadError {
        OffloadError(.poolShutDown, "\(pool) has been shut down and accepts no more work")
    }

    package static func waitTimedOut(after duration: Duration) -> OffloadError {
        OffloadError(.waitTimedOut, "waited \(duration) for the result without getting it; the work goes on")
    }

    package static func invalidWorkerCount(_ count: Int) -> OffloadError {
        OffloadError(.invalidArgument, "worker count must be at least 1, got \(count)")
    }

    package static func connectionFailed(host: String, cause: String) -> OffloadError {
        OffloadError(.connectionFailed, "could not connect to \(host): \(cause)")
    }

    package static func schemaTooNew(schema: String, found: Int, supported: Int) -> OffloadError {
        OffloadError(
            .schemaTooNew,
            "schema '\(schema)' is at version \(found) but this code knows versions up to \(supported); "
                + "upgrade the code (it refuses to touch a newer schema)"
        )
    }

    package static func payloadTooLarge(job: String, bytes: Int, limit: Int) -> OffloadError {
        OffloadError(
            .payloadTooLarge,
            "the encoded job is \(bytes) bytes, over the limit of \(limit) bytes; pass large inputs by reference "
                + "(a path or a key) or raise the limit",
            job: job
        )
    }

    package static func jobNotFound(id: Int64) -> OffloadError {
        OffloadError(.jobNotFound, "no job with ID \(id) exists")
    }

    package static func systemCall(_ name: String, errno: Int32) -> OffloadError {
        OffloadError(.systemCallFailed, "\(name) failed", underlyingErrno: errno)
    }

    package static func protocolViolation(_ message: String) -> OffloadError {
        OffloadError(.protocolViolation, message)
    }

    /// A job of an in-process pool threw inside a per-item outcome map: the original error travels as the cause.
    @usableFromInline
    package static func jobThrew(_ error: any Error, job: String?, index: Int?) -> OffloadError {
        if let offload = error as? OffloadError {
            return index.map { offload.attributed(toIndex: $0, job: job) } ?? offload
        }
        return OffloadError(
            .jobFailed,
            "the job threw \(String(reflecting: type(of: error))): \(error)",
            job: job,
            index: index,
            remoteErrorType: String(reflecting: type(of: error)),
            cause: error
        )
    }
}
