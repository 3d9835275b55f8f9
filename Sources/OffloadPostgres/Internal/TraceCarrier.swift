import OffloadCore
import PostgresNIO

/// The trace context that travels in a job's row (`trace_context`, schema version 3): the submitting task span's
/// carrier (``JobTaskSpan/carrier``, for example W3C `traceparent`) encoded with ``JobCodec``; empty when no tracer is
/// installed, stored as `NULL`.
enum TraceCarrier {
    /// Starts the task span of jobs submitted now (when a tracer is installed; ended when `completion` finishes) and
    /// returns its encoded context, or an empty buffer.
    static func start<Value>(
        jobName: String,
        items: Int,
        pool: String,
        tracer: (any JobTracer)?,
        completion: TaskCompletion<Value>
    ) -> ByteBuffer {
        guard let tracer = tracer ?? JobTracing.current else { return ByteBuffer() }
        let span = tracer.startTask(jobName: jobName, items: items, pool: pool)
        JobTracing.endSpan(span, items: items, when: completion)
        let carrier = span.carrier
        guard !carrier.isEmpty, let bytes = try? JobCodec.encode(carrier) else { return ByteBuffer() }
        return ByteBuffer(bytes: bytes)
    }

    /// The carrier read back from a claimed row; `nil` for none (or one that does not decode: tracing never fails a
    /// job).
    static func decode(_ buffer: ByteBuffer?) -> [String: String]? {
        guard let buffer, buffer.readableBytes > 0 else { return nil }
        return try? JobCodec.decode([String: String].self, from: Array(buffer.readableBytesView))
    }

    /// Runs `body` in the run span of a job whose row carried `carrier` (a child of the submitter's task span), or
    /// plainly when there is no carrier or no tracer.
    static func run<T>(jobName: String, carrier: [String: String]?, _ body: () -> T) -> T {
        guard let carrier, let tracer = JobTracing.current else { return body() }
        return tracer.withRunSpan(jobName: jobName, items: 1, carrier: carrier, body)
    }
}
