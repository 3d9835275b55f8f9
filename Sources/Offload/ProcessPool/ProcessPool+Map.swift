extension ProcessPool: JobExecutor {
    /// Queues a job and returns a handle to its output; see ``submit(_:)``.
    /// - Parameters:
    ///   - job: the job; its type must be registered in the worker's ``JobRegistry``.
    ///   - options: per-call overrides.
    /// - Returns: a handle to the job's output.
    /// - Throws: as ``submit(_:)``.
    public func submit<J: Job>(_ job: J, options: JobOptions) throws(OffloadError) -> TaskHandle<J.Output> {
        if options.timeout != nil {
            throw OffloadError.invalidArgument("per-call timeouts are not supported by this build of ProcessPool")
        }
        return try submit(job)
    }

    /// Queues several jobs as one task (one frame, one result frame): the unit of automatic batching.
    /// - Parameters:
    ///   - jobs: the jobs.
    ///   - options: per-call overrides.
    /// - Returns: a handle to one outcome per job.
    /// - Throws: as ``submit(_:)``.
    public func submitBatch<J: Job>(
        _ jobs: [J],
        options: JobOptions
    ) throws(OffloadError) -> TaskHandle<BatchResults<J.Output>> {
        if options.timeout != nil {
            throw OffloadError.invalidArgument("per-call timeouts are not supported by this build of ProcessPool")
        }
        return try submitBatch(jobs)
    }
}

/// A batch's sink: decodes the worker's `[Output]` into ``BatchResults``.
final class ValuesBatchSink<Output: Sendable & Decodable>: TaskSink {
    let completion: TaskCompletion<BatchResults<Output>>

    init(completion: TaskCompletion<BatchResults<Output>>) {
        self.completion = completion
    }

    func start() -> Bool { completion.tryStart() }

    func decode(_ payload: [UInt8]) -> (succeeded: Bool, finish: @Sendable () -> Void) {
        let completion = self.completion
        do throws(OffloadError) {
            let values = try JobCodec.decode([Output].self, from: payload)
            return (true, { completion.finish(.success(BatchResults(values: values))) })
        } catch {
            return (false, { completion.finish(.failure(error)) })
        }
    }

    func fail(_ error: OffloadError) {
        completion.finish(.failure(error))
    }

    func cancelIfPending(then: (_ withdrawn: Bool) -> Void) -> Bool { completion.cancelIfPending(then: then) }

    var isCancelled: Bool {
        if case .cancelled = completion.cell.phase { return true }
        return false
    }
}
