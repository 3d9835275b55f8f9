import Foundation
import InMemoryTracing
import MetricsTestKit
import Offload
import OffloadPostgres
import OffloadPostgresMetrics
import OffloadTestJobs
import OffloadTracing
import Testing
import Tracing

#if canImport(Glibc)
    import Glibc
#endif

extension PostgresTests {
    /// Results carried in notifications, trace context carried in rows, and the worker's metrics.
    @Suite("Observability and result delivery")
    struct ObservabilityTests {
        @Test("small outputs arrive inside the completion notification: no fetch; large ones and failures are fetched")
        func resultsInNotifications() async throws {
            try await withEnvironment("inline") { env in
                // A poll far longer than the test: any result not carried by a notification would have to be fetched.
                let queue = try await env.queue(pollInterval: .seconds(60))
                let ids = try await queue.enqueueBatch((0..<500).map { Square($0) })
                var handles: [TaskHandle<Int>] = []
                for id in ids { handles.append(try await queue.handle(for: id, as: Square.self)) }
                let big = try await queue.enqueue(BigOutput(bytes: 1_000))
                let failing = try await queue.enqueue(Fail("no"))
                // Nothing has run yet: the handles' initial checks found no finished row.
                let before = queue.resultStatistics
                #expect(before.fetched == 0)

                let worker = try await env.worker(threads: true)
                let running = Task { try await worker.run() }
                for (index, handle) in handles.enumerated() { #expect(try await handle.value == index * index) }
                #expect(try await big.value == [UInt8](repeating: 7, count: 1_000))
                await #expect(throws: OffloadError.self) { try await failing.value }
                worker.shutdown()
                try await running.value

                let after = queue.resultStatistics
                #expect(after.fromNotifications == 500, "\(after)")
                // Only the 1,000-byte output and the failure were read back from their rows.
                #expect(after.fetched == 2, "\(after)")
                #expect(after.notifications >= 1)
                await queue.shutdown()
                #expect(try await env.invariantViolations(expectedJobs: 502) == [])
            }
        }

        @Test("many results in one completion statement are split over several notifications, none lost")
        func manyResultsSplitOverNotifications() async throws {
            try await withEnvironment("inline_split") { env in
                let queue = try await env.queue(pollInterval: .seconds(60))
                // Outputs of 150 bytes: about 320 bytes an entry, so a batch of 1,000 needs dozens of notifications.
                let ids = try await queue.enqueueBatch((0..<1_000).map { _ in BigOutput(bytes: 150) })
                var handles: [TaskHandle<[UInt8]>] = []
                for id in ids { handles.append(try await queue.handle(for: id, as: BigOutput.self)) }
                let worker = try await env.worker(threads: true) { $0.claimBatch = 500 }
                let running = Task { try await worker.run() }
                for handle in handles { #expect(try await handle.value.count == 150) }
                worker.shutdown()
                try await running.value
                let statistics = queue.resultStatistics
                #expect(statistics.fromNotifications == 1_000, "\(statistics)")
                #expect(statistics.fetched == 0, "\(statistics)")
                await queue.shutdown()
            }
        }

        @Test("a job submitted inside a span runs in a child span on a worker process: the context travels in the row")
        func traceContextThroughTheRow() async throws {
            try await withEnvironment("trace") { env in
                let tracer = InMemoryTracer()
                let queue = try await env.queue { $0.tracer = OffloadTracing.jobTracer(tracer: tracer) }
                _ = try await env.spawnWorker(["--threads", "--trace", "--name", "traced"])
                let request = tracer.startSpan("request")
                let seen = try await ServiceContext.$current.withValue(request.context) {
                    try await queue.run(SpanContextSeen())
                }
                let mapped = try await ServiceContext.$current.withValue(request.context) {
                    try await queue.map([SpanContextSeen(), SpanContextSeen()], chunkSize: 2)
                }
                request.end()
                let untraced = try await queue.run(SpanContextSeen())
                await queue.shutdown()

                let requestContext = try #require(request.context.inMemorySpanContext)
                let tasks = tracer.finishedSpans.filter { $0.operationName == "offload.task SpanContextSeen" }
                #expect(tasks.count == 3)
                let single = try #require(
                    tasks.first {
                        $0.attributes["offload.items"]?.toSpanAttribute() == .int64(1)
                            && $0.spanContext.parentSpanID == requestContext.spanID
                    }
                )
                let chunk = try #require(
                    tasks.first { $0.attributes["offload.items"]?.toSpanAttribute() == .int64(2) }
                )
                #expect(single.traceID == requestContext.traceID)
                #expect(single.attributes["offload.pool"]?.toSpanAttribute() == .string("postgres:\(env.schema)"))
                #expect(single.attributes["offload.completed"]?.toSpanAttribute() == .int64(1))
                // The worker process ran the job in a span of its own whose parent is the task span (a job run
                // outside any span reports [], see noTracerNoContext).
                #expect(seen.count == 3)
                #expect(seen[0] == requestContext.traceID)
                #expect(seen[2] == single.spanID)
                for context in mapped {
                    #expect(context.first == requestContext.traceID)
                    #expect(context.last == chunk.spanID)
                }
                // With no caller span the task span starts a new trace; the worker still runs the job in its child.
                let third = try #require(tasks.first { $0.spanContext.parentSpanID == nil })
                #expect(untraced.first == third.traceID && untraced.last == third.spanID)
                #expect(try await env.int("SELECT count(*) FROM \(env.jobs) WHERE trace_context IS NULL") == 0)
            }
        }

