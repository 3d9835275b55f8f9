/// `.processes` mode for jobs: a scoped ``ProcessPool`` of relaunched copies of the current executable, jobs sent in
/// automatic batches (``ProcessPool/map(_:batchSize:)``).
func runJobsInProcesses<J: Job>(_ jobs: [J], workers: Int?) async throws -> [J.Output] {
    try await withProcessPool(ProcessPool.Configuration(workers: workers)) { pool in
        try await pool.map(jobs)
    }
}
