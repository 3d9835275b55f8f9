/// The last lines one worker wrote to its standard error, kept for the error report of its crash.
struct StderrTail {
    private(set) var lines: [String] = []
    private var partial: [UInt8] = []
    /// Lines kept: more than reported, because a crash report can follow the lines that explain the crash.
    let retained: Int

    init(keep: Int) {
        retained = max(keep, 256)
    }

    /// Appends bytes; returns the complete lines they finished.
    mutating func append(_ bytes: UnsafeRawBufferPointer) -> [String] {
        var finished: [String] = []
        for byte in bytes {
            if byte == UInt8(ascii: "\n") {
                if let line = endLine() { finished.append(line) }
            } else if partial.count < 4096 {
                partial.append(byte)
            }
        }
        return finished
    }

    /// Ends an unterminated last line (the worker died mid-line).
    mutating func endLine() -> String? {
        guard !partial.isEmpty else { return nil }
        let line = String(decoding: partial, as: UTF8.self)
        partial.removeAll(keepingCapacity: true)
        lines.append(line)
        if lines.count > retained + 64 { lines.removeFirst(lines.count - retained) }
        return line
    }

    /// The last `keep` lines before a Swift crash report or stack trace started (plus its headline), or simply the
    /// last `keep`: the lines that explain a crash (`Fatal error: …`, the job's own output) come before the trace.
    func summary(keep: Int) -> [String] {
        guard keep > 0 else { return [] }
        let start = lines.firstIndex { $0.contains("Current stack trace:") || $0.contains("Program crashed") }
        if let crash = start {
            return Array(lines[..<crash].suffix(keep - 1)) + [lines[crash]]
        }
        return Array(lines.suffix(keep))
    }
}

/// Rate-limits the copy of workers' stderr to the parent's stderr (token bucket over lines, shared by the pool's
/// workers): a crash soak must not flood the terminal. Suppressed lines are counted and announced in one line.
struct StderrForwarder {
    let linesPerSecond: Double
    let burst: Double
    private var tokens: Double
    private var last: UInt64 = 0
    private(set) var suppressed = 0

    init(linesPerSecond: Int) {
        self.linesPerSecond = Double(linesPerSecond)
        burst = Double(max(1, linesPerSecond))
        tokens = burst
    }

    /// The text to write for `lines` arriving at `now`.
    mutating func admit(_ lines: [String], now: UInt64) -> String {
        guard !lines.isEmpty else { return "" }
        if last != 0 { tokens = min(burst, tokens + Double(now &- last) / 1e9 * linesPerSecond) }
        last = now
        var text = ""
        for line in lines {
            if tokens >= 1 {
                if suppressed > 0 { text += notice() }
                tokens -= 1
                text += line + "\n"
            } else {
                suppressed += 1
            }
        }
        return text
    }

    /// The announcement of lines suppressed so far (empty when none), resetting the count.
    mutating func notice() -> String {
        guard suppressed > 0 else { return "" }
        defer { suppressed = 0 }
        return "offload: \(suppressed) lines of worker stderr not shown (more than \(Int(linesPerSecond)) lines/s)\n"
    }
}
