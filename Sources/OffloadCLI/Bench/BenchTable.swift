/// The human-readable report of `offload bench`.
struct BenchTable {
    let report: BenchReport

    func render() -> String {
        var lines: [String] = []
        lines.append("offload bench — \(report.workload): \(report.summary)")
        var versions = "Swift \(report.versions.swift) (\(report.versions.build) build) · Offload \(report.versions.offload)"
        if let python = report.versions.python { versions += " · Python \(python)" }
        lines.append("machine: \(report.cores) cores · \(versions)")
        lines.append(
            "median of \(report.repeat) run\(report.repeat == 1 ? "" : "s"); pools started before the clock; "
                + "speed-up = sequential median / lane median; efficiency = speed-up / min(workers, \(report.cores) cores)"
        )
        if report.versions.build == "debug" {
            lines.append("warning: debug build — timings are not representative; use `swift run -c release offload bench`")
        }
        lines.append("")
        let header = [
            Format.pad("lane", 20), Format.pad("workers", 8, right: true), Format.pad("median", 12, right: true),
            Format.pad("per item", 11, right: true), Format.pad("speed-up", 10, right: true),
            Format.pad("efficiency", 11, right: true),
        ]
        lines.append(header.joined(separator: " "))
        lines.append(String(repeating: "-", count: 77))
        var previousLane = ""
        for lane in report.lanes {
            if lane.lane.hasPrefix("python-") && !previousLane.hasPrefix("python-") {
                lines.append("-- Python \(report.versions.python ?? "") at n = \(Format.grouped(report.pythonN ?? 0)), "
                             + "speed-up vs python-sequential --")
            }
            let name = lane.lane == previousLane ? "" : lane.lane
            previousLane = lane.lane
            lines.append(
                [
                    Format.pad(name, 20), Format.pad(String(lane.workers), 8, right: true),
                    Format.pad(Format.seconds(lane.medianSeconds), 12, right: true),
                    Format.pad(Format.seconds(lane.nsPerItem / 1e9), 11, right: true),
                    Format.pad(Format.fixed(lane.speedup, 2) + "×", 10, right: true),
                    Format.pad(Format.fixed(lane.efficiency * 100, 0) + "%", 11, right: true),
                ].joined(separator: " ")
            )
        }
        lines.append("")
        lines.append("checksums: " + (report.checksumsAgree
            ? "every lane computed the same result as its sequential run"
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
        let shownLanes = Set(report.lanes.map(\.lane))
        lines.append("lanes:")
        for lane in BenchLane.allCases where shownLanes.contains(lane.rawValue) {
            lines.append("  \(Format.pad(lane.rawValue, 18)) \(lane.explanation)")
        }
        if shownLanes.contains("python-thread") {
            lines.append("  \(Format.pad("python-*", 18)) ThreadPoolExecutor / ProcessPoolExecutor (chunksize = items / 4N) "
                         + "/ InterpreterPoolExecutor")
        }
        for notice in report.notices {
            lines.append("note: \(notice)")
        }
        return lines.joined(separator: "\n")
    }
}
