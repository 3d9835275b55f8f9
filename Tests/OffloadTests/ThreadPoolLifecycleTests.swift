import Dispatch
import Offload
import Synchronization
import Testing

/// Cancellation, shutdown and statistics of ``ThreadPool`` (CPython's test_shutdown.py, in spirit).
@Suite(.timeLimit(.minutes(1)))
struct ThreadPoolLifecycleTests {
    /// A pool of one thread held by a blocker until `gate` opens.
    private func blockedPool() throws -> (ThreadPool, Gate, TaskHandle<Void>, Latch) {
        let pool = try ThreadPool(workers: 1)
        let gate = Gate()
        let started = Latch(count: 1)
        let blocker = try pool.submit {
            started.countDown()
            gate.wait()
        }
        return (pool, gate, blocker, started)
    }

    @Test("cancelling a queued task's handle withdraws it: it never runs and is counted as cancelled")
    func cancelQueuedHandle() async throws {
        let (pool, gate, blocker, started) = try blockedPool()
        await started.waitAsync()
        let ran = Counter()
        let queued = try pool.submit { ran.increment() }
        #expect(queued.cancel())
        await #expect(throws: CancellationError.self) { try await queued.value }
        #expect(pool.stats.cancelled == 1)
        gate.open()
        try await blocker.value
        await pool.shutdown()
        #expect(ran.current == 0)
        #expect(pool.stats == PoolStats(
            workers: 1, submitted: 2, completed: 1, cancelled: 1, busyTime: pool.stats.busyTime))
    }

    @Test("cancelling the awaiting Swift task cancels work that has not started")
    func cancellingAwaitingTaskCancelsPendingWork() async throws {
        let (pool, gate, blocker, started) = try blockedPool()
        await started.waitAsync()
        let ran = Counter()
        let waiter = Task { try await pool.run { ran.increment() } }
        // Wait until the waiter's work is queued, then cancel the waiting task.
        while pool.stats.pending == 0 { await Task.yield() }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        gate.open()
        try await blocker.value
        await pool.shutdown()
        #expect(ran.current == 0)
        #expect(pool.stats.cancelled == 1)
        #expect(pool.stats.isConsistent)
    }

    @Test("running work sees cancellation cooperatively through OffloadTask.isCancelled")
    func runningWorkChecksCancellation() async throws {
        try await withThreadPool(workers: 1) { pool in
            let started = Latch(count: 1)
            let handle = try pool.submit { () throws -> Int in
                started.countDown()
                var spins = 0
                while true {
                    try OffloadTask.checkCancellation()
                    spins += 1
                }
            }
            await started.waitAsync()
            #expect(!handle.cancel())  // already running: not withdrawn, only asked to stop
            await #expect(throws: CancellationError.self) { try await handle.value }
            #expect(pool.stats.failed == 1)
        }
    }

    @Test("submitting after shutdown throws poolShutDown")
    func submitAfterShutdownThrows() async throws {
        let pool = try ThreadPool(workers: 2)
        await pool.shutdown()
        #expect {
            try pool.submit { 1 }
        } throws: { error in
            (error as? OffloadError)?.code == .poolShutDown
        }
    }

    @Test("shutdown is idempotent and may be called concurrently")
    func shutdownIsIdempotent() async throws {
        let pool = try ThreadPool(workers: 2)
        let handles = try (0..<100).map { item in try pool.submit { item } }
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 { group.addTask { await pool.shutdown() } }
        }
        await pool.shutdown()
        for (item, handle) in handles.enumerated() { #expect(try await handle.value == item) }
        #expect(pool.core.isTerminated)
    }

    @Test("shutdown without cancelPending runs every queued task first")
    func shutdownDrains() async throws {
        let (pool, gate, _, started) = try blockedPool()
        await started.waitAsync()
        let handles = try (0..<10).map { item in try pool.submit { item } }
        let shutdown = Task { await pool.shutdown() }
        gate.open()
        await shutdown.value
        for (item, handle) in handles.enumerated() { #expect(try await handle.value == item) }
        #expect(pool.stats.completed == 11)
    }

    @Test("shutdown with cancelPending cancels queued tasks and waits for the running one")
    func shutdownCancelsPending() async throws {
        let (pool, gate, blocker, started) = try blockedPool()
        await started.waitAsync()
        let handles = try (0..<10).map { item in try pool.submit { item } }
        let shutdown = Task { await pool.shutdown(cancelPending: true) }
        while pool.stats.cancelled < 10 { await Task.yield() }
        gate.open()
        await shutdown.value
        try await blocker.value
        for handle in handles {
            await #expect(throws: CancellationError.self) { try await handle.value }
        }
        #expect(pool.stats == PoolStats(
            workers: 1, submitted: 11, completed: 1, cancelled: 10, busyTime: pool.stats.busyTime))
    }

    @Test("withThreadPool shuts the pool down when its body throws")
    func scopedPoolShutsDownOnError() async throws {
        let escaped = Mutex<ThreadPool?>(nil)
        await #expect(throws: TestFailure(id: 1)) {
            try await withThreadPool(workers: 1) { pool in
                escaped.withLock { $0 = pool }
                throw TestFailure(id: 1)
            }
        }
        let pool = try #require(escaped.withLock { $0 })
        #expect(pool.core.isTerminated)
        #expect(throws: OffloadError.self) { try pool.submit { 0 } }
    }

    @Test("a pool released without shutdown finishes its queued work and its threads end")
    func releasedPoolNeitherLeaksNorHangs() async throws {
        let gate = Gate()
        var pool: ThreadPool? = try ThreadPool(workers: 2)
        let core = pool!.core
        let handles = try (0..<4).map { item in
            try pool!.submit {
                gate.wait()
                return item
            }
        }
        pool = nil  // deinit: no shutdown call
        gate.open()
        for (item, handle) in handles.enumerated() { #expect(try await handle.value == item) }
        await core.waitUntilTerminated()
        #expect(core.isTerminated)
        #expect(throws: OffloadError.self) { try core.submit { (_: inout Void) in 0 } }
    }

    @Test("shutting a pool down joins its threads")
    func shutdownJoinsThreads() async throws {
        let name = "join\(UInt16.random(in: 1000...9999))"
        let pool = try ThreadPool(workers: 4, name: name)
        #expect(threadNames().filter { $0.hasPrefix(name) }.count == 4)
        _ = try await pool.map(0..<100) { $0 }
        await pool.shutdown()
        #expect(threadNames().filter { $0.hasPrefix(name) }.isEmpty)
    }

    @Test("stats always add up while many tasks submit, fail and cancel concurrently")
    func statsAddUpUnderContention() async throws {
        let pool = try ThreadPool(workers: 3)
        let inconsistent = Counter()
        let sampler = Task.detached {
            while !Task.isCancelled {
                if !pool.stats.isConsistent { inconsistent.increment() }
                await Task.yield()
            }
        }
        let outcomes = try await withThrowingTaskGroup(of: (Int, Int, Int).self) { group in
            for submitter in 0..<8 {
                group.addTask {
                    var ok = 0
                    var failed = 0
                    var cancelled = 0
                    for item in 0..<400 {
                        let handle = try pool.submit { () throws -> Int in
                            if item % 7 == 0 { throw TestFailure(id: item) }
                            return item * submitter
                        }
                        if item % 5 == 0 { handle.cancel() }
                        do {
                            _ = try await handle.value
                            ok += 1
                        } catch is CancellationError {
                            cancelled += 1
                        } catch {
                            failed += 1
                        }
                    }
                    return (ok, failed, cancelled)
                }
            }
            var totals = (0, 0, 0)
            for try await (ok, failed, cancelled) in group {
                totals.0 += ok
                totals.1 += failed
                totals.2 += cancelled
            }
            return totals
        }
        sampler.cancel()
        await pool.shutdown()
        let stats = pool.stats
        #expect(inconsistent.current == 0)
        #expect(stats.submitted == 8 * 400)
        #expect(stats.completed == outcomes.0)
        #expect(stats.failed == outcomes.1)
        #expect(stats.cancelled == outcomes.2)
        #expect(stats.pending == 0 && stats.running == 0)
        #expect(stats.busyTime.count == 3)
        #expect(stats.busyTime.reduce(.zero, +) > .zero)
    }
}
