import Foundation
import Offload

/// Processes documents on a ``ThreadPool``: dedicated threads, so the CPU phase never blocks the cooperative threads
/// that drive the fetches.
struct ThreadPoolProcessor: DocumentProcessor {
    let pool: ThreadPool
    let workers: Int

    var name: String { "ThreadPool" }

    func process(_ data: Data, passes: Int, clock: @escaping @Sendable () -> Double) async throws
        -> (start: Double, end: Double, digest: UInt64, words: Int)
    {
        try await pool.run {
            let start = clock()
            let (digest, words) = DocumentWork.process(data, passes: passes)
            return (start, clock(), digest, words)
        }
    }

    func close() async {
        await pool.shutdown()
    }
}

enum DocumentProcessors {
    /// The processor running on `workers` threads.
    /// - Throws: the pool's ``OffloadError`` when it cannot start.
    static func make(workers: Int) throws -> any DocumentProcessor {
        ThreadPoolProcessor(pool: try ThreadPool(workers: workers, name: "hybrid"), workers: workers)
    }
}
