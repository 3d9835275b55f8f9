import Dispatch
import Offload
import Synchronization
import Testing

@Suite(.timeLimit(.minutes(1)))
struct ThreadPoolTests {
    @Test("a worker count of zero or less is refused with invalidArgument", arguments: [0, -1, -8])
    func refusesNonPositiveWorkerCount(count: Int) {
        #expect(throws: OffloadError.self) { try ThreadPool(workers: count) }
        do {
            _ = try ThreadPool(workers: count)
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.message.contains("\(count)"))
        }
    }

    @Test("the default worker count is the available processor count")
    func defaultWorkerCount() async throws {
        try await withThreadPool { pool in
            #expect(pool.workerCount == WorkerCount.available)
        }
    }

    @Test("run returns the work's value and runs it on a pool thread")
    func runReturnsValueOnPoolThread() async throws {
        try await withThreadPool(workers: 2) { pool in
            let core = pool.core
            let (value, onPoolThread) = try await pool.run { (21 * 2, core.isCurrentThreadWorker) }
            #expect(value == 42)
            #expect(onPoolThread)
        }
    }

    @Test("an error thrown by the work reaches the caller unchanged")
    func errorsReachCallerUnchanged() async throws {
        try await withThreadPool(workers: 2) { pool in
            await #expect(throws: TestFailure(id: 7)) {
                try await pool.run { () throws -> Int in throw TestFailure(id: 7) }
            }
            #expect(pool.stats.failed == 1)
        }
    }

    @Test("synchronous code can wait on a handle, with a timeout that does not stop the work")
    func synchronousWaitWithTimeout() throws {
        let pool = try ThreadPool(workers: 1)
        defer { pool.shutdownSync() }
        let gate = Gate()
        let handle = try pool.submit { () -> String in
            gate.wait()
            return "done"
        }
        #expect {
            try handle.wait(timeout: .milliseconds(20))
        } throws: { error in
            (error as? OffloadError)?.code == .waitTimedOut
        }
        gate.open()
        #expect(try handle.wait() == "done")
        #expect(try handle.wait(timeout: .zero) == "done")
    }

    @Test("async work on the cooperative pool keeps running while every pool thread is busy")
    func cooperativePoolIsNotStarved() async throws {
        // Occupy more pool threads than the cooperative pool has threads. If pool work ran on cooperative threads, the
        // task that opens the gate could never run and this test would hit its time limit.
        let workers = max(2, WorkerCount.available) + 1
        try await withThreadPool(workers: workers) { pool in
            let gate = Gate()
            let started = Latch(count: workers)
            var handles: [TaskHandle<Int>] = []
            for index in 0..<workers {
                handles.append(
                    try pool.submit {
                        started.countDown()
                        gate.wait()
                        return index
                    })
            }
            await started.waitAsync()
            let progress = Counter()
            let cooperative = Task.detached {
                for _ in 0..<1_000 {
                    await Task.yield()
                    progress.increment()
                }
                gate.open()
            }
            await cooperative.value
            #expect(progress.current == 1_000)
            var results: [Int] = []
            for handle in handles { results.append(try await handle.value) }
            #expect(results == Array(0..<workers))
        }
    }

    @Test("tasks that prefer the pool as their executor run on its threads")
    func taskExecutorPreference() async throws {
        try await withThreadPool(workers: 2) { pool in
            let core = pool.core
            let inScope = await withTaskExecutorPreference(pool) {
                core.isCurrentThreadWorker
            }
            #expect(inScope)
            let inTask = await Task(executorPreference: pool) {
                await Task.yield()
                return core.isCurrentThreadWorker
            }.value
            #expect(inTask)
            let outside = await Task.detached { core.isCurrentThreadWorker }.value
            #expect(!outside)
        }
    }

    @Test("map returns results in input order for any chunk size", arguments: [nil, 1, 3, 1_000] as [Int?])
    func mapIsOrdered(chunkSize: Int?) async throws {
        try await withThreadPool(workers: 3) { pool in
            for count in [0, 1, 7, 10_000] {
                let input = Array(0..<count)
                let output = try await pool.map(input, chunkSize: chunkSize) { $0 * 3 + 1 }
                #expect(output == input.map { $0 * 3 + 1 })
            }
        }
    }

    @Test("map accepts sequences that are not collections")
    func mapOverSequence() async throws {
        try await withThreadPool(workers: 2) { pool in
            let output = try await pool.map(stride(from: 0, to: 100, by: 5).lazy.map { $0 }, chunkSize: 4) { $0 / 5 }
            #expect(output == Array(0..<20))
        }
    }

    @Test("automatic chunking sends far fewer tasks than items")
    func automaticChunking() async throws {
        try await withThreadPool(workers: 2) { pool in
            _ = try await pool.map(0..<100_000) { $0 }
            // A known size starts at the cap: a quarter of each worker's share, ceil(100_000 / (2 × 4)) = 12,500.
            let automatic = pool.stats.submitted
            #expect(automatic == 8)
            _ = try await pool.map(0..<10, chunkSize: 1) { $0 }
            #expect(pool.stats.submitted == automatic + 10)
        }
    }

    @Test("a chunk size below one is refused", arguments: [0, -3])
    func refusesBadChunkSize(chunkSize: Int) async throws {
        try await withThreadPool(workers: 1) { pool in
            await #expect {
                _ = try await pool.map([1, 2, 3], chunkSize: chunkSize) { $0 }
            } throws: { error in
                (error as? OffloadError)?.code == .invalidArgument
            }
        }
    }

    @Test("map rethrows the first failing item's error and cancels the chunks not yet started")
    func mapFailsFast() async throws {
        try await withThreadPool(workers: 1) { pool in
            let ran = Counter()
            await #expect(throws: TestFailure(id: 3)) {
                _ = try await pool.map(0..<64, chunkSize: 1) { item -> Int in
                    ran.increment()
                    if item == 3 { throw TestFailure(id: 3) }
                    return item
                }
            }
            await pool.shutdown()
            let stats = pool.stats
            #expect(stats.isConsistent)
            #expect(stats.failed == 1)
            #expect(stats.completed + stats.failed == ran.current)
            #expect(stats.cancelled == stats.submitted - ran.current)
        }
    }

    @Test("mapUnordered yields every index once with its value")
    func mapUnorderedYieldsEverything() async throws {
        try await withThreadPool(workers: 3) { pool in
            var seen: [Int: Int] = [:]
            for try await (index, value) in try pool.mapUnordered(0..<5_000, chunkSize: 7, { $0 * 2 }) {
                #expect(seen[index] == nil)
                seen[index] = value
            }
            #expect(seen.count == 5_000)
            #expect(seen.allSatisfy { $0.value == $0.key * 2 })
        }
    }

    @Test("mapUnordered reads its input lazily, keeping at most maxInFlight chunks in flight")
    func mapUnorderedIsBounded() async throws {
        try await withThreadPool(workers: 2) { pool in
            let pulled = Counter()
            let input = (0..<1_000_000).lazy.map { item -> Int in
                pulled.increment()
                return item
            }
            var iterator = try pool.mapUnordered(input, chunkSize: 10, maxInFlight: 4) { $0 }.makeAsyncIterator()
            let first = try await iterator.next()
            #expect(first != nil)
            // 4 chunks of 10 in flight, plus at most one chunk taken to refill.
            #expect(pulled.current <= 50)
        }
    }

    @Test("mapUnordered throws the work's error")
    func mapUnorderedThrows() async throws {
        try await withThreadPool(workers: 2) { pool in
            await #expect(throws: TestFailure(id: 9)) {
                for try await _ in try pool.mapUnordered(0..<100, chunkSize: 1, { item -> Int in
                    if item == 9 { throw TestFailure(id: 9) }
                    return item
                }) {}
            }
        }
    }
}
