/// A lane prepared to run: its pool (if any) is started before the clock starts and stopped after the last run, so the
/// timings measure the work and the pool's per-item overhead, not thread or process start-up.
protocol LaneSession: Sendable {
    /// Runs the lane's work once.
    func run() async throws -> LaneRun
    /// Stops the pool, if any.
    func close() async
}

extension LaneSession {
    func close() async {}
}

/// Any lane session behind closures made where its type is known: the harness holds lanes of many types, and a call
/// through the existential of a generic lane would run the lane's unspecialised generic code (its per-item loop
/// several times slower); the closures, made in a specialised context, call the specialised code.
struct ErasedLane: LaneSession {
    private let runBody: @Sendable () async throws -> LaneRun
    private let closeBody: @Sendable () async -> Void

    init<Session: LaneSession>(_ session: Session) {
        runBody = { try await session.run() }
        closeBody = { await session.close() }
    }

    func run() async throws -> LaneRun { try await runBody() }
    func close() async { await closeBody() }
}

/// What one run of a lane produced.
struct LaneRun: Sendable {
    /// The result, compared across lanes (a string: Python's come as text, and a UInt64 does not fit a JSON double).
    var checksum: String
    /// The run's time as the lane measured it itself (Python's `perf_counter` around the work, or the median of a
    /// block of round trips); `nil`: the harness's wall clock around ``LaneSession/run()``.
    var seconds: Double?
    /// For lanes that submit one task per item: the seconds the submit loop alone took.
    var submitSeconds: Double?
    /// For lanes that time single operations (round trips): each one's seconds, for percentiles over all runs.
    var samples: [Double]
    /// How many results the run materialised (one per item, for the lanes of `bench`); `nil` where not counted.
    var results: Int?

    init(checksum: String, seconds: Double? = nil, submitSeconds: Double? = nil, samples: [Double] = []) {
        self.checksum = checksum
        self.seconds = seconds
        self.submitSeconds = submitSeconds
        self.samples = samples
    }

    init(_ checksum: UInt64, submitSeconds: Double? = nil) {
        self.init(checksum: String(checksum), submitSeconds: submitSeconds)
    }

    /// The run of a lane that materialised one result per item (every `bench` lane's output contract): the checksum
    /// is their wrapping sum, folded after the lane produced them all.
    init(results: [UInt64], submitSeconds: Double? = nil) {
        self.init(results.reduce(0, &+), submitSeconds: submitSeconds)
        self.results = results.count
    }
}

/// Why a lane was skipped: one line for the report.
struct LaneUnavailable: Error, Sendable, CustomStringConvertible {
    let reason: String

    var description: String { reason }
}
