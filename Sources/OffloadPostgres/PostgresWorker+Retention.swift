import OffloadCore
import PostgresNIO
import Synchronization

// Retention: finished jobs older than `Configuration.retention` are deleted, at most once per `cleanupInterval`
// across all workers of the schema, in batches, on the completion connection.
extension PostgresWorker {
    /// Rows per `DELETE`: small enough that a completion queued behind it waits only a few milliseconds.
    static let cleanupBatchRows: Int32 = 5_000

    func retentionLoop() async {
        guard let retention = configuration.retention else { return }
        while !Task.isCancelled {
            do { try await Task.sleep(for: configuration.cleanupInterval) } catch { return }
            _ = try? await cleanUpIfDue(retention: retention)
        }
    }

    /// Deletes finished jobs older than `retention` if no worker did so within the cleanup interval.
    /// - Returns: the rows deleted, or `nil` when another worker's cleanup is recent enough.
    func cleanUpIfDue(retention: Duration) async throws -> Int? {
        let claim = PostgresQuery(unsafeSQL: sql.claimCleanup, binds: binds(configuration.cleanupInterval.milliseconds))
        let due = try await completeConnection.run { connection in
            for try await _ in try await connection.query(claim, logger: Connector.logger) { return true }
            return false
        }
        guard due else { return nil }
        let delete = PostgresQuery(
            unsafeSQL: sql.deleteFinished,
            binds: binds(retention.milliseconds, Self.cleanupBatchRows)
        )
        var total = 0
        while !Task.isCancelled {
            let deleted = try await completeConnection.run { connection in
                for try await count in try await connection.query(delete, logger: Connector.logger).decode(Int.self) {
                    return count
                }
                return 0
            }
            total += deleted
            if deleted < Int(Self.cleanupBatchRows) { break }
        }
        state.withLock(self) { state in
            state.statistics.cleanups += 1
            state.statistics.deleted += total
        }
        return total
    }
}
