import Foundation
import OffloadTestJobs
import Synchronization
import Testing

@testable import Offload

/// A caller awaiting a result from a worker on shared memory reads the reply rings itself for a short spin
/// (the pool's reply-drain token), with real worker processes. With one worker on this machine's cores the manager
/// may spin, so waiting callers may too.
@Suite(.serialized, .timeLimit(.minutes(1)))
struct ProcessPoolWaitingTests {
    static func configuration(workers: Int = 1) -> ProcessPool.Configuration {
        TestWorker.configuration(workers: workers, transport: .sharedMemory)
    }

    @Test("a caller awaiting short jobs on shared memory reads their replies itself, and every result arrives")
    func callersReadTheirReplies() async throws {
        try await withProcessPool(configuration: Self.configuration()) { pool async throws in
            for index in 0..<500 { #expect(try await pool.run(Square(index)) == index * index) }
            let served = pool.core.waitsServedBySpinning.load(ordering: .relaxed)
            // The pool's shape on this machine decides whether its manager, and so its waiting callers, may spin.
            if pool.core.spin.manager > 0 { #expect(served > 0) } else { #expect(served == 0) }
            let stats = pool.stats
            #expect(stats.completed == 500 && stats.failed == 0 && stats.isConsistent)
        }
    }

    @Test("with two workers on two cores nobody spins: callers suspend and the manager delivers")
    func noSpinningWithoutASpareCore() async throws {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        try await withProcessPool(configuration: Self.configuration(workers: cores)) { pool async throws in
            #expect(pool.core.spin.manager == 0)
            for index in 0..<200 { #expect(try await pool.run(Square(index)) == index * index) }
            #expect(pool.core.waitsServedBySpinning.load(ordering: .relaxed) == 0)
        }
    }

    @Test("results a waiting caller reads for other tasks reach their own handles, none lost or doubled")
    func otherTasksResultsReachTheirHandles() async throws {
        try await withProcessPool(configuration: Self.configuration()) { pool async throws in
            try await withThrowingTaskGroup(of: Int.self) { group in
                group.addTask {
                    var sum = 0
                    for index in 0..<300 { sum += try await pool.run(Square(index)) }
                    return sum
                }
                group.addTask {
                    let handles = try (0..<300).map { try pool.submit(Square($0)) }
                    var sum = 0
                    for handle in handles.reversed() { sum += try await handle.value }
                    return sum
                }
                let expected = (0..<300).reduce(0) { $0 + $1 * $1 }
                for try await sum in group { #expect(sum == expected) }
            }
            let stats = pool.stats
            #expect(stats.submitted == 600 && stats.completed == 600 && stats.isConsistent)
        }
    }

    // Were the rings left unarmed, the manager would sleep through the reply: the time limit turns that hang into a failure.
    @Test("a job submitted after a caller let go of the rings completes without anyone awaiting it", .timeLimit(.minutes(1)))
    func ringsAreHandedBackToTheManager() async throws {
        try await withProcessPool(configuration: Self.configuration()) { pool async throws in
            for index in 0..<50 {
                // The awaited round trip leaves the manager asleep with the rings unarmed; a completion callback
                // reads nothing itself, so only the manager can deliver the second job.
                #expect(try await pool.run(Square(index)) == index * index)
                let handle = try pool.submit(Square(index + 1))
                let value = try await Self.delivered(handle).get()
                #expect(value == (index + 1) * (index + 1))
            }
            #expect(pool.stats.completed == 100 && pool.stats.isConsistent)
        }
    }

    /// The handle's outcome through a completion callback: unlike `value` and `wait`, nothing that reads rings.
    static func delivered(_ handle: TaskHandle<Int>) async -> Result<Int, any Error> {
        await withCheckedContinuation { continuation in
            handle.completion.onCompletion { continuation.resume(returning: $0) }
        }
    }

    @Test("a blocking wait on shared memory reads the replies too")
    func blockingWaitersReadTheirReplies() async throws {
        try await withProcessPool(configuration: Self.configuration()) { pool async throws in
            let sum = try await Task.detached {
                try (0..<300).reduce(0) { sum, index in sum + (try Self.blockingValue(pool.submit(Square(index)))) }
            }.value
            #expect(sum == (0..<300).reduce(0) { $0 + $1 * $1 })
            let served = pool.core.waitsServedBySpinning.load(ordering: .relaxed)
            if pool.core.spin.manager > 0 { #expect(served > 0) } else { #expect(served == 0) }
        }
    }

    static func blockingValue(_ handle: TaskHandle<Int>) throws -> Int {
        try handle.wait(timeout: .seconds(20))
    }

    @Test("a worker that crashes while its caller reads the rings fails that task; the next caller is served")
    func crashWhileTheCallerReads() async throws {
        try await withProcessPool(configuration: Self.configuration()) { pool async throws in
            for index in 0..<20 { _ = try await pool.run(Square(index)) }
            let error = await #expect(throws: OffloadError.self) { try await pool.run(Die(.sigkill)) }
            #expect(error?.code == .workerCrashed)
            for index in 0..<20 { #expect(try await pool.run(Square(index)) == index * index) }
            #expect(pool.stats.workersReplaced == 1 && pool.stats.isConsistent)
        }
    }
}
