import OffloadCore
import Tracing

extension OffloadTracing {
    /// A ``JobTracer`` writing swift-distributed-tracing spans to `tracer`, for one executor rather than the whole
    /// process: set it as `PostgresQueue.Configuration.tracer` to trace one queue's jobs (through their rows, to the
    /// workers that run them) without ``bootstrap(tracer:)``.
    /// - Parameter tracer: the tracer (by default `InstrumentationSystem.tracer`).
    /// - Returns: the job tracer.
    public static func jobTracer(tracer: (any Tracer)? = nil) -> any JobTracer {
        DistributedJobTracer(tracer: tracer)
    }
}
