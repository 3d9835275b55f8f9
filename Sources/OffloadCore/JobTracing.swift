import Synchronization

/// Traces the tasks of every executor: a span per task (a job, or a map's chunk of jobs) from submission to result,
/// and inside it a span for the run, wherever it runs — on a pool thread or in a worker process, whose span is a
/// child of the submitter's although it lives in another process: the trace context travels with the job.
///
/// The `OffloadTracing` product implements this with swift-distributed-tracing; install it in the program that
/// submits and in the worker executable (before `ProcessPool.runWorkerIfRequested`):
///
/// ```swift
/// InstrumentationSystem.bootstrap(myTracer)
/// OffloadTracing.bootstrap()
/// ```
///
/// With no tracer installed an executor pays one atomic load per task.
public protocol JobTracer: Sendable {
    /// Starts the span of a task submitted now, as a child of the caller's current context.
    /// - Parameters:
    ///   - jobName: the job type's name (``Job/jobName``).
    ///   - items: how many jobs the task has (1 for a single job).
    ///   - pool: the executor's name.
    /// - Returns: the span, ended by the executor when the task ends.
    func startTask(jobName: String, items: Int, pool: String) -> any JobTaskSpan

    /// Runs `body` inside the span of a task's run, as a child of the task's span whose context is in `carrier`.
    /// - Parameters:
    ///   - jobName: the job type's name.
    ///   - items: how many jobs run.
    ///   - carrier: what ``JobTaskSpan/carrier`` held on the submitting side.
    ///   - body: the run.
    /// - Returns: what `body` returned.
    func withRunSpan<T>(jobName: String, items: Int, carrier: [String: String], _ body: () throws -> T) rethrows -> T
}

/// The span of one task, from submission to result.
public protocol JobTaskSpan: Sendable {
    /// The span's context as string key-values (for example W3C `traceparent`), carried with the job.
    var carrier: [String: String] { get }

    /// The task ended: `completed` jobs produced a value, `failed` failed; `error` is set when the task failed as a
    /// whole (it was cancelled, its worker crashed, it could not run).
    func end(completed: Int, failed: Int, error: (any Error)?)
}

/// The tracer every executor uses (``JobTracer``).
public enum JobTracing {
    private static let installed = Mutex<(any JobTracer)?>(nil)
    private static let isInstalled = Atomic<Bool>(false)
    /// Names `installed` to ThreadSanitizer: every submission on every thread reads it while a tracer is installed.
    private static let owner = MutexOwner()

    /// Installs `tracer` for every executor of the process (replacing the one installed before).
    /// - Parameter tracer: the tracer; `nil` stops tracing.
    public static func bootstrap(_ tracer: (any JobTracer)?) {
        installed.withLock(owner) { $0 = tracer }
        isInstalled.store(tracer != nil, ordering: .releasing)
    }

    /// The installed tracer, or `nil` (checked with one atomic load).
    public static var current: (any JobTracer)? {
        guard isInstalled.load(ordering: .acquiring) else { return nil }
        return installed.withLock(owner) { $0 }
    }

    /// Starts a task's span when a tracer is installed, and ends it when `completion` finishes.
    package static func traceTask<Value>(
        jobName: String,
        items: Int,
        pool: String,
        completion: TaskCompletion<Value>
    ) -> [String: String]? {
        guard let tracer = current else { return nil }
        let span = tracer.startTask(jobName: jobName, items: items, pool: pool)
        endSpan(span, items: items, when: completion)
        return span.carrier
    }

    /// Ends `span` when `completion` finishes, with the task's outcome counts.
    package static func endSpan<Value>(_ span: any JobTaskSpan, items: Int, when completion: TaskCompletion<Value>) {
        completion.onCompletion { result in
            switch result {
            case .success(let value):
                if let batch = value as? any BatchOutcomeCounting {
                    span.end(completed: batch.successCount, failed: batch.failureTotal, error: nil)
                } else {
                    span.end(completed: 1, failed: 0, error: nil)
                }
            case .failure(let error):
                span.end(completed: 0, failed: items, error: error)
            }
        }
    }
}

/// Outcome counts of a ``BatchResults``, whatever its output type.
package protocol BatchOutcomeCounting {
    var successCount: Int { get }
    var failureTotal: Int { get }
}

extension BatchResults: BatchOutcomeCounting {
    package var successCount: Int { count - failureCount }
    package var failureTotal: Int { failureCount }
}
