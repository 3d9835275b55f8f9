import Offload
import OffloadTestJobs
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite(.serialized, .timeLimit(.minutes(1)))
struct ProcessPoolTests {
    @Test("a job runs in a worker process and its output comes back")
    func runReturnsOutput() async throws {
        let pool = try ProcessPool(configuration: TestWorker.configuration())
        #expect(try await pool.run(Square(12)) == 144)
        let workerPID = try await pool.run(WorkerPID())
        #expect(workerPID != getpid())
        #expect(pool.workerPIDs.contains(workerPID))
        await pool.shutdown()
        let stats = pool.stats
        #expect(stats.submitted == 2 && stats.completed == 2 && stats.isConsistent)
    }

    @Test("map returns outputs in job order, batched or not", arguments: [nil, 1, 7] as [Int?])
    func mapKeepsOrder(chunkSize: Int?) async throws {
        let outputs = try await withProcessPool(configuration: TestWorker.configuration()) { pool async throws in
            try await pool.map((0..<500).map(Square.init), chunkSize: chunkSize)
        }
        #expect(outputs == (0..<500).map { $0 * $0 })
    }

    @Test("mapUnordered delivers every index exactly once")
    func mapUnorderedDeliversAll() async throws {
        try await withProcessPool(configuration: TestWorker.configuration()) { pool async throws in
            var seen: [Int: Int] = [:]
            for try await (index, value) in try pool.mapUnordered((0..<300).map(Square.init), chunkSize: 10) {
                #expect(seen[index] == nil)
                seen[index] = value
            }
            #expect(seen.count == 300)
            #expect(seen.allSatisfy { $0.value == $0.key * $0.key })
        }
    }

    @Test("submit returns handles that can be waited for from synchronous code")
    func submitAndWait() async throws {
        let pool = try ProcessPool(configuration: TestWorker.configuration())
        let handles = try (0..<50).map { try pool.submit(Square($0)) }
        var total = 0
        for handle in handles { total += try await handle.value }
        #expect(total == (0..<50).reduce(0) { $0 + $1 * $1 })
        await pool.shutdown()
        #expect(pool.stats.completed == 50)
        #expect(pool.stats.isConsistent)
    }
}
