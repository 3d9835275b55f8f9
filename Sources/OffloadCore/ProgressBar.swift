/// Draws a ``ProgressSnapshot`` as one line of text for a terminal: `[#########-----------]  45%  450/1000  1.2k/s  5s left`.
///
/// Pure: it returns the text and never writes it (the library never prints). Show it only when the output is a
/// terminal (`isatty`), redrawing the line with a carriage return; never on a pipe.
///
/// ```swift
/// let bar = ProgressBar(width: 30)
/// let progress = ProgressMonitor { step in if isTerminal { write("\r" + bar.render(step)) } }
/// ```
///
/// Python mapping: `tqdm`'s default bar.
public struct ProgressBar: Sendable, Hashable {
    /// The bar's width in characters, brackets excluded.
    public var width: Int

    /// Creates a renderer.
    /// - Parameter width: the bar's width in characters (at least 1).
    public init(width: Int = 30) {
        self.width = max(1, width)
    }

    /// The line for `snapshot`: a bar and percentage when the total is known, otherwise the count; the rate; the time
    /// left (or the time taken, once finished); the failures, if any.
    /// - Parameter snapshot: the progress to draw.
    /// - Returns: one line, without a newline.
    public func render(_ snapshot: ProgressSnapshot) -> String {
        var parts: [String] = []
        if let fraction = snapshot.fractionCompleted, let total = snapshot.total {
            let filled = min(width, Int((fraction * Double(width)).rounded(.down)))
            parts.append("[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "]")
            let percent = Int((fraction * 100).rounded(.down))
            parts.append((percent < 10 ? "  " : percent < 100 ? " " : "") + "\(percent)%")
            parts.append("\(snapshot.done)/\(total)")
        } else {
            parts.append("\(snapshot.done) done")
        }
        if snapshot.itemsPerSecond > 0 { parts.append(ProgressBar.rate(snapshot.itemsPerSecond)) }
        if snapshot.isFinished {
            parts.append("in " + ProgressBar.duration(snapshot.elapsed))
        } else if let left = snapshot.estimatedTimeRemaining {
            parts.append(ProgressBar.duration(left) + " left")
        }
        if snapshot.failed > 0 { parts.append("\(snapshot.failed) failed") }
        return parts.joined(separator: "  ")
    }

    /// `950/s`, `12.5k/s`, `3.1M/s`.
    static func rate(_ perSecond: Double) -> String {
        if perSecond >= 1e6 { return one(perSecond / 1e6) + "M/s" }
        if perSecond >= 1e4 { return one(perSecond / 1e3) + "k/s" }
        if perSecond >= 10 { return "\(Int(perSecond.rounded()))/s" }
        return one(perSecond) + "/s"
    }

    /// `850ms`, `42s`, `3m07s`, `2h05m`.
    static func duration(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        if seconds < 1 { return "\(attoseconds / 1_000_000_000_000_000)ms" }
        if seconds < 60 { return "\(seconds)s" }
        if seconds < 3_600 { return "\(seconds / 60)m" + pad(seconds % 60) + "s" }
        return "\(seconds / 3_600)h" + pad((seconds % 3_600) / 60) + "m"
    }

    private static func one(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }

    private static func pad(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
}
