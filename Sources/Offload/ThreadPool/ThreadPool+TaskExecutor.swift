extension ThreadPool: TaskExecutor {
    /// Runs a Swift job on one of the pool's threads.
    ///
    /// Called by the Swift runtime for tasks that prefer this pool (`withTaskExecutorPreference(pool) { … }`,
    /// `Task(executorPreference: pool) { … }`); not meant to be called directly. Jobs are not counted in ``stats``.
    /// Jobs keep running during shutdown; after the last thread has ended, they go to the global concurrent executor so
    /// that no task is ever stranded.
    public func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        if !core.enqueue(unowned, on: asUnownedTaskExecutor()) {
            globalConcurrentExecutor.enqueue(unowned)
        }
    }
}
