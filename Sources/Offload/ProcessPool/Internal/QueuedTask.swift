/// A job (or batch) waiting in the pool's queue or in flight to a worker.
struct QueuedTask: Sendable {
    let id: UInt64
    let jobName: String
    let isBatch: Bool
    let payload: [UInt8]
    let isIdempotent: Bool
    let sink: any TaskSink
    /// A short description of the job, built only when an error needs it.
    let describe: @Sendable () -> String
    /// Runs so far that ended with the worker dying (retries of idempotent jobs).
    var attempts = 0
    /// Set when the task was sent to a worker that died before starting it: it is requeued without `start()`.
    var alreadyStarted = false
}
