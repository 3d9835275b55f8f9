import Offload
import OffloadBenchJobs

/// Runs the lanes of `offload bench` through the ``Harness`` and assembles the ``BenchReport``.
struct BenchRunner: Sendable {
    let workload: any BenchWorkload.Type
    let n: Int
    let workerCounts: [Int]
    let repetitions: Int
    /// The Swift lanes asked for (`sequential` is always added).
    let swiftLanes: Set<BenchLane>?
    /// The Python lanes asked for (`nil`: all of the workload's).
    let pythonLanes: Set<BenchLane>?
    let pythonRequested: Bool
    let pythonExecutable: String?
    let pythonN: Int?
    /// The seed of the rounds' shuffled orders.
    let seed: UInt64

    /// Prepares every lane, runs them in interleaved rounds, and reports.
    /// - Throws: a pool's error if a pool cannot start or its work fails, a ``CLIError`` if a lane fails.
    func run() async throws -> BenchReport {
        if let specialised = workload as? any SpecialisedBench.Type {
            return try await specialised.runBench(self)
        }
        return try await run(workload.init(n: n))
    }

    /// Runs `workload`'s lanes; called with a static type (see ``SpecialisedBench``), every lane is compiled for it.
    func run<W: BenchWorkload>(_ workload: W) async throws -> BenchReport {
        let items = workload.items
        let cores = WorkerCount.available
        let progress = ProgressLine()
        defer { progress.finish() }
        var notices: [String] = []

        var python: LaneCatalog.PythonSide?
        var hello: PythonLaneServer.Hello?
        let wanted = lanesToRun(W.self)
        if pythonRequested && wanted.contains(where: \.isPython) {
            switch PythonInterpreter.locate(pythonExecutable) {
            case .failure(let unavailable):
                notices.append(unavailable.notice)
            case .success(let interpreter):
                progress.update("bench \(W.name): starting Python \(interpreter.version)")
                do {
                    let server = try PythonLaneServer(interpreter: interpreter)
                    python = .init(server: server, pureN: pythonN ?? W.defaultPythonN)
                    hello = server.hello
                    if server.hello.gil_enabled {
                        notices.append(PythonInterpreter.gilNotice(
                            version: server.hello.python_version, purpose: "to run the thread lanes without it"))
                    }
                } catch {
                    notices.append("Python side skipped: \(error)")
                }
            }
        }
        let measured: [LaneMeasurement]
        var measuredAll: [LaneMeasurement] = []
        var parallelControl: BenchReport.ParallelControl?
        var prepared: [PreparedLane] = []
        do {
            for lane in wanted where !lane.isPython || python != nil {
                for workers in lane.sweepsWorkers ? workerCounts : [LaneCatalog.fixedWorkers(lane)] {
                    progress.update("bench \(W.name): starting \(lane.rawValue) ×\(workers)")
                    let made = try await LaneCatalog.prepare(lane, workload: workload, items: items, workers: workers,
                                                             python: python)
                    guard case .success(let ready) = made else {
                        if case .failure(let unavailable) = made, !notices.contains(unavailable.reason) {
                            notices.append(unavailable.reason)
                        }
                        break
                    }
                    prepared.append(ready)
                }
            }
            // The parallelism control takes its turn in the same rounds, when there are claims to judge with it.
            let control = SumOfSquares(n: 5_000_000)
            if wanted.contains(where: { $0.isPython || $0 == .simdThreadpool }) && cores >= 2 {
                for (lane, workers) in [(BenchLane.sequential, 1), (.threadpool, cores)] {
                    let made = try await LaneCatalog.prepare(lane, workload: control, items: control.items,
                                                             workers: workers, python: nil)
                    prepared.append(PreparedLane(name: Self.controlPrefix + lane.rawValue, workers: workers,
                                                 session: try made.get().session))
                }
            }
            let lanesToMeasure = prepared
            prepared = []
            let totalRuns = lanesToMeasure.reduce(0) { $0 + min($1.runLimit ?? repetitions, repetitions) }
            var runsStarted = 0
            let all = try await Harness.run(lanesToMeasure, repetitions: repetitions, seed: seed) { step in
                runsStarted += 1
                progress.update("bench \(W.name)", done: runsStarted - 1, total: totalRuns, detail: step)
            }
            measuredAll = all
            measured = all.filter { !$0.name.hasPrefix(Self.controlPrefix) }
            let controls = all.filter { $0.name.hasPrefix(Self.controlPrefix) }
            if controls.count == 2, controls[1].median > 0 {
                parallelControl = .init(workers: controls[1].workers, sequentialSeconds: controls[0].median,
                                        threadPoolSeconds: controls[1].median,
                                        speedup: controls[0].median / controls[1].median)
            }
        } catch {
            for lane in prepared { await lane.session.close() }
            await python?.server.stop()
            throw error
        }
        await python?.server.stop()

        let pureItems = python == nil ? items.count : W(n: python?.pureN ?? n).items.count
        let lanes = Self.reportLanes(measured, workload: workload, items: items.count, pureItems: pureItems,
                                     cores: cores, pureN: pythonN ?? W.defaultPythonN)
        var report = BenchReport(
            workload: W.name,
            cores: cores,
            summary: workload.summary,
            n: n,
            pythonN: lanes.contains { $0.baseline == BenchLane.pythonSequential.rawValue }
                ? (pythonN ?? W.defaultPythonN) : nil,
            repeat: repetitions,
            workers: workerCounts,
            versions: .init(
                swift: OffloadVersion.swiftCompiler,
                offload: OffloadVersion.current,
                build: OffloadVersion.buildConfiguration,
                python: hello?.python_version,
                pythonExecutable: hello?.executable,
                pythonGILEnabled: hello?.gil_enabled
            ),
            lanes: lanes,
            notices: notices,
            checksumsAgree: Self.checksumsAgree(lanes, measured),
            schedule: "interleaved",
            pythonEnvironment: hello == nil ? nil : PythonScriptDirectory.singleThreadedBLAS.map { "\($0)=1" }
        )
        report.parallelControl = parallelControl
        report.seed = seed
        report.rounds = repetitions
        report.roundOrders = Harness.orders(measuredAll).map { round in
            round.map { "\(measuredAll[$0].name)×\(measuredAll[$0].workers)" }
        }
        report.warnings = Self.noiseWarnings(measured, rounds: repetitions)
        report.claims = BenchClaims.evaluate(report)
        return report
    }

