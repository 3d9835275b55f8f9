import Synchronization

/// How a running job (or a map's transform) says how far it is, for the ``ProgressMonitor`` of the map that runs it.
///
/// ```swift
/// struct Render: Job {
///     func run() throws -> Image {
///         for row in 0..<rows {
///             render(row)
///             JobProgress.report(fractionCompleted: Double(row + 1) / Double(rows))
///         }
///         return image
///     }
/// }
/// ```
///
/// A report is cheap and does nothing when nobody watches (the map was given no monitor). In a worker process the
/// reports are rate-limited and relayed to the caller over the pool's pipe; in-process they go straight to the
/// monitor. The fraction shows in ``ProgressSnapshot/runningFraction`` until the job ends, when it is counted in
/// ``ProgressSnapshot/completed`` or ``ProgressSnapshot/failed`` instead.
///
/// In-process, jobs run in chunks, and a report also counts the items of its chunk that already ended (the third
/// item half done reports 2.5 items) — but only in a map whose jobs report: once a chunk has ended with no report
/// from any job of the map, later chunks stop counting their items, so that watching a map of tiny items costs
/// nothing per item, and a first report turns the count back on for the chunks that start after it.
///
/// Foundation mapping: the `completedUnitCount` of a child `Progress`, or a `ProgressReporter` of Swift's
/// `ProgressManager`.
public enum JobProgress {
    /// Where the reports of the job running on this thread go; bound by the executor around each job of a watched
    /// map, unbound otherwise.
    @TaskLocal package static var sink: (any JobProgressSink)?

    /// Reports how far the running job is.
    /// - Parameter fractionCompleted: from 0 (just started) to 1 (done); values outside are clamped.
    public static func report(fractionCompleted: Double) {
        sink?.report(fractionCompleted: fractionCompleted)
    }

    /// Runs `body` with the reports of the job it runs going to `sink`.
    @usableFromInline
    package static func withSink<T>(_ sink: (any JobProgressSink)?, _ body: () throws -> T) rethrows -> T {
        try $sink.withValue(sink, operation: body)
    }

    /// Whether a report would reach anyone: a job can skip computing its fraction otherwise.
    public static var isObserved: Bool { sink != nil }
}

/// Receives the fractions a job reports (``JobProgress``).
@usableFromInline
package protocol JobProgressSink: Sendable {
    func report(fractionCompleted: Double)
}

/// In-process: reports go to the monitor, under the chunk they belong to.
@usableFromInline
package struct MonitorProgressSink: JobProgressSink {
    @usableFromInline let monitor: ProgressMonitor
    @usableFromInline let chunkStart: Int
    /// Items in the chunk and the one running, so that a chunk's fraction is in items.
    @usableFromInline let itemOffset: Int

    @usableFromInline
    package init(monitor: ProgressMonitor, chunkStart: Int, itemOffset: Int = 0) {
        self.monitor = monitor
        self.chunkStart = chunkStart
        self.itemOffset = itemOffset
    }

    @usableFromInline
    package func report(fractionCompleted: Double) {
        let fraction = fractionCompleted.isNaN ? 0 : min(1, max(0, fractionCompleted))
        monitor.jobReported(chunk: chunkStart, fraction: Double(itemOffset) + fraction)
    }
}

/// In-process: the reports of the jobs of one chunk, bound once for the whole chunk; the chunk's runner moves
/// ``offset`` past each item as it ends, so that a report counts the items before it — when the chunk started while
/// ``ProgressMonitor/tracksItems``, otherwise ``offset`` stays 0 and a report counts its own item only.
@usableFromInline
package final class ChunkProgressSink: JobProgressSink {
    @usableFromInline let monitor: ProgressMonitor
    @usableFromInline let chunkStart: Int
    /// Items of the chunk that ended. Written only by the task running the chunk (``advance()``), so a relaxed load
    /// and store are enough (plain moves): a read-modify-write (`add`, a lock-prefixed instruction) per item cost a
    /// trivial map a third of its time. Read by ``report(fractionCompleted:)``, from whichever task the job runs.
    @usableFromInline let offset = Atomic<Int>(0)

    @usableFromInline
    package init(monitor: ProgressMonitor, chunkStart: Int) {
        self.monitor = monitor
        self.chunkStart = chunkStart
    }

    /// The running item ended: later reports belong to the next one.
    @inlinable
    package func advance() {
        offset.store(offset.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
    }

    @usableFromInline
    package func report(fractionCompleted: Double) {
        let fraction = fractionCompleted.isNaN ? 0 : min(1, max(0, fractionCompleted))
        monitor.jobReported(chunk: chunkStart, fraction: Double(offset.load(ordering: .relaxed)) + fraction)
    }
}
