import Foundation
import OffloadBenchJobs

/// The running Python lane server (``PythonLaneScripts/server``): one interpreter process for the whole benchmark,
/// asked for one lane run at a time, so the Python lanes take their turn in the harness's interleaved rounds.
actor PythonLaneServer {
    /// What the server says when it starts.
    struct Hello: Decodable, Sendable {
        let python_version: String
        let executable: String
        let gil_enabled: Bool
    }

    private struct Reply: Decodable {
        var startup_seconds: Double?
        var seconds: Double?
        var checksum: String?
        var unavailable: String?
        var error: String?
    }

    private struct Command: Encodable {
        var op: String
        var id: Int
        var lane: String?
        var workload: String?
        var workers: Int?
        var n: Int?
        /// `python-process` only: `map`'s chunksize (default: len(items) // (4 × workers)).
        var chunksize: Int?
    }

    let hello: Hello
    private let process: Process
    private let input: FileHandle
    private let output: FileHandle
    private let errorLog: URL
    private let directory: PythonScriptDirectory
    private var buffer = Data()
    private var nextID = 0

    /// Starts the server on `interpreter` and waits for its greeting.
    /// - Throws: ``CLIError`` when the interpreter cannot start the server.
    init(interpreter: PythonInterpreter) throws {
        directory = try PythonScriptDirectory(files: [
            PythonLaneScripts.serverName: PythonLaneScripts.server,
            PythonLaneScripts.workloadsModuleName: PythonLaneScripts.workloadsModule,
        ])
        guard let executable = ProcessRunner.resolve(interpreter.command) else {
            throw CLIError(ProcessRunner.notFound(interpreter.command))
        }
        let toServer = Pipe()
        let fromServer = Pipe()
        errorLog = URL(fileURLWithPath: directory.path(of: "stderr.log"))
        _ = FileManager.default.createFile(atPath: errorLog.path, contents: nil)
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["-u", directory.path(of: PythonLaneScripts.serverName)]
        process.environment = directory.environment
        process.currentDirectoryURL = URL(fileURLWithPath: directory.path)
        process.standardInput = toServer
        process.standardOutput = fromServer
        process.standardError = try FileHandle(forWritingTo: errorLog)
        input = toServer.fileHandleForWriting
        output = fromServer.fileHandleForReading
        do {
            try process.run()
        } catch {
            directory.remove()
            throw CLIError(ProcessRunner.startFailure(executable, error))
        }
        var buffer = Data()
        guard let line = Self.readLine(from: output, buffer: &buffer),
            let hello = try? JSONDecoder().decode(Hello.self, from: line)
        else {
            let reason = (try? String(contentsOf: errorLog, encoding: .utf8))?
                .split(separator: "\n").last.map(String.init) ?? "no output"
            process.terminate()
            directory.remove()
            throw CLIError("the Python lane server did not start: \(reason)")
        }
        self.buffer = buffer
        self.hello = hello
    }

    /// Starts `lane` at size `n` on `workers` workers.
    /// - Parameter chunksize: `python-process` only: `map`'s chunksize (`nil`: len(items) // (4 × workers)).
    /// - Returns: the lane's session and its start-up seconds, or why it cannot run here (NumPy missing, no
    ///   InterpreterPoolExecutor).
    func prepare(_ lane: BenchLane, workload: String, workers: Int, n: Int, chunksize: Int? = nil) throws
        -> Result<(PythonLane, Double), LaneUnavailable>
    {
        nextID += 1
        let reply = try request(
            Command(op: "prepare", id: nextID, lane: lane.rawValue, workload: workload, workers: workers, n: n,
                    chunksize: chunksize))
        if let unavailable = reply.unavailable { return .failure(LaneUnavailable(reason: unavailable)) }
        return .success((PythonLane(server: self, id: nextID), reply.startup_seconds ?? 0))
    }

    /// One timed run of lane `id`.
    func run(_ id: Int) throws -> LaneRun {
        let reply = try request(Command(op: "run", id: id))
        guard let seconds = reply.seconds, let checksum = reply.checksum else {
            throw CLIError("the Python lane server answered a run without a time")
        }
        return LaneRun(checksum: checksum, seconds: seconds)
    }

    /// Shuts lane `id`'s executor down.
    func close(_ id: Int) {
        _ = try? request(Command(op: "close", id: id))
    }

    /// Ends the server (end of input closes its executors) and removes its scripts.
    func stop() {
        try? input.close()
        process.waitUntilExit()
        directory.remove()
    }

    private func request(_ command: Command) throws -> Reply {
        var line = try JSONEncoder().encode(command)
        line.append(0x0A)
        do {
            try input.write(contentsOf: line)
        } catch {
            throw CLIError("the Python lane server stopped: \(lastErrorLine())")
        }
        guard let answer = Self.readLine(from: output, buffer: &buffer) else {
            throw CLIError("the Python lane server stopped: \(lastErrorLine())")
        }
        let reply = try JSONDecoder().decode(Reply.self, from: answer)
        if let error = reply.error { throw CLIError("Python \(command.lane ?? "lane") failed: \(error)") }
        return reply
    }

    private func lastErrorLine() -> String {
        (try? String(contentsOf: errorLog, encoding: .utf8))?.split(separator: "\n").last.map(String.init)
            ?? "no message"
    }

    /// The next line from `handle` (without its newline), reading more as needed; `nil` at end of output.
    private static func readLine(from handle: FileHandle, buffer: inout Data) -> Data? {
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                let line = buffer[buffer.startIndex..<newline]
                buffer = Data(buffer[(newline + 1)...])
                return Data(line)
            }
            let chunk = handle.availableData
            if chunk.isEmpty { return nil }
            buffer.append(chunk)
        }
    }
}

/// One Python lane on the ``PythonLaneServer``; its times are Python's own `perf_counter` around the work.
struct PythonLane: LaneSession {
    let server: PythonLaneServer
    let id: Int

    func run() async throws -> LaneRun {
        try await server.run(id)
    }

    func close() async {
        await server.close(id)
    }
}
