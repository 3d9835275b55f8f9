import Foundation

/// The installed Python that `--python` runs beside Swift. Never required: when it is missing or too old,
/// ``locate(_:)`` says so in one line and the Swift side runs alone.
struct PythonInterpreter: Sendable {
    /// The oldest Python the embedded scripts run on (`math.isqrt`).
    static let minimumVersion = (3, 8)

    /// The command that was run (a path, or a name looked up on PATH).
    let command: String
    /// `sys.executable` as Python reports it.
    let executable: String
    /// "3.11.7".
    let version: String
    /// Whether the interpreter runs with a GIL (`sys._is_gil_enabled()`, true before 3.13).
    let gilEnabled: Bool

    /// Finds and probes the interpreter.
    /// - Parameter requested: `--python-exe`, or `nil` for `python3` on PATH.
    /// - Returns: the interpreter, or the one-line notice explaining why there is none.
    static func locate(_ requested: String?) -> Result<PythonInterpreter, PythonUnavailable> {
        let command = requested ?? "python3"
        let probe = """
            import sys, json
            print(json.dumps({"version": "%d.%d.%d" % tuple(sys.version_info[:3]), "executable": sys.executable,
                              "gil": getattr(sys, "_is_gil_enabled", lambda: True)()}))
            """
        let output: ProcessOutput
        do {
            output = try ProcessRunner.run(command, arguments: ["-c", probe])
        } catch {
            return .failure(PythonUnavailable(notice: "Python side skipped: cannot run '\(command)' (\(error.message))"))
        }
        struct Probe: Decodable {
            let version: String
            let executable: String
            let gil: Bool
        }
        guard output.status == 0,
            let line = output.stdout.split(separator: "\n").last,
            let probed = try? JSONDecoder().decode(Probe.self, from: Data(line.utf8))
        else {
            let reason = output.stderr.split(separator: "\n").last.map(String.init) ?? "exit status \(output.status)"
            return .failure(PythonUnavailable(notice: "Python side skipped: '\(command)' did not run a probe (\(reason))"))
        }
        let parts = probed.version.split(separator: ".").compactMap { Int($0) }
        let major = parts.first ?? 0
        let minor = parts.dropFirst().first ?? 0
        if (major, minor) < minimumVersion {
            return .failure(
                PythonUnavailable(
                    notice: "Python side skipped: \(command) is Python \(probed.version); the scripts need "
                        + "\(minimumVersion.0).\(minimumVersion.1) or later"
                )
            )
        }
        return .success(
            PythonInterpreter(command: command, executable: probed.executable, version: probed.version,
                              gilEnabled: probed.gil)
        )
    }

    /// Writes `files` to a fresh temporary directory, runs `script` (one of them) there with that directory on
    /// PYTHONPATH, and removes the directory.
    /// - Returns: what the script printed and its exit status.
    /// - Throws: ``ProcessRunnerError`` if the interpreter cannot be started or the files cannot be written.
    func runScript(_ script: String, files: [String: String], arguments: [String]) throws -> ProcessOutput {
        let directory = try PythonScriptDirectory(files: files)
        defer { directory.remove() }
        return try ProcessRunner.run(
            command,
            arguments: [directory.path(of: script)] + arguments,
            environment: directory.environment,
            currentDirectory: directory.path
        )
    }

    /// The notice printed when the interpreter has a GIL: which build to pass instead, and what for.
    static func gilNotice(version: String, purpose: String) -> String {
        "Python \(version) runs with the GIL (not a free-threaded build): pass --python-exe with a free-threaded "
            + "build (python3.13t or later) \(purpose)"
    }

    /// The one-line description printed beside results.
    var description: String {
        "Python \(version) (\(executable)\(gilEnabled ? "" : ", free-threaded: no GIL"))"
    }
}

/// Why the Python side did not run: one line for the report.
struct PythonUnavailable: Error {
    let notice: String
}

/// A temporary directory holding the Python scripts of one run, put on `PYTHONPATH`: ProcessPoolExecutor and
/// InterpreterPoolExecutor pickle functions by module and name, so the work must live in an importable module.
struct PythonScriptDirectory: Sendable {
    let path: String

    /// Writes `files` (name → contents) to a fresh directory.
    /// - Throws: ``ProcessRunnerError`` when the directory or a file cannot be written.
    init(files: [String: String]) throws(ProcessRunnerError) {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("offload-python-\(UUID().uuidString)")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            for (name, contents) in files {
                try contents.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
            }
        } catch {
            throw ProcessRunnerError(message: "cannot write the Python scripts to \(directory.path): \(error)")
        }
        path = directory.path
    }

    /// The full path of the file `name`.
    func path(of name: String) -> String { path + "/" + name }

    /// This process's environment, with the directory on PYTHONPATH, no bytecode files, and BLAS kept to one thread
    /// (OpenBLAS, OpenMP and MKL would otherwise start a thread per core inside one NumPy call, and a "sequential"
    /// NumPy lane would not be sequential).
    var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONPATH"] = path
        environment["PYTHONDONTWRITEBYTECODE"] = "1"
        for name in PythonScriptDirectory.singleThreadedBLAS { environment[name] = "1" }
        return environment
    }

    /// The variables that keep BLAS libraries to one thread, as the report names them.
    static let singleThreadedBLAS = ["OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"]

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
