import OffloadBenchJobs

/// What `offload bench --json` prints: one JSON object.
///
/// The fields `workload`, `cores`, `lanes[].lane`, `lanes[].workers`, `lanes[].median_seconds` and `lanes[].speedup`
/// are a contract that other tools read: keep their names and meaning stable. Fields are added, never renamed or
/// removed.
struct BenchReport: Codable, Sendable {
    struct Versions: Codable, Sendable {
        var swift: String
        var offload: String
        var build: String
        var python: String?
        /// `sys.executable` of the Python that ran the Python lanes.
        var pythonExecutable: String?
        /// Whether that Python ran with a GIL (`sys._is_gil_enabled()`; false on a free-threaded build).
        var pythonGILEnabled: Bool?

        enum CodingKeys: String, CodingKey {
            case swift, offload, build, python
            case pythonExecutable = "python_executable"
            case pythonGILEnabled = "python_gil_enabled"
        }
    }

    struct Lane: Codable, Sendable {
        /// A ``BenchLane`` raw value: `sequential`, `actor`, …, `simd`, `python-numpy-thread`.
        var lane: String
        var workers: Int
        /// Median wall time of the runs, in seconds.
        var medianSeconds: Double
        /// The baseline's median divided by this lane's median.
        var speedup: Double
        /// speedup / min(workers, cores).
        var efficiency: Double
        /// Every run's wall time, in seconds, in the order they ran.
        var runs: [Double]
        /// Median wall time divided by the number of items, in nanoseconds.
        var nsPerItem: Double
        /// The wrapping sum of the item results (as a string: it does not fit a JSON double).
        var checksum: String
        /// The size the lane ran (`--n`; the pure-Python lanes use `--python-n`).
        var n: Int
        /// threadpool-submit: the median time of the submit loop alone divided by the items, in nanoseconds — the
        /// per-task overhead of `submit` (the "unchunked submit" figure).
        var submitNsPerTask: Double?
        /// Python lanes: seconds to create the executor and start its workers (not part of median_seconds).
        var startupSeconds: Double?
        /// The lane `speedup` is relative to: `sequential` (same size, Swift's scalar loop) or `python-sequential`.
        var baseline: String?
        /// (max − min) / median of the runs.
        var spread: Double?
        var minSeconds: Double?
        var maxSeconds: Double?
        /// 1.4826 × MAD / median of the runs: a robust coefficient of variation (see ``Statistics/noise(_:)``).
        var noise: Double?
        /// The median of the per-round ratios baseline run / this lane's run, each pair from the same round.
        var pairedSpeedup: Double?
        /// The smallest and largest of those per-round ratios.
        var pairedSpeedupMin: Double?
        var pairedSpeedupMax: Double?
        /// How many results one run of the lane materialised: every Swift lane keeps one per item, in input order,
        /// before folding the checksum over them (the output contract of `map`); absent for the Python lanes.
        var results: Int?

        enum CodingKeys: String, CodingKey {
            case lane, workers, speedup, efficiency, runs, checksum, n, baseline, spread, noise, results
            case pairedSpeedup = "paired_speedup"
            case pairedSpeedupMin = "paired_speedup_min"
            case pairedSpeedupMax = "paired_speedup_max"
            case medianSeconds = "median_seconds"
            case nsPerItem = "ns_per_item"
            case startupSeconds = "startup_seconds"
            case submitNsPerTask = "submit_ns_per_task"
            case minSeconds = "min_seconds"
            case maxSeconds = "max_seconds"
        }
    }

    var workload: String
    var cores: Int
    var summary: String
    var n: Int
    var pythonN: Int?
    var `repeat`: Int
    var workers: [Int]
    var versions: Versions
    var lanes: [Lane]
    /// Lanes skipped and why (one line each).
    var notices: [String]
    /// Whether every lane produced the same checksum as its baseline, in every run.
    var checksumsAgree: Bool
    /// How the runs were ordered: "interleaved" (round-robin over every lane, `repeat` rounds).
    var schedule: String?
    /// The seed of the rounds' shuffled orders: `--seed` with it repeats this run's schedule.
    var seed: UInt64?
    /// Measured rounds (each lane ran once per round).
    var rounds: Int?
    /// The order the lanes ran in, round by round, as `lane×workers` (the parallelism control's lanes as
    /// `control:lane×workers`).
    var roundOrders: [[String]]?
    /// One line each: a baseline too noisy to trust the ratios computed from it, too few rounds to tell.
    var warnings: [String]?
    /// The environment the Python lanes ran with to keep BLAS to one thread (e.g. `OPENBLAS_NUM_THREADS=1`).
    var pythonEnvironment: [String]?
    /// The Python texts' claims this run puts to the test: claim → measured → verdict.
    var claims: [Claim]?
    /// How much parallelism the machine gave during this run: a fixed CPU-bound control (sum-of-squares, 4 tasks of
    /// 5,000,000) run sequentially and on a ThreadPool of one worker per core, in the same interleaved rounds.
    var parallelControl: ParallelControl?

    struct ParallelControl: Codable, Sendable {
        var workers: Int
        var sequentialSeconds: Double
        var threadPoolSeconds: Double
        var speedup: Double

        enum CodingKeys: String, CodingKey {
            case workers, speedup
            case sequentialSeconds = "sequential_seconds"
            case threadPoolSeconds = "threadpool_seconds"
        }
    }

    enum CodingKeys: String, CodingKey {
        case workload, cores, summary, n, workers, versions, lanes, notices, schedule, claims, seed, rounds, warnings
        case roundOrders = "round_orders"
        case `repeat`
        case pythonN = "python_n"
        case checksumsAgree = "checksums_agree"
        case pythonEnvironment = "python_environment"
        case parallelControl = "parallel_control"
    }

    /// The lanes called `name`, in worker order.
    func lanes(_ lane: BenchLane) -> [Lane] {
        lanes.filter { $0.lane == lane.rawValue }
    }
}
