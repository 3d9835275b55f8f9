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
    /// The last run's checksum.
    let checksum: String
    /// Whether every run produced the same checksum.
    let checksumsStable: Bool
    /// The submit loop's time of each run, for lanes that report it.
    let submitRuns: [Double]
    let startupSeconds: Double?

    var median: Double { Statistics.median(runs) }
    var spread: Double { Statistics.spread(runs) }
}

/// The one benchmark harness of `offload`: every lane is started first, then the lanes run in interleaved rounds
/// (A B C, A B C, …), so a drift of the machine's speed — this kind of machine changes speed 2× within seconds —
/// reaches every lane alike; each lane is reported by its median and spread, and compared by ratios, never by
/// absolute times from different moments.
enum Harness {
    /// Runs `lanes` for `repetitions` rounds, then closes every session (also when a run throws).
    /// - Parameters:
    ///   - warmUp: rounds run first and not measured (caches, page faults, lazily started workers).
    ///   - progress: called before each run with a description of it.
    /// - Returns: one measurement per lane, in the order given.
    /// - Throws: the first error of a run.
    static func run(
        _ lanes: [PreparedLane],
        repetitions: Int,
        warmUp: Int = 0,
        progress: (String) -> Void = { _ in }
    ) async throws -> [LaneMeasurement] {
        var runs = Array(repeating: [Double](), count: lanes.count)
        var submits = Array(repeating: [Double](), count: lanes.count)
        var checksums = Array(repeating: [String](), count: lanes.count)
        do {
            for round in 0..<(warmUp + repetitions) {
                let measured = round >= warmUp
                for (index, lane) in lanes.enumerated() {
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
                    checksums[index].append(result.checksum)
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
                checksum: checksums[index].last ?? "",
                checksumsStable: Set(checksums[index]).count <= 1,
                submitRuns: submits[index],
                startupSeconds: lanes[index].startupSeconds
            )
        }
    }
}
