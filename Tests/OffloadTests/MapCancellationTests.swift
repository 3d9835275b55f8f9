import Offload
import OffloadTestJobs
import Testing

/// A cancellation that arrives while an ordered map is still submitting its first chunks.
@Suite(.timeLimit(.minutes(1)))
struct MapCancellationTests {
    @Test("a map cancelled between two submissions submits nothing more and throws CancellationError",
          arguments: [ExecutorKind.threadPool, .workerPoolThreads])
    func cancelledWhileSubmitting(kind: ExecutorKind) async throws {
        let pool = try kind.make()
        // Reading the second input cancels the task running the map: the first chunk is already submitted.
        let jobs = (0..<100).lazy.map { @Sendable index -> Square in
            if index == 1 { withUnsafeCurrentTask { $0?.cancel() } }
            return Square(index)
        }
        let mapping = Task { try await pool.map(jobs, chunkSize: 1) }
        await #expect(throws: CancellationError.self) { _ = try await mapping.value }
        await pool.shutdown(cancelPending: false)
        #expect(pool.stats.submitted == 1 && pool.stats.isConsistent)
    }
}
