import OffloadPostgresScratch

#if canImport(Glibc)
    import Glibc
#endif

/// A `PostgresWorker` running as a separate OS process (the fixture executable), connected over TCP.
final class WorkerProcess: Sendable {
    let child: ScratchProcess
    let name: String

    init(arguments: [String], outputPath: String) async throws {
        child = try ScratchProcess([TestWorkerBinary.path] + arguments, outputPath: outputPath)
        // The fixture prints "ready <name>" once connected, or exits with an error.
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            let text = child.output
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("ready ") }) {
                name = String(line.dropFirst(6))
                return
            }
            if !child.isRunning || ContinuousClock.now > deadline {
                child.kill()
                throw WorkerProcessError(text: "the worker fixture did not start: '\(text)'")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    var pid: Int32 { child.pid }
    var output: String { child.output }

    func signal(_ number: Int32) { child.signal(number) }

    func waitForExit(timeout: Duration) async -> Int32? { await child.waitForExit(timeout: timeout) }

    func terminate() { child.kill() }
}

struct WorkerProcessError: Error, CustomStringConvertible {
    let text: String
    var description: String { text }
}
