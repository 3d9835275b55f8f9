import Foundation
import Testing

/// Runs the built `offload` executable, found next to the test bundle (the directory of /proc/self/exe), as
/// swift-argument-parser's `AssertExecuteCommand` does.
struct OffloadBinary {
    struct Result {
        var stdout: String
        var stderr: String
        var status: Int32

        /// stdout decoded as one JSON object.
        func json() throws -> [String: Any] {
            let object = try JSONSerialization.jsonObject(with: Data(stdout.utf8))
            return try #require(object as? [String: Any], "stdout is not one JSON object: \(stdout.prefix(200))")
        }

        /// The non-empty lines on stderr.
        var stderrLines: [Substring] { stderr.split(separator: "\n", omittingEmptySubsequences: true) }
    }

    /// The path of the binary.
    static var path: String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("offload").path
    }

    /// Runs `offload` with `arguments` (and `extra` environment variables), stdin from /dev/null (not a terminal),
    /// and awaits its exit without blocking a thread: a test that blocked one of the few cooperative threads while a
    /// benchmark ran for a minute starved every other test of the run.
    /// - Parameter executable: another program to run the same way (default: `offload`).
    static func run(
        _ arguments: [String],
        environment extra: [String: String] = [:],
        executable: String = path
    ) async throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(extra) { _, new in new }
        process.standardInput = FileHandle.nullDevice
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("offload-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let outURL = directory.appendingPathComponent("out")
        let errURL = directory.appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL)
        let err = try FileHandle(forWritingTo: errURL)
        process.standardOutput = out
        process.standardError = err
        let exited = AsyncStream<Void>.makeStream()
        process.terminationHandler = { _ in exited.continuation.finish() }
        try process.run()
        for await _ in exited.stream {}
        // The stream also ends when the test is cancelled (its time limit): stop the child before reading its status,
        // which Foundation refuses (a trap) while the process runs.
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try out.close()
        try err.close()
        return Result(
            stdout: try String(contentsOf: outURL, encoding: .utf8),
            stderr: try String(contentsOf: errURL, encoding: .utf8),
            status: process.terminationStatus
        )
    }

    /// Asserts that `arguments` fail the way the CLI promises: non-zero exit, exactly one line on stderr naming the
    /// problem, nothing that looks like a crash.
    static func expectOneLineFailure(_ arguments: [String], mentioning fragment: String,
                                     sourceLocation: SourceLocation = #_sourceLocation) async throws
    {
        let result = try await run(arguments)
        #expect(result.status != 0, "exit status for \(arguments)", sourceLocation: sourceLocation)
        #expect(result.stderrLines.count == 1, "stderr: \(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr.contains(fragment), "stderr: \(result.stderr)", sourceLocation: sourceLocation)
        #expect(!result.stderr.contains("Fatal error"), sourceLocation: sourceLocation)
        #expect(result.status < 128, "died from a signal: \(result.status)", sourceLocation: sourceLocation)
    }
}

/// The `python3` on PATH, for tests that compare with Python (they are skipped without it).
enum InstalledPython {
    /// The interpreter's path, if there is one.
    static let path: String? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        return path.split(separator: ":").map { "\($0)/python3" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    static var available: Bool { path != nil }

    /// Whether it imports NumPy.
    static let hasNumPy: Bool = succeeds("import numpy")

    /// Whether it is a free-threaded build running without its GIL.
    static let freeThreaded: Bool = succeeds("import sys; sys.exit(0 if not getattr(sys, '_is_gil_enabled', lambda: True)() else 1)")

    private static func succeeds(_ code: String) -> Bool {
        guard let path else { return false }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["-c", code]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    /// A temporary executable that runs this interpreter with `arguments` first (e.g. `-S`: without site-packages).
    /// - Returns: its path; the caller removes it.
    static func wrapper(arguments: [String]) throws -> String {
        let python = try #require(path)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("python-\(UUID().uuidString)").path
        let script = "#!/bin/sh\nexec '\(python)' \(arguments.joined(separator: " ")) \"$@\"\n"
        try script.write(toFile: file, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: file)
        return file
    }
}

extension Dictionary where Key == String, Value == Any {
    /// `self[key]` as an array of objects.
    func objects(_ key: String) -> [[String: Any]] { self[key] as? [[String: Any]] ?? [] }
    func int(_ key: String) -> Int? { (self[key] as? NSNumber)?.intValue }
    func double(_ key: String) -> Double? { (self[key] as? NSNumber)?.doubleValue }
    func string(_ key: String) -> String? { self[key] as? String }
    func bool(_ key: String) -> Bool? { (self[key] as? NSNumber)?.boolValue }
}
