import Offload
import PostgresNIO

extension PostgresQueue: JobExecutor {
    /// How many chunks of a map the queue keeps in flight is sized from this: sixteen, because jobs run on however
    /// many workers are attached to the database, which the submitter does not know.
    public var workerCount: Int { 16 }

    /// Queues a job with the queue's default options, overriding its timeout when `options` sets one.
    /// - Parameters:
    ///   - job: the job.
    ///   - options: per-call overrides (the timeout of one attempt).
    /// - Returns: a handle to the job's result.
    /// - Throws: as ``submit(_:)``.
    public func submit<J: Job>(_ job: J, options: JobOptions) throws(OffloadError) -> TaskHandle<J.Output> {
        try submit(job, options: postgresOptions(options))
    }

    /// Queues several jobs in one insert, each its own row (retried, timed out and cancelled on its own); the handle
    /// ends when every job is final, with one outcome per job.
    /// - Parameters:
    ///   - jobs: the jobs.
    ///   - options: per-call overrides (the timeout of each job's attempts).
    /// - Returns: one outcome per job, in order.
    /// - Throws: as ``submit(_:)``.
    public func submitBatch<J: Job>(
        _ jobs: [J],
        options: JobOptions
    ) throws(OffloadError) -> TaskHandle<BatchResults<J.Output>> {
        let options = postgresOptions(options)
        var rows: [InsertRow] = []
        rows.reserveCapacity(jobs.count)
        for job in jobs { rows.append(try makeRow(job, options: options)) }
        let completion = TaskCompletion<BatchResults<J.Output>>()
        let canceller = JobCanceller(queue: self)
        let count = jobs.count
        try accept(jobs: count)
        let trace = TraceCarrier.start(
            jobName: J.jobName,
            items: count,
            pool: tracePool,
            tracer: configuration.tracer,
            completion: completion
        )
        if trace.readableBytes > 0 {
            for index in rows.indices { rows[index].trace = trace }
        }
        let request = InsertRequest(rows: rows) { [self] result in
            switch result {
            case .success(let ids):
                canceller.setIDs(ids.map(\.0))
                awaitOutcomes(J.Output.self, ids: ids.map(\.0)) { completion.finish(.success($0)) }
            case .failure(let error):
                countFinished(.failure(error), jobs: count)
                completion.finish(.failure(error))
            }
        }
        canceller.attach(request) { completion.cancelIfPending() }
        enqueueInsert(request)
        return TaskHandle(completion: completion, canceller: canceller)
    }

    private func postgresOptions(_ options: JobOptions) -> PostgresJobOptions {
        var result = configuration.defaultOptions
        if let timeout = options.timeout { result.timeout = timeout }
        return result
    }
}
