import Offload
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes to file descriptor 2 without buffering.
enum StandardError {
    /// Writes `text` to stderr as it is (no newline added).
    static func write(_ text: String) {
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(2, bytes.baseAddress! + offset, bytes.count - offset)
                if written <= 0 { return }
                offset += written
            }
        }
    }
}

/// Whether the standard streams are terminals.
enum Terminal {
    /// stdin is a terminal: interactive questions are allowed.
    static var stdinIsTerminal: Bool { isatty(0) != 0 }
    /// stderr is a terminal: progress lines are allowed.
    static var stderrIsTerminal: Bool { isatty(2) != 0 }

    /// The width of the terminal on stderr (`TIOCGWINSZ`), else `$COLUMNS`, else 80.
    static var columns: Int {
        var size = winsize()
        if ioctl(2, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return getenv("COLUMNS").flatMap { Int(String(cString: $0)) } ?? 80
    }
}

/// Progress on stderr for work that takes longer than a second, and only when stderr is a terminal and the output is
/// not `--json` (``ProgressLineLayout``): piped or redirected output (CI logs, `--json | jq`) stays clean. Either a bar
/// of steps (``step(_:)``, ``update(_:done:total:detail:)``) or a plain message (``update(_:)``).
final class ProgressLine: Sendable {
    private struct State {
        var shown = false
        /// Steps started through ``step(_:)``.
        var started = 0
    }

    /// Set once `--json` was parsed: no progress line for the rest of the process.
    static let jsonRequested = Atomic<Bool>(false)

    /// `--json` was given: no progress line from now on.
    static func silenceForJSON() {
        jsonRequested.store(true, ordering: .relaxed)
    }

    /// Whether progress lines may be drawn in this process now.
    static var allowed: Bool {
        ProgressLineLayout.isAllowed(
            stderrIsTerminal: Terminal.stderrIsTerminal, json: jsonRequested.load(ordering: .relaxed))
    }

    private let enabled: Bool
    private let label: String
    private let steps: Int?
    private let layout = ProgressLineLayout()
    private let start = ContinuousClock.now
    private let state = Mutex(State())

    /// - Parameters:
    ///   - label: what runs, before the bar (`"bench sum-of-squares"`).
    ///   - steps: how many ``step(_:)`` calls make the whole work, for a bar of steps.
    ///   - enabled: `false` silences the line regardless of the terminal.
    init(_ label: String = "", steps: Int? = nil, enabled: Bool = ProgressLine.allowed) {
        self.label = label
        self.steps = steps
        self.enabled = enabled
    }

    /// Replaces the progress line with `text`, once the work has run for a second.
    func update(_ text: @autoclosure () -> String) {
        guard enabled, let line = layout.message(text(), elapsed: .now - start, columns: Terminal.columns) else {
            return
        }
        draw(line)
    }

    /// Draws the bar at `done` of `total`, with `detail` after it.
    func update(_ label: String, done: Int, total: Int, detail: String? = nil) {
        guard enabled else { return }
        let snapshot = ProgressSnapshot(completed: min(done, total), total: total, elapsed: .now - start)
        guard let line = layout.line(label, snapshot, detail: detail, columns: Terminal.columns) else { return }
        draw(line)
    }

    /// The next of the `steps` steps (or of `total`, when given) begins: the bar counts the steps before it as done.
    func step(_ detail: String, of total: Int? = nil) {
        let done = state.withLock(self) { state in
            state.started += 1
            return state.started - 1
        }
        update(label, done: done, total: max(total ?? steps ?? 0, done + 1), detail: detail)
    }

    private func draw(_ line: String) {
        state.withLock(self) { state in
            state.shown = true
            StandardError.write(ProgressLineLayout.redraw + line)
        }
    }

    /// Clears the line if anything was shown; a later update draws it again (call before writing to stdout).
    func finish() {
        state.withLock(self) { state in
            if state.shown { StandardError.write(ProgressLineLayout.clear) }
            state.shown = false
        }
    }
}

/// Ends the process with `status` (libc `exit`; inside a `ParsableCommand` the name `exit` means
/// ArgumentParser's `exit(withError:)`).
func terminate(_ status: Int32) -> Never {
    exit(status)
}
