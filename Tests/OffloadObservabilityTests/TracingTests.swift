import InMemoryTracing
import Offload
import OffloadTestJobs
import OffloadTracing
import Testing
import Tracing

/// Spans per task, read back from swift-distributed-tracing's in-memory tracer, and the trace context crossing into a
/// worker process (whose own in-memory tracer the job reads).
@Suite(.serialized, .timeLimit(.minutes(1)))
struct TracingTests {
    @Test("a job's span in the worker process is a child of the submitter's task span, in the caller's trace")
    func contextCrossesTheProcessBoundary() async throws {
        let tracer = InMemoryTracer()
        OffloadTracing.bootstrap(tracer: tracer)
        defer { OffloadTracing.shutdown() }
        let name = uniquePoolName("trace-processes")
        let pool = try ProcessPool(configuration: TestWorker.configuration(workers: 1, name: name))
        let root = tracer.startSpan("test root")
        let seen = try await ServiceContext.$current.withValue(root.context) {
            try await pool.map([SpanContextSeen(), SpanContextSeen()], chunkSize: 2)
        }
        root.end()
        await pool.shutdown()

        let task = try #require(tracer.finishedSpans.first { $0.operationName == "offload.task SpanContextSeen" })
        #expect(task.traceID == root.context.inMemorySpanContext?.traceID)
        #expect(task.spanContext.parentSpanID == root.context.inMemorySpanContext?.spanID)
        #expect(task.attributes["offload.pool"]?.toSpanAttribute() == .string(name))
        #expect(task.attributes["offload.items"]?.toSpanAttribute() == .int64(2))
        #expect(task.attributes["offload.completed"]?.toSpanAttribute() == .int64(2))
        #expect(task.attributes["offload.failed"]?.toSpanAttribute() == .int64(0))
        // Both jobs ran inside one run span (the worker's), whose parent is the task span.
        for context in seen {
            #expect(context.count == 3)
            #expect(context.first == task.traceID)
            #expect(context.last == task.spanID)
        }
        #expect(seen[0] == seen[1])
    }

    @Test("an untraced pool sends no context: the worker's job runs outside any span")
    func untracedRunsOutsideSpans() async throws {
        let name = uniquePoolName("trace-off")
        let pool = try ProcessPool(configuration: TestWorker.configuration(workers: 1, name: name))
        #expect(try await pool.run(SpanContextSeen()) == [])
        await pool.shutdown()
    }

    @Test("a thread pool's task has a task span and a run span; a failing job is counted on the task span")
    func threadPoolSpans() async throws {
        let tracer = InMemoryTracer()
        OffloadTracing.bootstrap(tracer: tracer)
        defer { OffloadTracing.shutdown() }
        let name = uniquePoolName("trace-threads")
        let pool = try ThreadPool(workers: 1, name: name)
        let results = try await pool.mapResults([Check(1, fails: false), Check(2, fails: true)], chunkSize: 2)
        #expect(results.count == 2)
        await pool.shutdown()

        let spans = tracer.finishedSpans
        let task = try #require(spans.first { $0.operationName == "offload.task Check" && $0.attributes["offload.pool"]?.toSpanAttribute() == .string(name) })
        let run = try #require(spans.first { $0.operationName == "offload.run Check" && $0.spanContext.parentSpanID == task.spanID })
        #expect(run.traceID == task.traceID)
        #expect(task.attributes["offload.completed"]?.toSpanAttribute() == .int64(1))
        #expect(task.attributes["offload.failed"]?.toSpanAttribute() == .int64(1))
    }
}
