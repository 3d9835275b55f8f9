import Offload
import OffloadPostgres
import OffloadTestJobs
import Testing

extension PostgresTests {
    @Suite("Round trips")
    struct RoundTripTests {
        @Test("submit, run, map and mapUnordered return the jobs' outputs")
        func outputs() async throws {
            try await withEnvironment("roundtrip") { env in
                let queue = try await env.queue()
                let worker = try await env.worker()
                let running = Task { try await worker.run() }
                #expect(try await queue.run(Square(7)) == 49)
                #expect(try await queue.submit(Square(3)).value == 9)
                let squares = try await queue.map((0..<500).map { Square($0) }, chunkSize: 64)
                #expect(squares == (0..<500).map { $0 * $0 })
                var seen: [Int: Int] = [:]
                for try await (index, value) in try queue.mapUnordered((0..<300).map { Square($0) }, chunkSize: 50, maxInFlight: 2) {
                    seen[index] = value
                }
                #expect(seen.count == 300)
                #expect(seen.allSatisfy { $0.value == $0.key * $0.key })
                let stats = queue.stats
                #expect(stats.isConsistent)
                #expect(stats.completed == 802)
                worker.shutdown()
                try await running.value
                await queue.shutdown()
                let violations = try await env.invariantViolations(expectedJobs: 802)
                #expect(violations == [])
            }
        }

        @Test("a thread-backed worker runs the same jobs")
        func threads() async throws {
            try await withEnvironment("threads") { env in
                let queue = try await env.queue()
                let worker = try await env.worker(threads: true)
                let running = Task { try await worker.run() }
                #expect(try await queue.map((0..<200).map { Square($0) }) == (0..<200).map { $0 * $0 })
                worker.shutdown()
                try await running.value
                await queue.shutdown()
                let violations = try await env.invariantViolations(expectedJobs: 200)
                #expect(violations == [])
            }
        }

        @Test("enqueueBatch returns IDs in input order; handles re-attach to each")
        func enqueueBatch() async throws {
            try await withEnvironment("batch") { env in
                let queue = try await env.queue()
                let ids = try await queue.enqueueBatch((0..<700).map { Square($0) }, options: PostgresJobOptions(queue: "q\\tab"))
                #expect(ids == ids.sorted())
                #expect(Set(ids).count == 700)
                let worker = try await env.worker { $0.queues = ["q\\tab"] }
                let running = Task { try await worker.run() }
                for (index, id) in ids.enumerated() where index % 70 == 0 {
                    #expect(try await queue.handle(for: id, as: Square.self).value == index * index)
                }
                worker.shutdown()
                try await running.value
                await queue.close()
                #expect(try await env.int("SELECT count(*) FROM \(env.jobs) WHERE state = 'completed'") == 700)
            }
        }
    }
}
