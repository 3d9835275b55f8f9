import Foundation
import Testing

/// The progress bar of the long commands: drawn on a terminal once the work has run for a second, never on a pipe,
/// never with `--json`. A terminal is given by `script(1)`, which runs the command on a pseudo-terminal.
@Suite(.serialized)
struct ProgressLineTests {
    /// Enough work for more than a second in a debug build, little enough for a test.
    static let race = ["race", "--iterations", "3000000", "--trials", "2"]
    static let eraseLine = "\u{1B}[K"

    /// Runs `executable` with `arguments`, stdout and stderr to files, and awaits its exit without blocking a
    /// thread of the cooperative pool (other tests run on it meanwhile). Returns (stdout, stderr, status).
    static func run(_ executable: String, _ arguments: [String]) async throws -> (String, String, Int32) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("offload-progress-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let outURL = directory.appendingPathComponent("out")
        let errURL = directory.appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL)
        let err = try FileHandle(forWritingTo: errURL)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(["COLUMNS": "100"]) { _, new in new }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = err
        let status = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int32, any Error>) in
            process.terminationHandler = { ended in continuation.resume(returning: ended.terminationStatus) }
            do { try process.run() } catch { continuation.resume(throwing: error) }
        }
        try out.close()
        try err.close()
        return (
            try String(contentsOf: outURL, encoding: .utf8), try String(contentsOf: errURL, encoding: .utf8), status
        )
    }

    /// `offload` with `arguments` on a pseudo-terminal (stdout and stderr both); what the terminal received.
    static func onTerminal(_ arguments: [String]) async throws -> String? {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else { return nil }
        let command = ([OffloadBinary.path] + arguments).joined(separator: " ")
        return try await run("/usr/bin/script", ["-qfec", command, "/dev/null"]).0
    }

    @Test("on a pipe, a run of more than a second writes no progress line to stderr")
    func neverOnAPipe() async throws {
        let (_, stderr, status) = try await Self.run(OffloadBinary.path, Self.race)
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
