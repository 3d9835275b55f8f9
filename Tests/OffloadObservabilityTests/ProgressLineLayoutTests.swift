import OffloadCore
import Testing

/// The rules and layout of a command-line progress line, as pure functions: when it may show, and what it says on a
/// terminal of a given width.
struct ProgressLineLayoutTests {
    let layout = ProgressLineLayout()

    static func snapshot(_ done: Int, of total: Int, after seconds: Int64, finished: Bool = false) -> ProgressSnapshot {
        ProgressSnapshot(completed: done, total: total, elapsed: .seconds(seconds), isFinished: finished)
    }

    @Test("only on a terminal, and never with --json")
    func whenAllowed() {
        #expect(ProgressLineLayout.isAllowed(stderrIsTerminal: true, json: false))
        #expect(!ProgressLineLayout.isAllowed(stderrIsTerminal: false, json: false))  // a pipe or a file
        #expect(!ProgressLineLayout.isAllowed(stderrIsTerminal: true, json: true))
        #expect(!ProgressLineLayout.isAllowed(stderrIsTerminal: false, json: true))
    }

    @Test("nothing during the first second, nothing once finished")
    func delayAndFinish() {
        #expect(layout.line("bench", Self.snapshot(1, of: 10, after: 0), columns: 80) == nil)
        #expect(layout.line("bench", Self.snapshot(10, of: 10, after: 5, finished: true), columns: 80) == nil)
        #expect(layout.message("starting", elapsed: .milliseconds(999), columns: 80) == nil)
        #expect(layout.message("starting", elapsed: .seconds(1), columns: 80) == "starting")
    }

    @Test("a wide terminal: the full bar, the counts and the detail")
    func wide() throws {
        let line = try #require(layout.line("bench sum", Self.snapshot(3, of: 10, after: 6), detail: "run 4/10", columns: 120))
        #expect(line == "bench sum [#########---------------------]   30%  3/10  0.5/s  14s left  run 4/10")
    }

    @Test("narrower terminals: the bar shrinks, the detail goes first, the line never reaches the last column",
          arguments: [20, 40, 50, 60, 80])
    func fitted(columns: Int) throws {
        let line = try #require(
            layout.line("bench-processes", Self.snapshot(3, of: 10, after: 6), detail: "throughput", columns: columns))
        #expect(line.count <= columns - 1, "\(line.count) characters on \(columns) columns: \(line)")
        #expect(line.hasPrefix("bench-processes"))
        if columns >= 60 { #expect(line.contains("3/10")) }
        if columns < 60 { #expect(!line.contains("throughput")) }
    }

    @Test("a message is cut to the width with an ellipsis, and to its first line")
    func messages() {
        #expect(layout.message(String(repeating: "x", count: 100), elapsed: .seconds(2), columns: 40)
            == String(repeating: "x", count: 38) + "…")
        #expect(layout.message("first\nsecond", elapsed: .seconds(2), columns: 40) == "first")
        #expect(layout.message("short", elapsed: .seconds(2), columns: 0) == "short")  // unknown width: 80
    }
}
