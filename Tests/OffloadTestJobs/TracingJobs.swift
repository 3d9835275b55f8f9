import InMemoryTracing
import Offload
import Tracing

/// Reports the span context it runs in, as the in-memory tracer sees it: `[traceID, spanID, parentSpanID]`, or `[]`
/// outside any span. Shows that a worker process's span of a job is a child of the submitter's span.
public struct SpanContextSeen: Job {
    public static var jobName: String { "SpanContextSeen" }
    public init() {}
    public func run() throws -> [String] {
        guard let span = ServiceContext.current?.inMemorySpanContext else { return [] }
        return [span.traceID, span.spanID, span.parentSpanID ?? ""]
    }
}
