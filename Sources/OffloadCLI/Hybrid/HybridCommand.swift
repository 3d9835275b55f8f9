import ArgumentParser
import Foundation
import Offload

/// `offload hybrid`: concurrent fetches (I/O) feeding a pool (CPU), with a timeline.
struct HybridCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hybrid",
        abstract: "Fetch documents concurrently over HTTP and process each in a pool as it arrives.",
        discussion: """
            By default offload starts a loopback HTTP server with generated documents (--size bytes each, served \
            after --latency ms); --url (repeatable) fetches real servers instead. Fetches run --concurrency at a \
            time; each document is processed (--passes hash passes plus a word count) on --workers workers as soon as \
            it arrives. The report draws the timeline and compares the total with the sum of the parts and with \
            max(fetch) + max(process), the Python texts' claim.
            """
    )

    @Option(name: .long, help: "Documents to fetch from the loopback server.")
    var documents = 12

    @Option(name: .long, help: "Fetches in flight at once.")
    var concurrency = 4

    @Option(name: .long, help: "Bytes per generated document.")
    var size = 200_000

    @Option(name: .long, help: "Milliseconds the loopback server waits before answering each request.")
    var latency = 100

    @Option(name: .long, help: "Hash passes over each document (the CPU phase).")
    var passes = 50

    @Option(name: .long, help: "Pool workers for the CPU phase (default: the core count).")
    var workers: Int?

    @Option(name: .customLong("url"), help: ArgumentHelp("Fetch this URL instead of the loopback server (repeatable).",
                                                          valueName: "url"))
    var urls: [String] = []

    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard documents >= 1 else { throw ValidationError("--documents needs at least 1, got \(documents)") }
        guard documents <= 10_000 else { throw ValidationError("--documents \(documents) is over the limit of 10000") }
        guard concurrency >= 1 else { throw ValidationError("--concurrency needs at least 1, got \(concurrency)") }
        guard size >= 1 else { throw ValidationError("--size needs at least 1 byte, got \(size)") }
        guard size <= 100_000_000 else { throw ValidationError("--size \(size) is over the limit of 100000000 bytes") }
        guard latency >= 0 else { throw ValidationError("--latency cannot be negative, got \(latency)") }
        guard passes >= 1 else { throw ValidationError("--passes needs at least 1, got \(passes)") }
        if let workers, workers < 1 { throw ValidationError("--workers needs at least 1, got \(workers)") }
        for url in urls {
            guard let parsed = URL(string: url), let scheme = parsed.scheme, ["http", "https"].contains(scheme),
                parsed.host != nil
            else {
                throw ValidationError("--url needs an http:// or https:// URL, got '\(url)'")
            }
        }
    }

    func run() async throws {
        let workerCount = workers ?? WorkerCount.available
        var server: LoopbackHTTPServer?
        let targets: [URL]
        if urls.isEmpty {
            let started = try LoopbackHTTPServer(documentSize: size, latency: .milliseconds(latency))
            server = started
            targets = (0..<documents).map { started.url(for: $0) }
        } else {
            targets = urls.compactMap(URL.init(string:))
        }
        defer { server?.stop() }
        let processor = try DocumentProcessors.make(workers: workerCount)
        let progress = ProgressLine()
        let workflow = HybridWorkflow(urls: targets, concurrency: concurrency, passes: passes, processor: processor)
        let result: (entries: [HybridWorkflow.Entry], totalSeconds: Double)
        do {
            result = try await workflow.run(progress: progress)
        } catch {
            progress.finish()
            await processor.close()
            throw error
        }
        progress.finish()
        await processor.close()
        let report = HybridReport(
            source: server.map { "loopback server 127.0.0.1:\($0.port), \(size) bytes after \(latency) ms" }
                ?? "\(targets.count) URL\(targets.count == 1 ? "" : "s") from --url",
            concurrency: concurrency, workers: workerCount, processor: processor.name, passes: passes,
            totalSeconds: result.totalSeconds, entries: result.entries, build: OffloadVersion.buildConfiguration
        )
        if output.json {
            try JSONOutput.print(report)
        } else {
            print(report.render())
        }
    }
}
