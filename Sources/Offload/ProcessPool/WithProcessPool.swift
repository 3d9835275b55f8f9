/// Runs `body` with a new ``ProcessPool`` and shuts the pool down when `body` returns or throws (draining queued
/// work when it returns, cancelling it when it throws).
///
/// - Parameters:
///   - configuration: the pool's configuration.
///   - body: the code that uses the pool.
/// - Returns: what `body` returns.
/// - Throws: what ``ProcessPool/init(configuration:)`` or `body` throws.
///
/// Python mapping: `with ProcessPoolExecutor() as pool:`.
public func withProcessPool<R>(
    _ configuration: ProcessPool.Configuration = ProcessPool.Configuration(),
    _ body: (ProcessPool) async throws -> R
) async throws -> R {
    try await withScopedPool(try ProcessPool(configuration: configuration), body)
}
