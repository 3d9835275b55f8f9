import Foundation
import Testing

/// The progress bar of the long commands: drawn on a terminal once the work has run for a second, never on a pipe,
/// never with `--json`. A terminal is given by `script(1)`, which runs the command on a pseudo-terminal.
@Suite(.serialized)
struct ProgressLineTests {
    /// Enough work for more than a second in a debug build, little enough for a test.
    static let race = ["race", "--iterations", "3000000", "--trials", "2"]
    static let eraseLine = "\u{1B}[K"

    /// `offload` with `arguments` on a pseudo-terminal (stdout and stderr both); what the terminal received.
    static func onTerminal(_ arguments: [String]) throws -> String? {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        process.arguments = ["-qfec", ([OffloadBinary.path] + arguments).joined(separator: " "), "/dev/null"]
        process.environment = ProcessInfo.processInfo.environment.merging(["COLUMNS": "100"]) { _, new in new }
        process.standardInput = FileHandle.nullDevice
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    @Test("on a pipe, a run of more than a second writes no progress line to stderr")
    func neverOnAPipe() throws {
        let result = try OffloadBinary.run(Self.race)
        #expect(result.status == 0)
        #expect(!result.stderr.contains(Self.eraseLine) && !result.stderr.contains("\r"), "stderr: \(result.stderr)")
        #expect(!result.stderr.contains("race ["))
    }

    @Test("on a terminal, the same run draws a bar of its steps, redrawn in place, then clears it")
    func barOnATerminal() throws {
        guard let screen = try Self.onTerminal(Self.race) else { return }
        #expect(screen.contains("\r" + Self.eraseLine + "race ["), "terminal: \(screen.prefix(400))")
        #expect(screen.contains("/5"))
        // The report starts on a cleared line: the bar never runs into it.
        #expect(screen.contains(Self.eraseLine + "offload race"))
    }

    @Test("with --json, even on a terminal, nothing but the JSON object")
    func neverWithJSON() throws {
        guard let screen = try Self.onTerminal(Self.race + ["--json"]) else { return }
        #expect(!screen.contains(Self.eraseLine), "terminal: \(screen.prefix(400))")
        let json = screen.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(json.hasPrefix("{") && json.hasSuffix("}"))
    }
}
