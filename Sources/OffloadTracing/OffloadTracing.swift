import OffloadCore
import Tracing

/// Every Offload task as swift-distributed-tracing spans: one line in the submitting program and one in the worker
/// executable, after your tracer is bootstrapped.
///
/// ```swift
/// InstrumentationSystem.bootstrap(tracer)                    // OpenTelemetry, Zipkin, …
/// OffloadTracing.bootstrap()
/// ```
///
/// A task — one job, or one chunk of a map — gets a span `offload.task <JobName>` (kind `producer`) from the moment it
/// is submitted until its result is in, a child of the caller's `ServiceContext.current`. Where it runs, its run gets
/// a span `offload.run <JobName>` (kind `consumer`), a child of the task span: in a worker process too, because the
/// task span's context is injected into the job's frame and extracted in the worker. The gap between the two spans'
/// starts is the time the task waited in the queue. Attributes: `offload.pool`, `offload.job`, `offload.items`,
/// and at the end `offload.completed` and `offload.failed`; a task that failed as a whole records its error.
public enum OffloadTracing {
    /// Starts tracing every executor's tasks with `tracer` (by default `InstrumentationSystem.tracer`).
    /// - Parameter tracer: the tracer.
    public static func bootstrap(tracer: (any Tracer)? = nil) {
        JobTracing.bootstrap(DistributedJobTracer(tracer: tracer))
    }

    /// Stops tracing.
    public static func shutdown() {
        JobTracing.bootstrap(nil)
    }
}

/// The ``JobTracer`` behind ``OffloadTracing``.
struct DistributedJobTracer: JobTracer {
    let explicit: (any Tracer)?

    init(tracer: (any Tracer)?) {
        explicit = tracer
    }

    var tracer: any Tracer { explicit ?? InstrumentationSystem.tracer }

    func startTask(jobName: String, items: Int, pool: String) -> any JobTaskSpan {
        let tracer = self.tracer
        let span = tracer.startSpan("offload.task \(jobName)", context: ServiceContext.current ?? .topLevel, ofKind: .producer)
        span.attributes["offload.pool"] = pool
        span.attributes["offload.job"] = jobName
        span.attributes["offload.items"] = items
        var carrier: [String: String] = [:]
        tracer.inject(span.context, into: &carrier, using: DictionaryInjector())
        return DistributedTaskSpan(span: span, carrier: carrier)
    }

    func withRunSpan<T>(jobName: String, items: Int, carrier: [String: String], _ body: () throws -> T) rethrows -> T {
        let tracer = self.tracer
        var parent = ServiceContext.current ?? .topLevel
        tracer.extract(carrier, into: &parent, using: DictionaryExtractor())
        return try tracer.withSpan("offload.run \(jobName)", context: parent, ofKind: .consumer) { span in
            span.attributes["offload.job"] = jobName
            if items > 0 { span.attributes["offload.items"] = items }
            return try body()
        }
    }
}

/// A task span: a swift-distributed-tracing span and the context injected from it.
struct DistributedTaskSpan: JobTaskSpan {
    let span: any Span
    let carrier: [String: String]

    func end(completed: Int, failed: Int, error: (any Error)?) {
        span.attributes["offload.completed"] = completed
        span.attributes["offload.failed"] = failed
        if let error {
            span.recordError(error)
            span.setStatus(SpanStatus(code: .error))
        }
        span.end()
    }
}

struct DictionaryInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) {
        carrier[key] = value
    }
}

struct DictionaryExtractor: Extractor {
    func extract(key: String, from carrier: [String: String]) -> String? {
        carrier[key]
    }
}
