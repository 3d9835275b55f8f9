import OffloadBenchJobs

/// The human-readable report of `offload bench`.
struct BenchTable {
    let report: BenchReport

    func render() -> String {
        var lines: [String] = []
        lines.append("offload bench — \(report.workload): \(report.summary)")
        var versions = "Swift \(report.versions.swift) (\(report.versions.build) build) · Offload \(report.versions.offload)"
        if let python = report.versions.python {
            versions += " · Python \(python)"
            if report.versions.pythonGILEnabled == false { versions += " (free-threaded, no GIL)" }
        }
        lines.append("machine: \(report.cores) cores · \(versions)")
        lines.append(
            "\(report.repeat) interleaved round\(report.repeat == 1 ? "" : "s"), the lanes in a shuffled order each "
                + "round; pools started before the clock")
        let seed = report.seed.map(String.init) ?? "?"
        lines.append("seed \(seed) (--seed \(seed) repeats this run's order)")
        lines.append("noise = 1.4826 × MAD / median of the runs (a robust coefficient of variation)")
        lines.append(
            "speed-up = baseline median / lane median; paired = range of the per-round ratios baseline run / lane run")
        lines.append("efficiency = speed-up / min(workers, \(report.cores) cores)")
        if report.versions.build == "debug" {
            lines.append("warning: debug build — timings are not representative; use `swift run -c release offload bench`")
        }
        for warning in report.warnings ?? [] {
            lines.append("warning: \(warning)")
        }
        if let environment = report.pythonEnvironment {
            lines.append("Python lanes ran with \(environment.joined(separator: " ")): BLAS kept to one thread")
        }
        lines.append("")
        lines.append(Self.columns.map { Format.pad($0.title, $0.width, right: $0.right) }.joined(separator: " "))
        lines.append(String(repeating: "-", count: Self.tableWidth))
        var previousLane = ""
        var previousSection = ""
        for lane in report.lanes {
            let section = sectionTitle(lane)
            if section != previousSection {
                if !section.isEmpty { lines.append("-- \(section) --") }
                previousSection = section
            }
            let name = lane.lane == previousLane ? "" : lane.lane
            previousLane = lane.lane
            let cells = [
                name, String(lane.workers), lane.minSeconds.map(Format.seconds) ?? "",
                Format.seconds(lane.medianSeconds), lane.maxSeconds.map(Format.seconds) ?? "",
                Format.fixed((lane.noise ?? 0) * 100, 0) + "%", Format.seconds(lane.nsPerItem / 1e9),
                Format.fixed(lane.speedup, 2) + "×", Self.paired(lane),
                Format.fixed(lane.efficiency * 100, 0) + "%",
            ]
            lines.append(
                zip(Self.columns, cells).map { Format.pad($1, $0.width, right: $0.right) }.joined(separator: " "))
        }
        lines.append("")
        lines.append("checksums: " + (report.checksumsAgree
            ? "every lane computed the same result as its baseline, in every run"
            : "MISMATCH — some lane computed a different result (see --json)"))
        let submits = report.lanes.compactMap { lane in
            lane.submitNsPerTask.map { "×\(lane.workers) \(Format.fixed($0, 0)) ns" }
        }
        if !submits.isEmpty {
            lines.append("threadpool-submit, the submit() call alone per task: " + submits.joined(separator: ", ")
                         + " (the \"per item\" column adds running and awaiting each handle)")
        }
        let startups = report.lanes.compactMap { lane in
            lane.startupSeconds.map { "\(lane.lane) ×\(lane.workers) \(Format.seconds($0))" }
        }
        if !startups.isEmpty {
            lines.append("Python executor start-up (not in the medians): " + startups.joined(separator: ", "))
        }
        if let claims = report.claims, !claims.isEmpty {
            lines.append("")
            lines.append("claims of the Python texts, tested by this run:")
            if let control = report.parallelControl {
                lines.append("  (parallelism the machine gave during the run: a CPU-bound control reached a speed-up of "
                             + "\(Format.fixed(control.speedup, 2))× on a ThreadPool of \(control.workers) workers)")
            }
            for claim in claims { lines += claim.render() }
        }
        lines.append("")
        let shownLanes = Set(report.lanes.map(\.lane))
        lines.append("lanes:")
        for lane in BenchLane.allCases where shownLanes.contains(lane.rawValue) {
            lines.append("  \(Format.pad(lane.rawValue, 23)) \(lane.explanation)")
        }
        for notice in report.notices {
            lines.append("note: \(notice)")
        }
        return lines.joined(separator: "\n")
    }

    /// The table's columns: title, width, alignment. 110 characters in all, within a 120-column terminal.
    static let columns: [(title: String, width: Int, right: Bool)] = [
        ("lane", 23, false), ("workers", 7, true), ("min", 9, true), ("median", 9, true), ("max", 9, true),
        ("noise", 5, true), ("per item", 9, true), ("speed-up", 8, true), ("paired", 12, true),
        ("efficiency", 10, true),
    ]

    static var tableWidth: Int { columns.map(\.width).reduce(0, +) + columns.count - 1 }

    /// The per-round ratios' range, "1.92–2.05×", or the one ratio; empty for the baseline itself.
    static func paired(_ lane: BenchReport.Lane) -> String {
        guard lane.lane != lane.baseline, let low = lane.pairedSpeedupMin, let high = lane.pairedSpeedupMax else {
            return ""
        }
        if Format.fixed(low, 2) == Format.fixed(high, 2) { return Format.fixed(low, 2) + "×" }
        return Format.fixed(low, 2) + "–" + Format.fixed(high, 2) + "×"
    }

    /// The heading above a group of lanes: Swift lanes have none; Python lanes say their size and baseline.
    private func sectionTitle(_ lane: BenchReport.Lane) -> String {
        guard lane.lane.hasPrefix("python-") else { return "" }
        let python = "Python \(report.versions.python ?? "")"
        if lane.baseline == BenchLane.pythonSequential.rawValue {
            return "\(python), pure Python at n = \(Format.grouped(lane.n)), speed-up vs python-sequential"
        }
        return "\(python) with NumPy at n = \(Format.grouped(lane.n)), speed-up vs Swift's sequential"
    }
}
