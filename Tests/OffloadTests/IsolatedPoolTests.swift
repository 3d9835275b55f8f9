import Offload
import Synchronization
import Testing

/// Deliberately not Sendable: the state a worker owns alone (a parser cache, a C handle, a scratch buffer...).
private final class Scratch {
    let owner: Int
    var uses = 0
    var history: [Int] = []
    init(owner: Int) { self.owner = owner }
}

private let nextOwner = Atomic<Int>(0)

@Suite(.timeLimit(.minutes(1)))
struct IsolatedPoolTests {
    @Test("each worker owns its state: no two workers ever touch the same state")
    func stateIsPrivatePerWorker() async throws {
        try await withIsolatedPool(workers: 3, makeState: {
            Scratch(owner: nextOwner.add(1, ordering: .relaxed).newValue)
        }) { pool in
            let observations = try await pool.map(0..<3_000, chunkSize: 1) { scratch, item -> [Int] in
                scratch.uses += 1
                scratch.history.append(item)
                return [scratch.owner, scratch.uses]
            }
            // For each owner, the use counts seen must be exactly 1...n: a shared state would skip or repeat numbers.
            var usesByOwner: [Int: [Int]] = [:]
            for observation in observations { usesByOwner[observation[0], default: []].append(observation[1]) }
            #expect(usesByOwner.count <= 3)
            for uses in usesByOwner.values {
                #expect(uses.sorted() == Array(1...uses.count))
            }
            #expect(usesByOwner.values.map(\.count).reduce(0, +) == 3_000)
        }
    }

    @Test("the state initializer runs once on each worker's own thread")
    func initializerRunsOnWorkerThread() async throws {
        let initializations = Counter()
        let onWorkerThread = Mutex<[Bool]>([])
        let poolReference = Mutex<IsolatedPool<Int>?>(nil)
        let pool = try IsolatedPool(workers: 4) { () -> Int in
            initializations.increment()
            return 0
        }
        poolReference.withLock { $0 = pool }
        let core = pool.core
        for _ in 0..<4 {
            let isWorker = try await pool.run(()) { _, _ in core.isCurrentThreadWorker }
            onWorkerThread.withLock { $0.append(isWorker) }
        }
        #expect(initializations.current == 4)
        #expect(onWorkerThread.withLock { $0 } == [true, true, true, true])
        await pool.shutdown()
    }

    @Test("an initializer that throws fails pool creation with that error and stops the started workers")
    func initializerErrorFailsCreation() throws {
        let name = "fail\(UInt16.random(in: 1000...9999))"
        let attempts = Counter()
        #expect(throws: TestFailure(id: 2)) {
            _ = try IsolatedPool(workers: 3, name: name) { () throws -> Int in
                if attempts.increment() == 2 { throw TestFailure(id: 2) }
                return 1
            }
        }
        #expect(attempts.current == 3)
        #expect(threadNames().filter { $0.hasPrefix(name) }.isEmpty)
    }

    @Test("submit, run, map and mapUnordered pass inputs and return outputs")
    func surface() async throws {
        try await withIsolatedPool(workers: 2, makeState: { [Int]() }) { pool in
            let handle = try pool.submit(5) { memo, input in
                memo.append(input)
                return input * input
            }
            #expect(try await handle.value == 25)
            #expect(try await pool.run("abc") { _, text in text.uppercased() } == "ABC")
            #expect(try await pool.map(["a", "bb", "ccc"]) { _, text in text.count } == [1, 2, 3])
            var total = 0
            for try await (_, value) in try pool.mapUnordered(1...100, { _, item in item }) { total += value }
            #expect(total == 5_050)
            #expect(pool.stats.isConsistent)
        }
    }

    @Test("errors thrown by work reach the caller unchanged and the worker keeps its state")
    func errorsKeepState() async throws {
        try await withIsolatedPool(workers: 1, makeState: { 0 }) { pool in
            await #expect(throws: TestFailure(id: 4)) {
                try await pool.run(4) { count, id -> Int in
                    count += 1
                    throw TestFailure(id: id)
                }
            }
            let count = try await pool.run(()) { count, _ in count }
            #expect(count == 1)
        }
    }

    @Test("submitting after shutdown throws poolShutDown")
    func submitAfterShutdown() async throws {
        let pool = try IsolatedPool(workers: 1) { 0 }
        await pool.shutdown()
        await pool.shutdown()
        #expect {
            try pool.submit(1) { _, x in x }
        } throws: { error in
            (error as? OffloadError)?.code == .poolShutDown
        }
    }
}