    /// The name prefix of the parallelism control's lanes (kept out of the report's lanes).
    static let controlPrefix = "control:"

    /// The workload's lanes that were asked for, in the workload's order.
    private func lanesToRun<W: BenchWorkload>(_: W.Type) -> [BenchLane] {
        let pythonChosen = pythonLanes.map { chosen in
            // The pure-Python lanes need their baseline, the NumPy thread lane its one-thread counterpart.
            chosen.union(chosen.contains { !$0.isNumPy } ? [.pythonSequential] : [])
                .union(chosen.contains(.pythonNumpyThread) ? [.pythonNumpy] : [])
        }
        return W.lanes.filter { lane in
            if lane == .sequential { return true }
            if lane.isPython { return pythonRequested && (pythonChosen?.contains(lane) ?? true) }
            return swiftLanes?.contains(lane) ?? true
        }
    }

    /// The lanes of the report: medians, spreads, and speed-ups against each lane's baseline.
    static func reportLanes<W: BenchWorkload>(
        _ measured: [LaneMeasurement], workload: W, items: Int, pureItems: Int, cores: Int, pureN: Int
    ) -> [BenchReport.Lane] {
        func baseline(of name: String) -> BenchLane {
            let lane = BenchLane(rawValue: name)
            return lane.map { $0.isPython && !$0.isNumPy } == true ? .pythonSequential : .sequential
        }
        let baselines = Dictionary(measured.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        return measured.map { lane in
            let base = baseline(of: lane.name)
            let median = lane.median
            let speedup = median > 0 ? (baselines[base.rawValue]?.median ?? 0) / median : 0
            let paired = baselines[base.rawValue].map { Statistics.pairedRatios($0, over: lane) } ?? []
            return BenchReport.Lane(
                lane: lane.name,
                workers: lane.workers,
                medianSeconds: median,
                speedup: speedup,
                efficiency: speedup / Double(max(1, min(lane.workers, cores))),
                runs: lane.runs,
                nsPerItem: median / Double(max(1, base == .pythonSequential ? pureItems : items)) * 1e9,
                checksum: lane.checksum,
                n: base == .pythonSequential ? pureN : workload.n,
                submitNsPerTask: lane.submitRuns.isEmpty
                    ? nil : Statistics.median(lane.submitRuns) / Double(max(1, items)) * 1e9,
                startupSeconds: lane.startupSeconds,
                baseline: base.rawValue,
                spread: lane.spread,
                minSeconds: lane.runs.min(),
                maxSeconds: lane.runs.max(),
                noise: lane.noise,
                pairedSpeedup: paired.isEmpty ? nil : Statistics.median(paired),
                pairedSpeedupMin: paired.min(),
                pairedSpeedupMax: paired.max(),
                results: lane.results
            )
        }
    }

    /// One line for each baseline whose runs are too noisy to divide by, or one for too few rounds to tell.
    static func noiseWarnings(_ measured: [LaneMeasurement], rounds: Int) -> [String] {
        if rounds < 3 {
            return ["\(rounds) round\(rounds == 1 ? "" : "s") only: too few to measure the noise; "
                    + "run --repeat 3 or more before trusting a speed-up"]
        }
        let baselines = [BenchLane.sequential.rawValue, BenchLane.pythonSequential.rawValue]
        return measured.filter { baselines.contains($0.name) }.compactMap { NoiseWarning.line(baseline: $0) }
    }

    /// Every lane agrees with its baseline, in every run, and materialised as many results as its baseline.
    static func checksumsAgree(_ lanes: [BenchReport.Lane], _ measured: [LaneMeasurement]) -> Bool {
        let checksums = Dictionary(lanes.map { ($0.lane, $0.checksum) }, uniquingKeysWith: { first, _ in first })
        let results = Dictionary(lanes.map { ($0.lane, $0.results) }, uniquingKeysWith: { first, _ in first })
        return measured.allSatisfy(\.checksumsStable)
            && lanes.allSatisfy { lane in lane.baseline.map { checksums[$0] == lane.checksum } ?? true }
            && lanes.allSatisfy { lane in
                lane.results == nil || lane.baseline.map { results[$0] == lane.results } ?? true
            }
    }
}
