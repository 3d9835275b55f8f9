import Offload
import Testing

/// Every kind of pool, behind one test-facing surface, so that shared behaviour is written once and run against each
/// (CPython's `create_executor_tests`). Each pool has exactly one worker (or a concurrency of one), so a blocked task
/// keeps the next one queued.
enum PoolKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case threadPool
    case isolatedPool
    case workerPoolThreads
    case workerPoolIO

    var testDescription: String { rawValue }

    func make() async throws -> any TestPool {
        switch self {
        case .threadPool: return ThreadTestPool(pool: try ThreadPool(workers: 1))
        case .isolatedPool: return IsolatedTestPool(pool: try IsolatedPool(workers: 1) { 0 })
        case .workerPoolThreads: return WorkerTestPool(pool: try await WorkerPool(mode: .threads(workers: 1)), blocking: true)
        case .workerPoolIO: return WorkerTestPool(pool: try await WorkerPool(mode: .io(maxConcurrency: 1)), blocking: false)
        }
    }
}

protocol TestPool: Sendable {
    /// Submits work that waits at `gate` (if any), then returns `value`, or throws `TestFailure(id: value)` if `fail`.
    func submit(_ value: Int, gate: Gate?, fail: Bool) throws -> TaskHandle<Int>
    /// Maps `items` to `item * 2` in input order.
    func mapDoubling(_ items: [Int]) async throws -> [Int]
    var stats: PoolStats { get }
    func shutdown(cancelPending: Bool) async
}

private func body(_ value: Int, _ fail: Bool) throws -> Int {
    if fail { throw TestFailure(id: value) }
    return value
}

struct ThreadTestPool: TestPool {
    let pool: ThreadPool
    func submit(_ value: Int, gate: Gate?, fail: Bool) throws -> TaskHandle<Int> {
        try pool.submit {
            gate?.wait()
            return try body(value, fail)
        }
    }
    func mapDoubling(_ items: [Int]) async throws -> [Int] { try await pool.map(items) { $0 * 2 } }
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
    func mapDoubling(_ items: [Int]) async throws -> [Int] { try await pool.map(items) { _, item in item * 2 } }
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
    func mapDoubling(_ items: [Int]) async throws -> [Int] { try await pool.map(items) { $0 * 2 } }
    var stats: PoolStats { pool.stats }
    func shutdown(cancelPending: Bool) async { await pool.shutdown(cancelPending: cancelPending) }
}
