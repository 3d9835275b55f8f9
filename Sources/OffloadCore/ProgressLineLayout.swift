/// When a command-line tool may draw a progress line, and what the line says: the rules behind the progress bars of
/// `offload` and `offload-postgres`, as pure functions (nothing here writes; the caller writes the text to its own
/// stderr).
///
/// The rules: a line only when stderr is a terminal and the output is not `--json`; nothing during the first
/// ``delay`` of the work (short commands never flash a bar); one line, redrawn in place with ``redraw``, never wider
/// than the terminal (a wrapped line could not be redrawn); cleared with ``clear`` at the end.
///
/// ```swift
/// let layout = ProgressLineLayout()
/// if ProgressLineLayout.isAllowed(stderrIsTerminal: isatty(2) != 0, json: json),
///    let line = layout.line("bench", snapshot, columns: 80) {
///     write(2, ProgressLineLayout.redraw + line)
/// }
/// ```
package struct ProgressLineLayout: Sendable, Hashable {
    /// How long the work runs before the line first shows.
    package var delay: Duration
    /// The widest the bar itself gets, in characters.
    package var maxBarWidth: Int

    /// Moves to the start of the line and erases it: put before each redraw.
    package static let redraw = "\r\u{1B}[K"
    /// Erases the line (after the last redraw).
    package static let clear = "\r\u{1B}[K"

    /// Creates a layout.
    /// - Parameters:
    ///   - delay: how long the work runs before the line first shows.
    ///   - maxBarWidth: the widest the bar gets.
    package init(delay: Duration = .seconds(1), maxBarWidth: Int = 30) {
        self.delay = delay
        self.maxBarWidth = max(1, maxBarWidth)
    }

    /// Whether a progress line may be drawn at all: only on a terminal, and never with `--json` (whose reader wants
    /// the one JSON object and nothing around it, even on stderr).
    package static func isAllowed(stderrIsTerminal: Bool, json: Bool) -> Bool {
        stderrIsTerminal && !json
    }

    /// The line for `snapshot` after `label`, fitted to a terminal `columns` wide, or `nil` while the work is younger
    /// than ``delay`` (and for a finished snapshot: the caller clears the line instead).
    /// - Parameters:
    ///   - label: what runs (`"bench sum-of-squares"`).
    ///   - snapshot: how far it is.
    ///   - detail: the step running now, after the bar (`"threadpool ×2, run 3/5"`); dropped first when space runs out.
    ///   - columns: the terminal's width; 0 or less means 80.
    package func line(_ label: String, _ snapshot: ProgressSnapshot, detail: String? = nil, columns: Int) -> String? {
        guard !snapshot.isFinished, snapshot.elapsed >= delay else { return nil }
        let columns = columns > 0 ? columns : 80
        // The bar gets what the text around it leaves, within [5, maxBarWidth].
        let fixed = ProgressBar(width: 1).render(snapshot).count - 1  // the bar's text without its one-wide bar
        let barWidth = min(maxBarWidth, max(5, columns - 1 - label.count - 1 - fixed))
        var line = label + " " + ProgressBar(width: barWidth).render(snapshot)
        if let detail, !detail.isEmpty, line.count + 2 + detail.count < columns {
            line += "  " + detail
        }
        return Self.truncated(line, to: columns - 1)
    }

    /// A one-line message (no bar) fitted to a terminal `columns` wide, or `nil` while the work is younger than
    /// ``delay``.
    package func message(_ text: String, elapsed: Duration, columns: Int) -> String? {
        guard elapsed >= delay else { return nil }
        return Self.truncated(text, to: (columns > 0 ? columns : 80) - 1)
    }

    /// `text` cut to `width` characters (the last one an ellipsis when cut), and to its first line.
    static func truncated(_ text: String, to width: Int) -> String {
        let oneLine = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init)
            ?? ""
        guard width > 0 else { return "" }
        guard oneLine.count > width else { return oneLine }
        return String(oneLine.prefix(width - 1)) + "…"
    }
}
