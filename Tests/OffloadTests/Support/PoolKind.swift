import Dispatch
import Offload
import OffloadTestJobs
import Testing

/// Every kind of pool, behind one test-facing surface, so that shared behaviour is written once and run against each
/// (CPython's `create_executor_tests`). Each pool has exactly one worker (or a concurrency of one), so a blocked task
/// keeps the next one queued.
enum PoolKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case threadPool
    case isolatedPool
    case workerPoolThreads
    case workerPoolIO
    case processPool
    case processPoolSharedMemory
    case processPoolForkServer

    var testDescription: String { rawValue }

    /// Every kind; the fork-server pool unless `OFFLOAD_TEST_FORK_SERVER=0` (see ``TestWorker/forkServerTestsEnabled``).
    static var allCases: [PoolKind] {
        [.threadPool, .isolatedPool, .workerPoolThreads, .workerPoolIO, .processPool, .processPoolSharedMemory]
            + (TestWorker.forkServerTestsEnabled ? [.processPoolForkServer] : [])
    }

    func make() async throws -> any TestPool {
        switch self {
        case .threadPool: return ThreadTestPool(pool: try ThreadPool(workers: 1))
        case .isolatedPool: return IsolatedTestPool(pool: try IsolatedPool(workers: 1) { 0 })
        case .workerPoolThreads: return WorkerTestPool(pool: try WorkerPool(mode: .threads(workers: 1)), blocking: true)
        case .workerPoolIO: return WorkerTestPool(pool: try WorkerPool(mode: .io(maxConcurrency: 1)), blocking: false)
        case .processPool:
            // One task in the worker at a time (no prefetch), so a blocked task keeps the next one in the parent's
            // queue, where it can still be withdrawn.
            let configuration = TestWorker.configuration(workers: 1, transport: .pipes) {
                $0.maxPrefetch = 1
                $0.startMethod = .spawn
            }
            return ProcessTestPool(pool: try ProcessPool(configuration: configuration))
        case .processPoolSharedMemory:
            let configuration = TestWorker.configuration(workers: 1, transport: .sharedMemory) {
                $0.maxPrefetch = 1
                $0.startMethod = .spawn
            }
            return ProcessTestPool(pool: try ProcessPool(configuration: configuration))
        case .processPoolForkServer:
            let configuration = TestWorker.configuration(workers: 1) {
                $0.maxPrefetch = 1
                $0.startMethod = .forkServer
            }
            return ProcessTestPool(pool: try ProcessPool(configuration: configuration))
        }
    }
}

protocol TestPool: Sendable {
    /// Submits work that waits at `gate` (if any), then returns `value * value`, or fails if `fail`.
    func submit(_ value: Int, gate: Gate?, fail: Bool) throws -> TaskHandle<Int>
    /// Maps `items` to `item * item` in input order.
    func mapSquaring(_ items: [Int]) async throws -> [Int]
    /// Whether `error` is the failure `submit(value, fail: true)` produces, as this pool reports it.
    func isWorkFailure(_ error: any Error, value: Int) -> Bool
    var stats: PoolStats { get }
    func shutdown(cancelPending: Bool) async
}

private func body(_ value: Int, _ fail: Bool) throws -> Int {
    if fail { throw TestFailure(id: value) }
    return value * value
}

struct ThreadTestPool: TestPool {
    let pool: ThreadPool
    func submit(_ value: Int, gate: Gate?, fail: Bool) throws -> TaskHandle<Int> {
        try pool.submit {
            gate?.wait()
            return try body(value, fail)
        }
    }
    func mapSquaring(_ items: [Int]) async throws -> [Int] { try await pool.map(items) { $0 * $0 } }
    func isWorkFailure(_ error: any Error, value: Int) -> Bool { error as? TestFailure == TestFailure(id: value) }
    var stats: PoolStats { pool.stats }
    func shutdown(cancelPending: Bool) async { await pool.shutdown(cancelPending: cancelPending) }
}

struct IsolatedTestPool: TestPool {
    let pool: IsolatedPool<Int>
    func submit(_ value: Int, gate: Gate?, fail: Bool) throws -> TaskHandle<Int> {
        try pool.submit(value) { uses, value in
            uses += 1
            gate?.wait()
            return try body(value, fail)
        }
    }
    func mapSquaring(_ items: [Int]) async throws -> [Int] { try await pool.map(items) { _, item in item * item } }
    func isWorkFailure(_ error: any Error, value: Int) -> Bool { error as? TestFailure == TestFailure(id: value) }
    var stats: PoolStats { pool.stats }
    func shutdown(cancelPending: Bool) async { await pool.shutdown(cancelPending: cancelPending) }
}

struct WorkerTestPool: TestPool {
    let pool: WorkerPool
    /// Whether work may block its thread (dedicated threads) or must wait without blocking (the cooperative pool).
    let blocking: Bool
    func submit(_ value: Int, gate: Gate?, fail: Bool) throws -> TaskHandle<Int> {
        let blocking = self.blocking
        return try pool.submit {
            if let gate {
                if blocking { gate.wait() } else { await gate.waitAsync() }
            }
            return try body(value, fail)
        }
    }
    func mapSquaring(_ items: [Int]) async throws -> [Int] { try await pool.map(items) { $0 * $0 } }
    func isWorkFailure(_ error: any Error, value: Int) -> Bool { error as? TestFailure == TestFailure(id: value) }
    var stats: PoolStats { pool.stats }
    func shutdown(cancelPending: Bool) async { await pool.shutdown(cancelPending: cancelPending) }
}

/// Jobs in worker processes: the gate is a FIFO the job blocks on, opened when the in-process gate opens; a failure
/// arrives as `jobFailed` carrying the remote error's message.
struct ProcessTestPool: TestPool {
    let pool: ProcessPool
    func submit(_ value: Int, gate: Gate?, fail: Bool) throws -> TaskHandle<Int> {
        if fail { return try pool.submit(Fail("failure \(value)")) }
        guard let gate else { return try pool.submit(Square(value)) }
        let fifo = try FIFOGate()
        DispatchQueue.global().async {
            gate.wait()
            fifo.open()
        }
        let handle = try pool.submit(WaitForGate(fifoPath: fifo.path, value: value * value))
        // The FIFO must outlive the job: it unlinks its path when released.
        handle.completion.onCompletion { _ in withExtendedLifetime(fifo) {} }
        return handle
    }
    func mapSquaring(_ items: [Int]) async throws -> [Int] { try await pool.map(items.map(Square.init)) }
    func isWorkFailure(_ error: any Error, value: Int) -> Bool {
        guard let error = error as? OffloadError else { return false }
        return error.code == .jobFailed && error.message.contains("failure \(value)")
    }
    var stats: PoolStats { pool.stats }
    func shutdown(cancelPending: Bool) async { await pool.shutdown(cancelPending: cancelPending) }
}
