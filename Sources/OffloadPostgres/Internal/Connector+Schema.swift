import OffloadCore
import PostgresNIO

extension Connector {
    /// A connection to a database whose schema this code can use: migrated first when `settings.migrateOnStart`,
    /// otherwise checked to be at the current version (``OffloadError/Code/schemaTooNew`` or a missing schema throws).
    /// The connection is closed when the schema step fails. Submitters and workers start this way.
    static func connectToCurrentSchema(_ settings: PostgresSettings, purpose: String) async throws(OffloadError)
        -> PostgresConnection
    {
        let server = settings.endpoint.serverDescription
        let connection = try await connect(settings, purpose: purpose)
        do throws(OffloadError) {
            if settings.migrateOnStart {
                _ = try await PostgresSchema.migrate(on: connection, schema: settings.schema, server: server)
            } else {
                try await PostgresSchema.requireCurrent(on: connection, schema: settings.schema, server: server)
            }
        } catch {
            try? await connection.close()
            throw error
        }
        return connection
    }
}
