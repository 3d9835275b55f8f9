import Foundation
import Offload
import Synchronization
import Testing

private struct Square: Job {
    var value: Int
    func run() throws -> Int { value * value }
}

private struct Refuse: Job {
    var id: Int
    func run() throws -> Int { throw TestFailure(id: id) }
}

/// Tracks how many calls run at once and the most seen.
private final class ConcurrencyProbe: Sendable {
    private let state = Mutex((now: 0, most: 0))
    func enter() { state.withLock { $0.now += 1; $0.most = max($0.most, $0.now) } }
    func leave() { state.withLock { $0.now -= 1 } }
    var most: Int { state.withLock { $0.most } }
}

@Suite(.timeLimit(.minutes(1)))
struct ParallelMapTests {
    @Test("every closure mode returns the transform of each item in input order",
          arguments: [ParallelMode.io(maxConcurrency: 8), .threads(workers: 3), .auto])
    func closureModesAreOrdered(mode: ParallelMode) async throws {
        let output = try await parallelMap(0..<2_000, mode: mode) { item in
            await Task.yield()
            return item * 3
        }
        #expect(output == (0..<2_000).map { $0 * 3 })
    }

    @Test(".io never runs more than maxConcurrency items at once")
    func ioBoundsConcurrency() async throws {
        let probe = ConcurrencyProbe()
        let gate = Gate()
        let output = try await parallelMap(0..<40, mode: .io(maxConcurrency: 3)) { item in
            probe.enter()
            defer { probe.leave() }
            if item == 0 { await gate.waitAsync() } else if item == 5 { gate.open() }
            for _ in 0..<10 { await Task.yield() }
            return item
        }
        #expect(output == Array(0..<40))
        #expect(probe.most <= 3)
        #expect(probe.most >= 2)
    }

    @Test(".threads runs the synchronous part of the transform on dedicated threads, not the cooperative pool")
    func threadsModeUsesPoolThreads() async throws {
        let names = try await parallelMap(0..<8, mode: .threads(workers: 2), chunkSize: 1) { _ in
            currentThreadName()
        }
        #expect(names.allSatisfy { $0.hasPrefix("parallelMap-") })
    }

    @Test("the first error in input order is rethrown unchanged")
    func errorsPropagate() async throws {
        await #expect(throws: TestFailure(id: 13)) {
            _ = try await parallelMap(0..<100, mode: .io(maxConcurrency: 4)) { item -> Int in
                if item == 13 { throw TestFailure(id: 13) }
                return item
            }
        }
    }

    @Test("closures in .isolated or .processes mode are refused with a message naming the right call",
          arguments: [ParallelMode.isolated(workers: 2), .processes(workers: 2)])
    func closureModeMismatch(mode: ParallelMode) async throws {
        await #expect {
            _ = try await parallelMap([1, 2, 3], mode: mode) { $0 }
        } throws: { error in
            guard let error = error as? OffloadError, error.code == .invalidArgument else { return false }
            return error.message.contains("parallelMap(")
        }
    }

    @Test("a maxConcurrency below one is refused")
    func refusesZeroConcurrency() async throws {
        await #expect {
            _ = try await parallelMap([1], mode: .io(maxConcurrency: 0)) { $0 }
        } throws: { error in
            (error as? OffloadError)?.code == .invalidArgument
        }
    }

    @Test("the makeState overload gives each worker its own state")
    func statefulParallelMap() async throws {
        let made = Counter()
        let output = try await parallelMap(0..<500, mode: .isolated(workers: 2), makeState: { () -> [Int] in
            made.increment()
            return []
        }) { seen, item in
            seen.append(item)
            return seen.count
        }
        #expect(made.current == 2)
        #expect(output.count == 500)
        #expect(output.reduce(0, +) >= 500)
    }

    @Test("jobs run in-process for .threads, .isolated and .auto", arguments: [
        ParallelMode.threads(workers: 2), .isolated(workers: 2), .auto,
    ])
    func jobsInProcess(mode: ParallelMode) async throws {
        let output = try await parallelMap(jobs: (0..<100).map(Square.init), mode: mode)
        #expect(output == (0..<100).map { $0 * $0 })
        // A job map names the failing input and keeps the job's own error as the cause, in every mode.
        let error = await #expect(throws: OffloadError.self) {
            _ = try await parallelMap(jobs: [Refuse(id: 7), Refuse(id: 4)], mode: mode)
        }
        #expect(error?.code == .jobFailed && error?.index == 0)
        #expect(error?.cause as? TestFailure == TestFailure(id: 7))
    }

    @Test("WorkerPool runs jobs in every in-process mode and counts them", arguments: [
        ParallelMode.threads(workers: 2), .isolated(workers: 2), .io(maxConcurrency: 4),
    ])
    func workerPoolJobs(mode: ParallelMode) async throws {
        try await withWorkerPool(mode: mode) { pool in
            let single = try await pool.submit(Square(value: 9)).value
            #expect(single == 81)
            let many = try await pool.map((1...10).map(Square.init))
            #expect(many == (1...10).map { $0 * $0 })
            #expect(pool.stats.isConsistent && pool.stats.failed == 0)
        }
    }
}

/// The calling thread's name, from /proc/thread-self/comm.
func currentThreadName() -> String {
    (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8))?
        .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
}
