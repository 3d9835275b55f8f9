import Foundation
import Testing

/// The progress bar of the long commands: drawn on a terminal once the work has run for a second, never on a pipe,
/// never with `--json`. A terminal is given by `script(1)`, which runs the command on a pseudo-terminal.
@Suite(.serialized)
struct ProgressLineTests {
    /// Enough work for more than a second in a debug build, little enough for a test.
    static let race = ["race", "--iterations", "3000000", "--trials", "2"]
    static let eraseLine = "\u{1B}[K"

    /// The terminal width the runs see.
    static let columns = ["COLUMNS": "100"]

    /// `offload` with `arguments` on a pseudo-terminal (stdout and stderr both); what the terminal received.
    static func onTerminal(_ arguments: [String]) async throws -> String? {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else { return nil }
        let command = ([OffloadBinary.path] + arguments).joined(separator: " ")
        return try await OffloadBinary.run(
            ["-qfec", command, "/dev/null"], environment: columns, executable: "/usr/bin/script"
        ).stdout
    }

    @Test("on a pipe, a run of more than a second writes no progress line to stderr")
    func neverOnAPipe() async throws {
        let result = try await OffloadBinary.run(Self.race, environment: Self.columns)
        let (stderr, status) = (result.stderr, result.status)
        #expect(status == 0)
        #expect(!stderr.contains(Self.eraseLine) && !stderr.contains("\r"), "stderr: \(stderr)")
        #expect(!stderr.contains("race ["))
    }

    @Test("on a terminal, the same run draws a bar of its steps, redrawn in place, then clears it")
    func barOnATerminal() async throws {
        guard let screen = try await Self.onTerminal(Self.race) else { return }
        #expect(screen.contains("\r" + Self.eraseLine + "race ["), "terminal: \(screen.prefix(400))")
        #expect(screen.contains("/5"))
        // The report starts on a cleared line: the bar never runs into it.
        #expect(screen.contains(Self.eraseLine + "offload race"))
    }

    @Test("with --json, even on a terminal, nothing but the JSON object")
    func neverWithJSON() async throws {
        guard let screen = try await Self.onTerminal(Self.race + ["--json"]) else { return }
        #expect(!screen.contains(Self.eraseLine), "terminal: \(screen.prefix(400))")
        let json = screen.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(json.hasPrefix("{") && json.hasSuffix("}"))
    }
}
