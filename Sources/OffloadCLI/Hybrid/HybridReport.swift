/// `offload hybrid --json`, and the timeline.
struct HybridReport: Codable, Sendable {
    var source: String
    var concurrency: Int
    var workers: Int
    var processor: String
    var passes: Int
    var totalSeconds: Double
    var entries: [HybridWorkflow.Entry]
    var build: String
    /// Σ fetch + Σ process: what one document at a time would take.
    var sumOfPartsSeconds: Double
    /// max(fetch) + max(process): the Python texts' claim for the overlapped total.
    var maxFetchPlusMaxProcessSeconds: Double
    var fetchSecondsTotal: Double
    var processSecondsTotal: Double

    enum CodingKeys: String, CodingKey {
        case source, concurrency, workers, processor, passes, entries, build
        case totalSeconds = "total_seconds"
        case sumOfPartsSeconds = "sum_of_parts_seconds"
        case maxFetchPlusMaxProcessSeconds = "max_fetch_plus_max_process_seconds"
        case fetchSecondsTotal = "fetch_seconds_total"
        case processSecondsTotal = "process_seconds_total"
    }

    init(source: String, concurrency: Int, workers: Int, processor: String, passes: Int, totalSeconds: Double,
         entries: [HybridWorkflow.Entry], build: String)
    {
        self.source = source
        self.concurrency = concurrency
        self.workers = workers
        self.processor = processor
        self.passes = passes
        self.totalSeconds = totalSeconds
        self.entries = entries
        self.build = build
        fetchSecondsTotal = entries.map(\.fetchSeconds).reduce(0, +)
        processSecondsTotal = entries.map(\.processSeconds).reduce(0, +)
        sumOfPartsSeconds = fetchSecondsTotal + processSecondsTotal
        maxFetchPlusMaxProcessSeconds = (entries.map(\.fetchSeconds).max() ?? 0)
            + (entries.map(\.processSeconds).max() ?? 0)
    }

    func render(width: Int = 60) -> String {
        var lines: [String] = []
        lines.append("offload hybrid — \(entries.count) documents from \(source)")
        lines.append("fetch: URLSession, \(concurrency) in flight · process: \(processor), \(workers) workers, "
                     + "\(passes) hash passes per document · \(build) build")
        lines.append("")
        let scale = Double(width) / max(totalSeconds, 1e-9)
        func column(_ seconds: Double) -> Int { min(width, max(0, Int((seconds * scale).rounded()))) }
        lines.append("           0" + String(repeating: " ", count: max(0, width - 1 - Format.seconds(totalSeconds).count))
                     + Format.seconds(totalSeconds))
        for entry in entries {
            var bar = Array(repeating: Character(" "), count: width)
            let fetchFrom = column(entry.fetchStart)
            let fetchTo = max(fetchFrom + 1, column(entry.fetchEnd))
            for index in fetchFrom..<min(width, fetchTo) { bar[index] = "░" }
            let processFrom = column(entry.processStart)
            let processTo = max(processFrom + 1, column(entry.processEnd))
            for index in processFrom..<min(width, processTo) { bar[index] = "▓" }
            lines.append("doc \(Format.pad(String(entry.document), 4, right: true)) |\(String(bar))| "
                         + "fetch \(Format.seconds(entry.fetchSeconds)), cpu \(Format.seconds(entry.processSeconds))")
        }
        lines.append("           ░ fetch (I/O, awaiting the network)   ▓ process (CPU, on a pool worker)")
        lines.append("")
        lines.append("total (measured)             \(Format.pad(Format.seconds(totalSeconds), 10, right: true))")
        lines.append("sum of the parts             \(Format.pad(Format.seconds(sumOfPartsSeconds), 10, right: true))"
                     + "   Σ fetch \(Format.seconds(fetchSecondsTotal)) + Σ process \(Format.seconds(processSecondsTotal)): one at a time")
        lines.append("max(fetch) + max(process)    \(Format.pad(Format.seconds(maxFetchPlusMaxProcessSeconds), 10, right: true))"
                     + "   the Python texts' claim for the overlapped total")
        let speedup = sumOfPartsSeconds / max(totalSeconds, 1e-9)
        lines.append("overlap saved \(Format.fixed(speedup, 2))× against one at a time.")
        if entries.count > concurrency || entries.count > workers {
            lines.append("max(fetch) + max(process) assumes every fetch runs at once and every document is processed at "
                         + "once; with \(entries.count) documents, \(concurrency) fetches in flight and \(workers) "
                         + "workers the fetches come in waves and the CPU phase queues, so the total is larger — about "
                         + "max(Σ fetch / \(concurrency), Σ process / \(workers)) plus the last document's tail.")
        }
        return lines.joined(separator: "\n")
    }
}
