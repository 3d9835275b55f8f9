import Foundation
import Offload

/// TODO(thread-pool): replaced by a ThreadPool-backed processor when ThreadPool lands on main.
struct CooperativePoolProcessor: DocumentProcessor {
    let name = "Task.detached (cooperative pool)"

    func process(_ data: Data, passes: Int, clock: @escaping @Sendable () -> Double) async throws
        -> (start: Double, end: Double, digest: UInt64, words: Int)
    {
        await Task.detached {
            let start = clock()
            let (digest, words) = DocumentWork.process(data, passes: passes)
            return (start, clock(), digest, words)
        }.value
    }

    func close() async {}
}

enum DocumentProcessors {
    /// The processor running on `workers` workers.
    static func make(workers: Int) throws -> any DocumentProcessor {
        CooperativePoolProcessor()
    }
}
