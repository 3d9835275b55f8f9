/// `.processes` mode of ``WorkerPool``: a ``ProcessPool`` of relaunched copies of the current executable (whose `main`
/// must call ``ProcessPool/runWorkerIfRequested(registry:)`` with the job types it uses).
final class ProcessBackend: Sendable {
    let pool: ProcessPool
    var workerCount: Int { pool.workerCount }
    var workersReplaced: Int { pool.stats.workersReplaced }

    init(workers: Int?) async throws {
        pool = try ProcessPool(configuration: ProcessPool.Configuration(workers: workers))
    }

    func run<J: Job>(_ job: J) async throws -> J.Output { try await pool.run(job) }
    func map<J: Job>(_ jobs: [J]) async throws -> [J.Output] { try await pool.map(jobs) }
    func shutdown(cancelPending: Bool) async { await pool.shutdown(cancelPending: cancelPending) }
}