        @Test("without a tracer nothing is stored and the job runs outside any span")
        func noTracerNoContext() async throws {
            try await withEnvironment("trace_off") { env in
                let queue = try await env.queue()
                _ = try await env.spawnWorker(["--threads", "--trace"])
                #expect(try await queue.run(SpanContextSeen()) == [])
                #expect(try await env.int("SELECT count(*) FROM \(env.jobs) WHERE trace_context IS NOT NULL") == 0)
                await queue.shutdown()
            }
        }

        @Test("metrics: a SIGSTOPped worker's jobs count as lost leases where they are rescued, its late completions as rejected")
        func lostLeasesAndRejectedCompletions() async throws {
            try await withEnvironment("metrics") { env in
                try await env.installAudit()
                let queue = try await env.queue()
                let a = try await env.spawnWorker([
                    "--threads", "--metrics", "--local-workers", "6", "--lease-ms", "1500", "--heartbeat-ms", "500",
                    "--grace-ms", "8000", "--name", "a",
                ])
                let jobs = try (0..<12).map { _ in try queue.submit(Sleep(milliseconds: 600)) }
                try await env.eventually("worker a holds jobs") {
                    try await env.int("SELECT count(*) FROM \(env.jobs) WHERE state = 'running' AND worker_id = 'a'") >= 4
                }
                a.signal(SIGSTOP)
                let metrics = TestMetrics()
                let b = try await env.worker(threads: true) { configuration in
                    configuration.lease = .milliseconds(1_500)
                    configuration.heartbeatInterval = .milliseconds(500)
                    configuration.observer = PostgresMetricsObserver(factory: metrics)
                }
                let running = Task { try await b.run() }
                for job in jobs { #expect(try await job.value == 600) }
                // Every job a held when it stopped ran a second attempt, on b.
                let rescued = try await env.int("SELECT count(*) FROM \(env.jobs) WHERE attempt = 2")
                #expect(rescued >= 4)
                #expect(metrics.counterTotal(label: "offload_postgres_lost_leases_total") == Int64(rescued))
                #expect(
                    metrics.counterTotal(
                        label: "offload_postgres_lost_leases_total",
                        dimensions: [("queue", "default")]
                    ) == Int64(rescued)
                )
                #expect(b.statistics.rescued == rescued)
                #expect(metrics.counterTotal(label: "offload_postgres_claimed_total") == Int64(b.statistics.claimed))
                #expect(
                    metrics.counterTotal(label: "offload_postgres_jobs_total", dimensions: [("outcome", "completed")])
                        == Int64(b.statistics.completed)
                )
                #expect(metrics.counterTotal(label: "offload_postgres_rejected_completions_total") == 0)

                // a wakes up and is told to stop: what it still held is no longer its own. Its shutdown waits for
                // those jobs (the grace period outlasts them); each late completion it sends is fenced out and
                // counted; a job whose loss a heartbeat noticed first is abandoned instead.
                a.signal(SIGCONT)
                a.signal(SIGTERM)
                #expect(await a.waitForExit(timeout: .seconds(15)) == 0)
                let summary = a.output
                let rejected = FaultTests.number("rejected", in: summary)
                #expect(FaultTests.number("metric_rejected", in: summary) == rejected, "\(summary)")
                #expect(rejected + FaultTests.number("abandoned", in: summary) == rescued, "\(summary)")
                #expect(FaultTests.number("metric_completed", in: summary) == FaultTests.number("completed", in: summary))

                // The depth gauge: sampled with each heartbeat; nothing is left waiting or running.
                try await env.eventually("the depth gauge reads 0 running") {
                    metrics.recorders.first {
                        $0.label == "offload_postgres_queue_depth" && $0.dimensions.contains { $0 == ("state", "running") }
                    }?.lastValue == 0
                }
                b.shutdown()
                try await running.value
                await queue.shutdown()
                #expect(try await env.invariantViolations(expectedJobs: 12) == [])
            }
        }

        @Test("the queue depth gauge counts waiting and running jobs by queue")
        func queueDepthGauge() async throws {
            try await withEnvironment("depth") { env in
                let queue = try await env.queue()
                _ = try await queue.enqueueBatch(
                    (0..<7).map { _ in Sleep(milliseconds: 1) },
                    options: PostgresJobOptions(queue: "later", delay: .seconds(3_600))
                )
                let metrics = TestMetrics()
                let worker = try await env.worker(threads: true) { configuration in
                    configuration.queues = ["default", "later"]
                    configuration.heartbeatInterval = .milliseconds(200)
                    configuration.observer = PostgresMetricsObserver(factory: metrics)
                }
                let running = Task { try await worker.run() }
                func depth(_ queue: String, _ state: String) -> Double? {
                    metrics.recorders.first {
                        $0.label == "offload_postgres_queue_depth"
                            && $0.dimensions.contains { $0 == ("queue", queue) }
                            && $0.dimensions.contains { $0 == ("state", state) }
                    }?.lastValue
                }
                try await env.eventually("the gauge was sampled") { depth("later", "available") != nil }
                #expect(depth("later", "available") == 7)
                #expect(depth("later", "running") == 0)
                #expect(depth("default", "available") == 0)
                // Never a job ID among the dimensions: only queue and state.
                for recorder in metrics.recorders where recorder.label == "offload_postgres_queue_depth" {
                    #expect(Set(recorder.dimensions.map(\.0)) == ["queue", "state"])
                }
                worker.shutdown()
                try await running.value
                await queue.shutdown()
            }
        }
    }
}
