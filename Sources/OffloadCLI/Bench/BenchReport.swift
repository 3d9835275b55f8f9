/// What `offload bench --json` prints: one JSON object.
///
/// The fields `workload`, `cores`, `lanes[].lane`, `lanes[].workers`, `lanes[].median_seconds` and `lanes[].speedup`
/// are a contract that other tools read: keep their names and meaning stable. Everything else may grow.
struct BenchReport: Codable, Sendable {
    struct Versions: Codable, Sendable {
        var swift: String
        var offload: String
        var build: String
        var python: String?
    }

    struct Lane: Codable, Sendable {
        /// `sequential`, `actor`, `taskgroup`, `concurrentPerform`, `threadpool`, `threadpool-submit`,
        /// `isolatedpool`, `processpool`, or `python-sequential`/`python-thread`/`python-process`/`python-interpreter`.
        var lane: String
        var workers: Int
        /// Median wall time of the runs, in seconds.
        var medianSeconds: Double
        /// The same language's sequential median divided by this lane's median.
        var speedup: Double
        /// speedup / min(workers, cores).
        var efficiency: Double
        /// Every run's wall time, in seconds.
        var runs: [Double]
        /// Median wall time divided by the number of items, in nanoseconds.
        var nsPerItem: Double
        /// The wrapping sum of the item results (as a string: it does not fit a JSON double).
        var checksum: String
        /// The size the lane ran (`--n`; the Python lanes use `--python-n`).
        var n: Int
        /// threadpool-submit: the median time of the submit loop alone divided by the items, in nanoseconds — the
        /// per-task overhead of `submit` (issue 2's "unchunked submit" figure).
        var submitNsPerTask: Double?
        /// Python lanes: seconds to create the executor and start its workers (not part of median_seconds).
        var startupSeconds: Double?

        enum CodingKeys: String, CodingKey {
            case lane, workers, speedup, efficiency, runs, checksum, n
            case medianSeconds = "median_seconds"
            case nsPerItem = "ns_per_item"
            case startupSeconds = "startup_seconds"
            case submitNsPerTask = "submit_ns_per_task"
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
    /// Whether every lane of a language produced the same checksum as its sequential run.
    var checksumsAgree: Bool

    enum CodingKeys: String, CodingKey {
        case workload, cores, summary, n, workers, versions, lanes, notices
        case `repeat`
        case pythonN = "python_n"
        case checksumsAgree = "checksums_agree"
    }
}
