/// How far a map has come: one reading of a ``ProgressMonitor``.
///
/// `completed` and `failed` count *items* (inputs), not chunks, and they are exact: an item is counted once, when its
/// outcome is known — a job retried after its worker crashed is counted when its last attempt ends, an item of a
/// chunk that was cancelled is never counted. `completed + failed` reaches `total` when the map finishes every item.
///
/// Foundation mapping: `completedCount` / `totalCount` / `fractionCompleted` of `Progress` and of Swift's
/// `ProgressManager`; `estimatedTimeRemaining` of `Progress`. Python mapping: `tqdm`'s `n`, `total`, `rate`, and
/// its remaining-time estimate.
public struct ProgressSnapshot: Sendable, Hashable, CustomStringConvertible {
    /// Items that produced a value.
    public var completed: Int
    /// Items that failed (threw, crashed their worker, timed out).
    public var failed: Int
    /// How many items the map has, when known: from the start for a collection, otherwise once the input has been
    /// read to its end.
    public var total: Int?
    /// The summed fraction done that running jobs reported about themselves (``JobProgress/report(fractionCompleted:)``),
    /// in items: 2.5 means, for example, five running jobs each half done. Not part of `completed`.
    public var runningFraction: Double
    /// Time since the map started.
    public var elapsed: Duration
    /// Whether the map has ended (every item has an outcome, the map threw, or it was cancelled).
    public var isFinished: Bool

    /// Creates a snapshot.
    /// - Parameters:
    ///   - completed: items that produced a value.
    ///   - failed: items that failed.
    ///   - total: the number of items, when known.
    ///   - runningFraction: the summed fraction done reported by running jobs.
    ///   - elapsed: time since the start.
    ///   - isFinished: whether the map has ended.
    public init(
        completed: Int = 0,
        failed: Int = 0,
        total: Int? = nil,
        runningFraction: Double = 0,
        elapsed: Duration = .zero,
        isFinished: Bool = false
    ) {
        self.completed = completed
        self.failed = failed
        self.total = total
        self.runningFraction = runningFraction
        self.elapsed = elapsed
        self.isFinished = isFinished
    }

    /// Items with an outcome: `completed + failed`.
    public var done: Int { completed + failed }

    /// `done / total` (with the fractions running jobs reported), or `nil` while the total is unknown.
    public var fractionCompleted: Double? {
        guard let total else { return nil }
        guard total > 0 else { return 1 }
        return min(1, (Double(done) + runningFraction) / Double(total))
    }

    /// Items finished per second since the start.
    public var itemsPerSecond: Double {
        let seconds = elapsed.progressSeconds
        return seconds > 0 ? Double(done) / seconds : 0
    }

    /// The time left at the rate so far, or `nil` while the total or the rate is unknown.
    public var estimatedTimeRemaining: Duration? {
        guard let total, !isFinished else { return isFinished ? .zero : nil }
        let rate = itemsPerSecond
        guard rate > 0 else { return nil }
        let left = max(0, Double(total) - Double(done) - runningFraction)
        return .nanoseconds(Int64(min(left / rate * 1e9, Double(Int64.max / 2))))
    }

    public var description: String {
        let totalText = total.map(String.init) ?? "?"
        var text = "\(done)/\(totalText)"
        if failed > 0 { text += " (\(failed) failed)" }
        return text
    }
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    var progressSeconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }
}
