import Foundation
import Offload
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The Python texts' hybrid workflow (asyncio fetches + an executor for the CPU part): fetch documents concurrently (bounded) and process each in a pool as soon as it
/// arrives, recording when every phase started and ended.
struct HybridWorkflow: Sendable {
    /// One document's timeline, in seconds since the workflow started.
    struct Entry: Codable, Sendable {
        var document: Int
        var url: String
        var bytes: Int
        var fetchStart: Double
        var fetchEnd: Double
        var processStart: Double
        var processEnd: Double
        /// The processing result (a hash of the document), so the work cannot be optimised away.
        var digest: String
        var words: Int

        var fetchSeconds: Double { fetchEnd - fetchStart }
        var processSeconds: Double { processEnd - processStart }

        enum CodingKeys: String, CodingKey {
            case document, url, bytes, digest, words
            case fetchStart = "fetch_start"
            case fetchEnd = "fetch_end"
            case processStart = "process_start"
            case processEnd = "process_end"
        }
    }

    let urls: [URL]
    let concurrency: Int
    let passes: Int
    let processor: any DocumentProcessor

    /// Runs the workflow.
    /// - Returns: one entry per URL (in URL order) and the total wall time.
    /// - Throws: ``HybridError`` for a failed or non-2xx fetch; the processor's error.
    func run(progress: ProgressLine) async throws -> (entries: [Entry], totalSeconds: Double) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = concurrency
        configuration.timeoutIntervalForRequest = 30
        let session = URLSession(configuration: configuration)
        defer { session.finishTasksAndInvalidate() }
        let start = ContinuousClock.now
        let since: @Sendable () -> Double = { (ContinuousClock.now - start).seconds }

        enum Event: Sendable {
            case fetched(index: Int, data: Data, start: Double, end: Double)
            case processed(index: Int, start: Double, end: Double, digest: UInt64, words: Int)
        }

        var entries = urls.enumerated().map { index, url in
            Entry(document: index, url: url.absoluteString, bytes: 0, fetchStart: 0, fetchEnd: 0, processStart: 0,
                  processEnd: 0, digest: "", words: 0)
        }
        let urls = self.urls
        let processor = self.processor
        let passes = self.passes
        try await withThrowingTaskGroup(of: Event.self) { group in
            var nextFetch = 0
            var fetchesInFlight = 0
            func startFetch() {
                let index = nextFetch
                let url = urls[index]
                nextFetch += 1
                fetchesInFlight += 1
                group.addTask {
                    let fetchStart = since()
                    let (data, response): (Data, URLResponse)
                    do {
                        (data, response) = try await session.data(from: url)
                    } catch is CancellationError {
                        throw CancellationError()
                    } catch {
                        throw FetchFailure.error(fetching: url, error)
                    }
                    if let http = response as? HTTPURLResponse, !(200..<300).contains(http.statusCode) {
                        throw HybridError(description: "GET \(url.absoluteString) answered HTTP \(http.statusCode)")
                    }
                    return .fetched(index: index, data: data, start: fetchStart, end: since())
                }
            }
            while nextFetch < min(concurrency, urls.count) { startFetch() }
            var done = 0
            while let event = try await group.next() {
                switch event {
                case .fetched(let index, let data, let fetchStart, let fetchEnd):
                    fetchesInFlight -= 1
                    entries[index].bytes = data.count
                    entries[index].fetchStart = fetchStart
                    entries[index].fetchEnd = fetchEnd
                    if nextFetch < urls.count { startFetch() }
                    // Process as it arrives: the pool runs it while the next fetches are in flight.
                    group.addTask {
                        let outcome = try await processor.process(data, passes: passes, clock: since)
                        return .processed(index: index, start: outcome.start, end: outcome.end,
                                          digest: outcome.digest, words: outcome.words)
                    }
                case .processed(let index, let processStart, let processEnd, let digest, let words):
                    entries[index].processStart = processStart
                    entries[index].processEnd = processEnd
                    entries[index].digest = String(digest, radix: 16)
                    entries[index].words = words
                    done += 1
                    progress.update("hybrid", done: done, total: urls.count, detail: "documents processed")
                }
            }
        }
        return (entries, since())
    }
}

/// Where the CPU phase runs.
protocol DocumentProcessor: Sendable {
    /// A short name for the report.
    var name: String { get }
    /// Processes `data` on the pool; `start`/`end` are taken on the worker, so queueing shows in the timeline.
    func process(_ data: Data, passes: Int, clock: @escaping @Sendable () -> Double) async throws
        -> (start: Double, end: Double, digest: UInt64, words: Int)
    /// Stops the pool.
    func close() async
}

/// The CPU phase itself: `passes` FNV-1a passes over the bytes plus a word count.
enum DocumentWork {
    static func process(_ data: Data, passes: Int) -> (digest: UInt64, words: Int) {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        var words = 0
        data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
            for pass in 0..<max(1, passes) {
                hash ^= UInt64(pass)
                for byte in bytes {
                    hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3
                }
            }
            var inWord = false
            for byte in bytes {
                let isSpace = byte == 32 || byte == 10
                if !isSpace && !inWord { words += 1 }
                inWord = !isSpace
            }
        }
        return (hash, words)
    }
}
