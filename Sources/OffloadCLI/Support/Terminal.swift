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
}

/// Progress on stderr for work that takes longer than a second, and only when stderr is a terminal: piped or
/// redirected output (CI logs, `--json | jq`) stays clean.
final class ProgressLine: Sendable {
    private struct State {
        var shown = false
    }

    private let enabled: Bool
    private let start = ContinuousClock.now
    private let state = Mutex(State())

    /// - Parameter enabled: `false` silences the line regardless of the terminal.
    init(enabled: Bool = Terminal.stderrIsTerminal) {
        self.enabled = enabled
    }

    /// Replaces the progress line with `text`, once the work has run for a second.
    func update(_ text: @autoclosure () -> String) {
        guard enabled, ContinuousClock.now - start > .seconds(1) else { return }
        let line = text()
        state.withLock { state in
            state.shown = true
            StandardError.write("\r\u{1B}[K" + line)
        }
    }

    /// Clears the line if anything was shown.
    func finish() {
        state.withLock { state in
            if state.shown { StandardError.write("\r\u{1B}[K") }
            state.shown = false
        }
    }
}

/// Ends the process with `status` (libc `exit`; inside a `ParsableCommand` the name `exit` means
/// ArgumentParser's `exit(withError:)`).
func terminate(_ status: Int32) -> Never {
    exit(status)
}
