/// One lane ready for the ``Harness``: a name, a worker count, and its started session.
struct PreparedLane: Sendable {
    let name: String
    let workers: Int
    let session: any LaneSession
    /// Runs of this lane, when fewer than the harness's repetitions (a lane too slow to repeat as often).
    var runLimit: Int?
    /// Seconds the lane took to start (pool or executor start-up), reported beside the medians, never in them.
    var startupSeconds: Double?

    init(name: String, workers: Int, session: any LaneSession, runLimit: Int? = nil, startupSeconds: Double? = nil) {
        self.name = name
        self.workers = workers
        self.session = session
        self.runLimit = runLimit
        self.startupSeconds = startupSeconds
    }
}

/// What the harness measured for one lane.
struct LaneMeasurement: Sendable {
    let name: String
    let workers: Int
    /// Every run's time, in seconds, in the order they ran.
    let runs: [Double]
    /// The measured round (0 = the first after the warm-up) of each run in ``runs``.
    let rounds: [Int]
    /// The lane's place in each of its rounds' shuffled order (0 = ran first), parallel to ``rounds``.
    let positions: [Int]
    /// Every single operation's time, for lanes that time operations one by one (round trips), over all runs.
    let samples: [Double]
    /// The last run's checksum.
    let checksum: String
    /// How many results the last run materialised, for lanes that count them.
    let results: Int?
    /// Whether every run produced the same checksum.
    let checksumsStable: Bool
    /// The submit loop's time of each run, for lanes that report it.
    let submitRuns: [Double]
    let startupSeconds: Double?

    var median: Double { Statistics.median(runs) }
    var spread: Double { Statistics.spread(runs) }
    var noise: Double { Statistics.noise(runs) }
    var minimum: Double { runs.min() ?? 0 }
    var maximum: Double { runs.max() ?? 0 }
}

/// The one benchmark harness of `offload`: every lane is started first, then the lanes run in interleaved rounds,
/// each round in a fresh shuffled order drawn from one seed (A C B, B A C, …; see ``RoundOrder``), so a drift of the
/// machine's speed — this kind of machine changes speed 2× within seconds — reaches every lane alike and no lane always
/// runs in the same place; each lane is reported by its median, extremes and noise, and compared by ratios (of
/// medians, and round by round), never by absolute times from different moments.
enum Harness {
    /// Runs `lanes` for `repetitions` rounds, then closes every session (also when a run throws).
    /// - Parameters:
    ///   - warmUp: rounds run first and not measured (caches, page faults, lazily started workers).
    ///   - seed: the seed of the rounds' shuffled orders (the same seed and lanes give the same schedule).
    ///   - progress: called before each run with a description of it.
    /// - Returns: one measurement per lane, in the order given.
    /// - Throws: the first error of a run.
    static func run(
        _ lanes: [PreparedLane],
        repetitions: Int,
        warmUp: Int = 0,
        seed: UInt64,
        progress: (String) -> Void = { _ in }
    ) async throws -> [LaneMeasurement] {
        var runs = Array(repeating: [Double](), count: lanes.count)
        var rounds = Array(repeating: [Int](), count: lanes.count)
        var positions = Array(repeating: [Int](), count: lanes.count)
        var samples = Array(repeating: [Double](), count: lanes.count)
        var submits = Array(repeating: [Double](), count: lanes.count)
        var checksums = Array(repeating: [String](), count: lanes.count)
        var results = Array(repeating: Int?.none, count: lanes.count)
        var order = RoundOrder(seed: seed)
        do {
            for round in 0..<(warmUp + repetitions) {
                let measured = round >= warmUp
                for (position, index) in order.next(count: lanes.count).enumerated() {
                    let lane = lanes[index]
                    let limit = lane.runLimit ?? repetitions
                    if measured && runs[index].count >= limit { continue }
                    if !measured && limit < repetitions { continue }
                    progress(
                        measured
                            ? "\(lane.name) ×\(lane.workers), run \(round - warmUp + 1)/\(repetitions)"
                            : "\(lane.name) ×\(lane.workers), warm-up")
                    let start = ContinuousClock.now
                    let result = try await lane.session.run()
                    let wall = (ContinuousClock.now - start).seconds
                    guard measured else { continue }
                    runs[index].append(result.seconds ?? wall)
                    rounds[index].append(round - warmUp)
                    positions[index].append(position)
                    samples[index] += result.samples
                    checksums[index].append(result.checksum)
                    results[index] = result.results
                    if let submitted = result.submitSeconds { submits[index].append(submitted) }
                }
            }
        } catch {
            for lane in lanes { await lane.session.close() }
            throw error
        }
        for lane in lanes { await lane.session.close() }
        return lanes.indices.map { index in
            LaneMeasurement(
                name: lanes[index].name,
                workers: lanes[index].workers,
                runs: runs[index],
                rounds: rounds[index],
                positions: positions[index],
                samples: samples[index],
                checksum: checksums[index].last ?? "",
                results: results[index],
                checksumsStable: Set(checksums[index]).count <= 1,
                submitRuns: submits[index],
                startupSeconds: lanes[index].startupSeconds
            )
        }
    }

    /// The order the lanes of `measured` ran in, round by round, as indices into `measured`.
    static func orders(_ measured: [LaneMeasurement]) -> [[Int]] {
        let roundCount = (measured.flatMap(\.rounds).max() ?? -1) + 1
        return (0..<roundCount).map { round in
            measured.indices
                .compactMap { index in
                    measured[index].rounds.firstIndex(of: round).map { (index, measured[index].positions[$0]) }
                }
                .sorted { $0.1 < $1.1 }
                .map(\.0)
        }
    }
}
