/// A pool that can be shut down: what the scoped `with…Pool` functions need.
protocol ShutdownablePool: Sendable {
    func shutdown(cancelPending: Bool) async
}

extension ThreadPool: ShutdownablePool {}
extension IsolatedPool: ShutdownablePool {}
extension WorkerPool: ShutdownablePool {}
extension ProcessPool: ShutdownablePool {}

/// Runs `body` with `pool` and always shuts the pool down afterwards: draining when `body` returns, cancelling
/// pending work when it throws. The body of every `with…Pool` function (Python's `with Executor() as pool:`).
func withScopedPool<Pool: ShutdownablePool, R>(_ pool: Pool, _ body: (Pool) async throws -> R) async throws -> R {
    do {
        let result = try await body(pool)
        await pool.shutdown(cancelPending: false)
        return result
    } catch {
        await pool.shutdown(cancelPending: true)
        throw error
    }
}
