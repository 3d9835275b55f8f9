/// Runs `body` with a new ``ProcessPool`` of `workers` relaunched copies of this executable and shuts the pool down
/// when `body` returns or throws (draining queued work when it returns, cancelling it when it throws).
///
/// - Parameters:
///   - workers: number of worker processes (`nil`: ``WorkerCount/available``).
///   - body: the code that uses the pool.
/// - Returns: what `body` returns.
/// - Throws: what ``ProcessPool/init(configuration:)`` or `body` throws.
///
/// Python mapping: `with ProcessPoolExecutor(max_workers) as pool:`.
@discardableResult
public func withProcessPool<R>(
    workers: Int? = nil,
    _ body: (ProcessPool) async throws -> R
) async throws -> R {
    try await withProcessPool(configuration: ProcessPool.Configuration(workers: workers), body)
}

/// Runs `body` with a new ``ProcessPool`` made from `configuration` and shuts the pool down when `body` returns or
/// throws (draining queued work when it returns, cancelling it when it throws).
///
/// - Parameters:
///   - configuration: the pool's configuration.
///   - body: the code that uses the pool.
/// - Returns: what `body` returns.
/// - Throws: what ``ProcessPool/init(configuration:)`` or `body` throws.
@discardableResult
public func withProcessPool<R>(
    configuration: ProcessPool.Configuration,
    _ body: (ProcessPool) async throws -> R
) async throws -> R {
    try await withScopedPool(try ProcessPool(configuration: configuration), body)
}
