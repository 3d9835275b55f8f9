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
            "median of \(report.repeat) run\(report.repeat == 1 ? "" : "s"), lanes interleaved round by round; "
                + "pools started before the clock; spread ± = (max − min) / 2 / median"
        )
        lines.append(
            "speed-up = baseline median / lane median; efficiency = speed-up / min(workers, \(report.cores) cores)")
        if report.versions.build == "debug" {
            lines.append("warning: debug build — timings are not representative; use `swift run -c release offload bench`")
        }
        if let environment = report.pythonEnvironment {
            lines.append("Python lanes ran with \(environment.joined(separator: " ")): BLAS kept to one thread")
        }
        lines.append("")
        let header = [
            Format.pad("lane", 23), Format.pad("workers", 7, right: true), Format.pad("median", 10, right: true),
            Format.pad("spread", 7, right: true), Format.pad("per item", 10, right: true),
            Format.pad("speed-up", 9, right: true), Format.pad("efficiency", 10, right: true),
        ]
        lines.append(header.joined(separator: " "))
        lines.append(String(repeating: "-", count: 82))
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
            lines.append(
                [
                    Format.pad(name, 23), Format.pad(String(lane.workers), 7, right: true),
                    Format.pad(Format.seconds(lane.medianSeconds), 10, right: true),
                    Format.pad("±" + Format.fixed((lane.spread ?? 0) * 50, 0) + "%", 7, right: true),
                    Format.pad(Format.seconds(lane.nsPerItem / 1e9), 10, right: true),
                    Format.pad(Format.fixed(lane.speedup, 2) + "×", 9, right: true),
                    Format.pad(Format.fixed(lane.efficiency * 100, 0) + "%", 10, right: true),
                ].joined(separator: " ")
            )
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
