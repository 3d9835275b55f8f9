import Foundation
import Offload

/// Runs the lanes of `offload bench` and assembles the ``BenchReport``.
struct BenchRunner: Sendable {
    let kind: WorkloadKind
    let n: Int
    let workerCounts: [Int]
    let repetitions: Int
    let lanes: [BenchLane]
    let pythonRequested: Bool
    let pythonExecutable: String?
    let pythonN: Int?

    /// Runs every lane, then the Python lanes if asked for.
    /// - Throws: a pool's error if a pool cannot start or its work fails.
    func run() async throws -> BenchReport {
        let workload = kind.make(n: n)
        let itemCount = workload.items.count
        let cores = WorkerCount.available
        let progress = ProgressLine()
        defer { progress.finish() }

        var notices: [String] = []
        var measured: [BenchReport.Lane] = []
        for lane in lanes {
            for workers in lane.sweepsWorkers ? workerCounts : [lane.fixedWorkers] {
                let made = try await LaneSessions.make(lane, workload: workload, kind: kind, n: n, workers: workers)
                guard case .success(let session) = made else {
                    if case .failure(let unavailable) = made, !notices.contains(unavailable.reason) {
                        notices.append(unavailable.reason)
                    }
                    break
                }
                var runs: [Double] = []
                var submitTimes: [Double] = []
                var checksum: UInt64 = 0
                do {
                    for attempt in 1...repetitions {
                        progress.update("bench \(kind.rawValue): \(lane.rawValue) ×\(workers), run \(attempt)/\(repetitions)")
                        let (value, seconds) = try await Measurement.time { try await session.run() }
                        runs.append(seconds)
                        if let submitted = session.lastSubmitSeconds { submitTimes.append(submitted) }
                        checksum = value
                    }
                } catch {
                    await session.close()
                    throw error
                }
                await session.close()
                var entry = Self.lane(lane.rawValue, workers: workers, runs: runs, checksum: checksum, items: itemCount,
                                      n: n)
                if !submitTimes.isEmpty {
                    entry.submitNsPerTask = Measurement.median(submitTimes) / Double(max(1, itemCount)) * 1e9
                }
                measured.append(entry)
            }
        }

        var pythonVersion: String?
        var pythonSize: Int?
        if pythonRequested {
            switch PythonInterpreter.locate(pythonExecutable) {
            case .failure(let unavailable):
                notices.append(unavailable.notice)
            case .success(let interpreter):
                pythonVersion = interpreter.version
                let size = pythonN ?? workload.defaultPythonN
                pythonSize = size
                let result = try await runPython(interpreter, size: size, progress: progress)
                measured += result.lanes
                notices += result.notices
            }
        }

        Self.computeSpeedups(&measured, cores: cores)
        return BenchReport(
            workload: kind.rawValue,
            cores: cores,
            summary: workload.summary,
            n: n,
            pythonN: pythonSize,
            repeat: repetitions,
            workers: workerCounts,
            versions: .init(
                swift: OffloadVersion.swiftCompiler,
                offload: OffloadVersion.current,
                build: OffloadVersion.buildConfiguration,
                python: pythonVersion
            ),
            lanes: measured,
            notices: notices,
            checksumsAgree: Self.checksumsAgree(measured)
        )
    }

    static func lane(_ name: String, workers: Int, runs: [Double], checksum: UInt64, items: Int, n: Int)
        -> BenchReport.Lane
    {
        let median = Measurement.median(runs)
        return BenchReport.Lane(
            lane: name, workers: workers, medianSeconds: median, speedup: 0, efficiency: 0, runs: runs,
            nsPerItem: median / Double(max(1, items)) * 1e9, checksum: String(checksum), n: n, submitNsPerTask: nil,
            startupSeconds: nil
        )
    }

    /// Fills in speed-up (against the same language's sequential lane) and efficiency.
    static func computeSpeedups(_ lanes: inout [BenchReport.Lane], cores: Int) {
        let swiftBaseline = lanes.first { $0.lane == BenchLane.sequential.rawValue }?.medianSeconds
        let pythonBaseline = lanes.first { $0.lane == "python-sequential" }?.medianSeconds
        for index in lanes.indices {
            let baseline = lanes[index].lane.hasPrefix("python-") ? pythonBaseline : swiftBaseline
            let median = lanes[index].medianSeconds
            guard let baseline, median > 0 else { continue }
            lanes[index].speedup = baseline / median
            lanes[index].efficiency = lanes[index].speedup / Double(min(lanes[index].workers, cores))
        }
    }

    /// Every Swift lane agrees with `sequential`, every Python lane with `python-sequential`.
    static func checksumsAgree(_ lanes: [BenchReport.Lane]) -> Bool {
        let swift = lanes.first { $0.lane == BenchLane.sequential.rawValue }?.checksum
        let python = lanes.first { $0.lane == "python-sequential" }?.checksum
        return lanes.allSatisfy { $0.checksum == ($0.lane.hasPrefix("python-") ? python : swift) }
    }

    private struct PythonResult: Decodable {
        struct Lane: Decodable {
            let lane: String
            let workers: Int
            let runs: [Double]
            let checksum: String
            let startup_seconds: Double?
        }

        let lanes: [Lane]
        let notices: [String]
    }

    /// Runs the embedded driver and converts its lanes.
    private func runPython(_ interpreter: PythonInterpreter, size: Int, progress: ProgressLine) async throws
        -> (lanes: [BenchReport.Lane], notices: [String])
    {
        let arguments = [
            "--workload", kind.rawValue, "--n", String(size),
            "--workers", workerCounts.map(String.init).joined(separator: ","),
            "--repeat", String(repetitions),
        ]
        let ticker = Task {
            let start = ContinuousClock.now
            while !Task.isCancelled {
                let elapsed = Int((ContinuousClock.now - start).seconds)
                progress.update("bench \(kind.rawValue): Python \(interpreter.version) lanes running, \(elapsed) s")
                try? await Task.sleep(for: .milliseconds(250))
            }
        }
        defer { ticker.cancel() }
        let output = try await Task.detached {
            try interpreter.runScript(
                PythonScripts.benchDriverName,
                files: [
                    PythonScripts.benchDriverName: PythonScripts.benchDriver,
                    PythonScripts.workloadsModuleName: PythonScripts.workloadsModule,
                ],
                arguments: arguments
            )
        }.value
        let items = kind.make(n: size).items.count
        guard output.status == 0, let line = output.stdout.split(separator: "\n").last,
            let result = try? JSONDecoder().decode(PythonResult.self, from: Data(line.utf8))
        else {
            let reason = output.stderr.split(separator: "\n").last.map(String.init) ?? "no output"
            return ([], ["Python lanes failed (exit status \(output.status)): \(reason)"])
        }
        let lanes = result.lanes.map { entry in
            var lane = Self.lane(entry.lane, workers: entry.workers, runs: entry.runs, checksum: 0, items: items, n: size)
            lane.checksum = entry.checksum
            lane.startupSeconds = entry.startup_seconds
            return lane
        }
        return (lanes, result.notices)
    }
}

extension ProcessRunnerError: CustomStringConvertible {
    var description: String { message }
}
