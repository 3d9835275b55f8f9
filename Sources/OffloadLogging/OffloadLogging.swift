import Logging
import OffloadCore

/// Every Offload pool's life cycle as swift-log messages: one line, with the logger of your choice.
///
/// ```swift
/// OffloadLogging.bootstrap(logger: Logger(label: "offload"))
/// ```
///
/// | event | level | metadata |
/// |---|---|---|
/// | pool started, shut down | `info` | `pool`, `executor`, `workers` |
/// | worker started | `debug` | + `worker.pid`, `worker.index` |
/// | worker recycled, or ended by the shutdown | `debug` | + `worker.cause` |
/// | worker crashed | `error` | + `worker.signal` or `worker.exit_status`, `worker.stderr` (its last lines) |
/// | worker timed out, over its memory limit, failed to start, broke the protocol | `warning` | as above |
/// | worker killed by cancelling its task | `notice` | as above |
/// | worker replaced | `notice` | + `worker.pid` of the new worker |
///
/// The library itself never prints; this is how its events reach your logs.
public enum OffloadLogging {
    /// Starts logging every pool's life cycle to `logger`.
    /// - Parameter logger: where the messages go; its level filters them as usual.
    /// - Returns: a token to stop with ``PoolObservation/remove(_:)``.
    @discardableResult
    public static func bootstrap(logger: Logger) -> PoolObservation.Token {
        PoolObservation.add(LoggingPoolObserver(logger: logger))
    }
}

/// The ``PoolObserver`` behind ``OffloadLogging``.
public struct LoggingPoolObserver: PoolObserver {
    /// Where the messages go.
    public let logger: Logger

    /// Creates an observer logging to `logger`.
    /// - Parameter logger: the logger.
    public init(logger: Logger) {
        self.logger = logger
    }

    public func poolEvent(_ event: PoolEvent) {
        let (level, message) = LoggingPoolObserver.describe(event)
        guard logger.logLevel <= level else { return }
        logger.log(level: level, "\(message)", metadata: LoggingPoolObserver.metadata(event))
    }

    /// The level and message of an event.
    static func describe(_ event: PoolEvent) -> (Logger.Level, String) {
        switch event.kind {
        case .poolStarted: return (.info, "pool started")
        case .poolShutDown: return (.info, "pool shut down")
        case .workerStarted: return (.debug, "worker started")
        case .workerReplaced: return (.notice, "worker replaced")
        case .workerExited:
            switch event.cause ?? .crashed {
            case .crashed:
                if let signal = event.signal { return (.error, "worker crashed: killed by \(signal)") }
                return (.error, "worker crashed: exited with status \(event.exitStatus ?? -1)")
            case .timedOut: return (.warning, "worker killed: a job ran past its timeout")
            case .memoryLimit: return (.warning, "worker killed: over its memory limit")
            case .recycled: return (.debug, "worker recycled after its task quota")
            case .cancelled: return (.notice, "worker killed to stop a cancelled task")
            case .startFailed: return (.warning, "worker failed to start")
            case .protocolViolation: return (.warning, "worker killed: it broke the wire protocol")
            case .shutdown: return (.debug, "worker stopped for shutdown")
            }
        }
    }

    /// Structured metadata of an event (bounded: no job, no input).
    static func metadata(_ event: PoolEvent) -> Logger.Metadata {
        var metadata: Logger.Metadata = [
            "pool": "\(event.pool)",
            "executor": "\(event.executor.rawValue)",
            "workers": "\(event.workers)",
        ]
        if let pid = event.workerPID { metadata["worker.pid"] = "\(pid)" }
        if let index = event.workerIndex { metadata["worker.index"] = "\(index)" }
        if let cause = event.cause { metadata["worker.cause"] = "\(cause.rawValue)" }
        if let signal = event.signal { metadata["worker.signal"] = "\(signal)" }
        if let status = event.exitStatus { metadata["worker.exit_status"] = "\(status)" }
        if !event.stderrTail.isEmpty { metadata["worker.stderr"] = .array(event.stderrTail.map { .string($0) }) }
        return metadata
    }
}
