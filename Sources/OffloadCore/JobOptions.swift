/// What ``TaskHandle/cancel(mode:)`` and cancelling an awaiting task do to work that has already started.
///
/// | | queued (or prefetched) work | running work |
/// |---|---|---|
/// | `.finishRunning` | withdrawn at once | left to finish; its result is dropped |
/// | `.stopRunning` | withdrawn at once | process pool: its worker is killed and replaced; in-process pools: asked to stop through ``OffloadTask/isCancelled`` (a thread cannot be killed) |
///
/// Either way the task ends as cancelled (`CancellationError`) and is counted in ``PoolStats/cancelled``.
///
/// Python mapping: `Future.cancel()` is `.finishRunning` (Python cannot cancel a running task at all); Ray's
/// `ray.cancel(ref, force=True)` is `.stopRunning`.
public enum CancellationMode: Sendable, Hashable {
    /// Withdraw queued work; let running work finish (its result is dropped).
    case finishRunning
    /// Withdraw queued work; stop running work now (process pools kill the worker running it).
    case stopRunning
}

/// Per-call options for submitting jobs: they override the executor's defaults for the jobs of one call.
public struct JobOptions: Sendable, Hashable {
    /// The longest one job may run; `nil` uses the executor's default (``ProcessPool/Configuration/taskTimeout``).
    /// Applies to each job, also inside a batch.
    public var timeout: Duration?

    /// Creates options.
    /// - Parameter timeout: per-job time limit, overriding the executor's default.
    public init(timeout: Duration? = nil) {
        self.timeout = timeout
    }

    /// Where the jobs' own progress reports go (``JobProgress``): set by a watched map for each chunk it submits.
    @usableFromInline package var progress: ProgressRoute?

    /// These options with the jobs' progress reports routed to `monitor` under the chunk starting at `start`.
    @inlinable
    package func routingProgress(to monitor: ProgressMonitor?, chunkStart start: Int) -> JobOptions {
        guard let monitor else { return self }
        var options = self
        options.progress = ProgressRoute(monitor: monitor, chunkStart: start)
        return options
    }

    /// The executor's defaults.
    public static let `default` = JobOptions()
}

/// A chunk of a watched map: the monitor its jobs' ``JobProgress`` reports go to, and the chunk's first input index.
/// Compared by the monitor's identity.
@usableFromInline
package struct ProgressRoute: Sendable, Hashable {
    @usableFromInline package let monitor: ProgressMonitor
    @usableFromInline package let chunkStart: Int

    @usableFromInline
    package init(monitor: ProgressMonitor, chunkStart: Int) {
        self.monitor = monitor
        self.chunkStart = chunkStart
    }

    /// The sink for item `offset` of the chunk.
    @usableFromInline
    package func sink(item offset: Int) -> MonitorProgressSink {
        MonitorProgressSink(monitor: monitor, chunkStart: chunkStart, itemOffset: offset)
    }

    @usableFromInline
    package static func == (lhs: ProgressRoute, rhs: ProgressRoute) -> Bool {
        lhs.monitor === rhs.monitor && lhs.chunkStart == rhs.chunkStart
    }

    @usableFromInline
    package func hash(into hasher: inout Hasher) {
        hasher.combine(ObjectIdentifier(monitor))
        hasher.combine(chunkStart)
    }
}
