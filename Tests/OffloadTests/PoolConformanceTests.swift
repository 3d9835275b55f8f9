import Offload
import Testing

/// Behaviour every pool shares, run against each ``PoolKind``.
@Suite(.timeLimit(.minutes(1)))
struct PoolConformanceTests {
    @Test("submit delivers the value and the work's own error", arguments: PoolKind.allCases)
    func submitDeliversValueOrError(kind: PoolKind) async throws {
        let pool = try await kind.make()
        let value = try await pool.submit(21, gate: nil, fail: false).value
        #expect(value == 441)
        await #expect {
            try await pool.submit(5, gate: nil, fail: true).value
        } throws: { error in
            pool.isWorkFailure(error, value: 5)
        }
        await pool.shutdown(cancelPending: false)
        let stats = pool.stats
        #expect(stats.completed == 1 && stats.failed == 1 && stats.isConsistent)
    }

    @Test("map returns results in input order", arguments: PoolKind.allCases)
    func mapIsOrdered(kind: PoolKind) async throws {
        let pool = try await kind.make()
        let input = Array(0..<1_000)
        #expect(try await pool.mapSquaring(input) == input.map { $0 * $0 })
        #expect(try await pool.mapSquaring([]) == [])
        await pool.shutdown(cancelPending: false)
    }

    @Test("a queued task cancelled through its handle never runs and counts as cancelled", arguments: PoolKind.allCases)
    func cancelQueued(kind: PoolKind) async throws {
        let pool = try await kind.make()
        let gate = Gate()
        let blocker = try pool.submit(1, gate: gate, fail: false)
        let queued = try pool.submit(2, gate: nil, fail: false)
        #expect(queued.cancel())
        await #expect(throws: CancellationError.self) { try await queued.value }
        gate.open()
        #expect(try await blocker.value == 1)
        await pool.shutdown(cancelPending: false)
        let stats = pool.stats
        #expect(stats.submitted == 2 && stats.completed == 1 && stats.cancelled == 1 && stats.isConsistent)
    }

    @Test("shutdown with cancelPending cancels queued work; running work completes", arguments: PoolKind.allCases)
    func shutdownCancelsPending(kind: PoolKind) async throws {
        let pool = try await kind.make()
        let gate = Gate()
        let blocker = try pool.submit(1, gate: gate, fail: false)
        let queued = try (2..<6).map { try pool.submit($0, gate: nil, fail: false) }
        while pool.stats.running == 0 { await Task.yield() }
        let shutdown = Task { await pool.shutdown(cancelPending: true) }
        while pool.stats.cancelled < 4 { await Task.yield() }
        gate.open()
        await shutdown.value
        #expect(try await blocker.value == 1)
        for handle in queued {
            await #expect(throws: CancellationError.self) { try await handle.value }
        }
        #expect(pool.stats.cancelled == 4 && pool.stats.isConsistent)
    }

    @Test("shutdown is idempotent and submitting afterwards throws poolShutDown", arguments: PoolKind.allCases)
    func submitAfterShutdown(kind: PoolKind) async throws {
        let pool = try await kind.make()
        _ = try await pool.submit(1, gate: nil, fail: false).value
        await pool.shutdown(cancelPending: false)
        await pool.shutdown(cancelPending: true)
        #expect {
            try pool.submit(2, gate: nil, fail: false)
        } throws: { error in
            (error as? OffloadError)?.code == .poolShutDown
        }
    }

    @Test("stats add up after a mix of successes, failures and cancellations", arguments: PoolKind.allCases)
    func statsAddUp(kind: PoolKind) async throws {
        let pool = try await kind.make()
        var handles: [TaskHandle<Int>] = []
        for value in 0..<60 {
            let handle = try pool.submit(value, gate: nil, fail: value % 4 == 0)
            if value % 5 == 0 { handle.cancel() }
            handles.append(handle)
        }
        var outcomes = (ok: 0, failed: 0, cancelled: 0)
        for handle in handles {
            do {
                _ = try await handle.value
                outcomes.ok += 1
            } catch is CancellationError {
                outcomes.cancelled += 1
            } catch {
                outcomes.failed += 1
            }
        }
        await pool.shutdown(cancelPending: false)
        let stats = pool.stats
        #expect(stats.submitted == 60)
        #expect(stats.completed == outcomes.ok && stats.failed == outcomes.failed && stats.cancelled == outcomes.cancelled)
        #expect(stats.pending == 0 && stats.running == 0)
    }
}
