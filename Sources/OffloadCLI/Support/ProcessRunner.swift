import Foundation

/// What a child process printed and how it ended.
struct ProcessOutput: Sendable {
    let stdout: String
    let stderr: String
    let status: Int32
}

/// A child process that could not be started.
struct ProcessRunnerError: Error {
    let message: String
}

/// Runs a command to completion and collects its output (Foundation `Process`; output goes through temporary files
/// so that neither pipe can fill up and block the child).
enum ProcessRunner {
    /// - Parameters:
    ///   - command: an absolute or relative path, or a name looked up on PATH.
    ///   - arguments: the arguments after the command.
    ///   - environment: the child's environment (`nil`: this process's).
    ///   - currentDirectory: the child's working directory (`nil`: this process's).
    /// - Returns: the output and exit status (a signal is reported as 128 + its number).
    /// - Throws: ``ProcessRunnerError`` when the command cannot be found or started.
    static func run(
        _ command: String,
        arguments: [String],
        environment: [String: String]? = nil,
        currentDirectory: String? = nil
    ) throws(ProcessRunnerError) -> ProcessOutput {
        guard let path = resolve(command) else {
            throw ProcessRunnerError(message: notFound(command))
        }
        let fileManager = FileManager.default
        let base = fileManager.temporaryDirectory.appendingPathComponent("offload-run-\(UUID().uuidString)")
        let outURL = base.appendingPathExtension("out")
        let errURL = base.appendingPathExtension("err")
        guard fileManager.createFile(atPath: outURL.path, contents: nil),
            fileManager.createFile(atPath: errURL.path, contents: nil),
            let outHandle = try? FileHandle(forWritingTo: outURL),
            let errHandle = try? FileHandle(forWritingTo: errURL)
        else {
            throw ProcessRunnerError(message: "cannot create temporary files in \(fileManager.temporaryDirectory.path)")
        }
        defer {
            try? fileManager.removeItem(at: outURL)
            try? fileManager.removeItem(at: errURL)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        if let environment { process.environment = environment }
        if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = outHandle
        process.standardError = errHandle
        do {
            try process.run()
        } catch {
            throw ProcessRunnerError(message: startFailure(path, error))
        }
        process.waitUntilExit()
        try? outHandle.close()
        try? errHandle.close()
        let stdout = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
        let status = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus
            : process.terminationStatus
        return ProcessOutput(stdout: stdout, stderr: stderr, status: status)
    }

    /// Why `Process.run` could not start `path`, in one line: the system's reason ("Exec format error" for a file that
    /// is no program), not Foundation's "The operation could not be completed. (NSCocoaErrorDomain error 256.)".
    static func startFailure(_ path: String, _ error: any Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError,
            underlying.domain == NSPOSIXErrorDomain
        {
            return "cannot start \(path): \(String(cString: strerror(Int32(underlying.code))))"
        }
        return "cannot start \(path): \(nsError.localizedDescription)"
    }

    /// Why `command` could not be resolved, in words: a path that is not an executable file, or a name not on PATH.
    static func notFound(_ command: String) -> String {
        guard command.contains("/") else { return "'\(command)' not found on PATH" }
        return FileManager.default.fileExists(atPath: command)
            ? "'\(command)' is not an executable file" : "'\(command)' does not exist"
    }

    /// `command` as an executable path: itself if it contains a slash, else the first match on PATH.
    static func resolve(_ command: String) -> String? {
        if command.contains("/") {
            return isExecutable(command) ? command : nil
        }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(command)"
            if isExecutable(candidate) { return candidate }
        }
        return nil
    }

    /// Whether `path` is a file with an execute permission bit. `FileManager.isExecutableFile` asks `access(X_OK)`,
    /// which says yes to root for any file, so a root user's `--python-exe /etc/hostname` would fail later with
    /// Foundation's error dump instead of one clear line.
    private static func isExecutable(_ path: String) -> Bool {
        let fileManager = FileManager.default
        guard fileManager.isExecutableFile(atPath: path),
            let attributes = try? fileManager.attributesOfItem(atPath: path),
            attributes[.type] as? FileAttributeType != .typeDirectory,
            let permissions = attributes[.posixPermissions] as? Int
        else { return false }
        return permissions & 0o111 != 0
    }
}
