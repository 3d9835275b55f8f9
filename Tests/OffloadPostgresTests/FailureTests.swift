import Offload
import OffloadPostgres
import OffloadTestJobs
import PostgresNIO
import Testing

/// A job no worker registers.
struct NobodyRunsThis: Job {
    static var jobName: String { "NobodyRunsThis" }
    var value: Int
    func run() throws -> Int { value }
}

extension PostgresTests {
    @Suite("Failures come back typed")
    struct FailureTests {
        @Test("a job that throws fails with jobFailed, the remote type and message, after its attempts")
        func thrownError() async throws {
            try await withEnvironment("thrown") { env in
                let queue = try await env.queue()
                let worker = try await env.worker()
                let running = Task { try await worker.run() }
                var options = PostgresJobOptions(maxAttempts: 3)
                options.queue = "default"
                let job = try await queue.enqueue(Fail("disk full"), options: options)
                let error = try await #require(throws: OffloadError.self) { try await job.value }
                #expect(error.code == .jobFailed)
                #expect(error.message == "disk full")
                #expect(error.remoteErrorType == "OffloadTestJobs.TestJobError")
                #expect(try await env.int("SELECT attempt FROM \(env.jobs) WHERE id = \(job.id)") == 3)
                #expect(try await env.int("SELECT count(*) FROM \(env.jobs) WHERE state = 'failed'") == 1)
                worker.shutdown()
                try await running.value
                await queue.shutdown()
                let violations = try await env.invariantViolations(expectedJobs: 1)
                #expect(violations == [])
            }
        }

        @Test("a job that crashes its process costs its attempt, with the signal and stderr, never the worker")
        func crash() async throws {
            try await withEnvironment("crash") { env in
                let queue = try await env.queue()
                let worker = try await env.worker()
                let running = Task { try await worker.run() }
                let crash = try await queue.enqueue(
                    Die(.sigkill, lastWords: "last words before SIGKILL"),
                    options: PostgresJobOptions(maxAttempts: 2)
                )
                let squares = try await queue.map((0..<50).map { Square($0) })
                #expect(squares.count == 50)
                let error = try await #require(throws: OffloadError.self) { try await crash.value }
                #expect(error.code == .workerCrashed)
                #expect(error.termination == .signaled(9))
                #expect(error.workerStderr.contains { $0.contains("last words before SIGKILL") })
                #expect(try await env.int("SELECT attempt FROM \(env.jobs) WHERE id = \(crash.id)") == 2)
                // The worker is fine.
                #expect(try await queue.run(Square(12)) == 144)
                worker.shutdown()
                try await running.value
                await queue.shutdown()
                let violations = try await env.invariantViolations(expectedJobs: 52)
                #expect(violations == [])
            }
        }

        @Test("a job over its timeout has its process killed and fails with taskTimedOut")
        func timeout() async throws {
            try await withEnvironment("timeout") { env in
                let queue = try await env.queue()
                let worker = try await env.worker()
                let running = Task { try await worker.run() }
                let job = try await queue.enqueue(
                    Sleep(milliseconds: 20_000),
                    options: PostgresJobOptions(maxAttempts: 1, timeout: .milliseconds(300))
                )
                let error = try await #require(throws: OffloadError.self) { try await job.value }
                #expect(error.code == .taskTimedOut)
                #expect(try await queue.run(Square(5)) == 25)
                worker.shutdown()
                try await running.value
                await queue.shutdown()
                let violations = try await env.invariantViolations(expectedJobs: 2)
                #expect(violations == [])
            }
        }

        @Test("a row the codec cannot decode fails that job with decodingFailed, never the worker")
        func undecodable() async throws {
            try await withEnvironment("decode") { env in
                let queue = try await env.queue()
                let worker = try await env.worker()
                let running = Task { try await worker.run() }
                try await env.execute(
                    "INSERT INTO \(env.jobs) (queue, job_name, payload, max_attempts) VALUES ('default', 'Square', '\\xdeadbeef', 3)"
                )
                let id = try await env.int("SELECT max(id) FROM \(env.jobs)")
                let handle = try await queue.handle(for: Int64(id), as: Square.self)
                let error = try await #require(throws: OffloadError.self) { try await handle.value }
                #expect(error.code == .decodingFailed)
                // Decoding cannot succeed on a retry: one attempt only.
                #expect(try await env.int("SELECT attempt FROM \(env.jobs) WHERE id = \(id)") == 1)
                #expect(try await queue.run(Square(4)) == 16)
                worker.shutdown()
                try await running.value
                await queue.shutdown()
                let violations = try await env.invariantViolations(expectedJobs: 2)
                #expect(violations == [])
            }
        }

        @Test("a job type no worker knows stays queued, and status says so")
        func unclaimable() async throws {
            try await withEnvironment("unknown") { env in
                let queue = try await env.queue()
                let worker = try await env.worker()
                let running = Task { try await worker.run() }
                let stranded = try await queue.enqueue(NobodyRunsThis(value: 1))
                #expect(try await queue.run(Square(2)) == 4)
                try await env.eventually("the worker registered") {
                    try await queue.status().workers.contains { $0.isLive }
                }
                let status = try await queue.status()
                #expect(status.unclaimable["NobodyRunsThis"] == 1)
                #expect(status.queues.first { $0.name == "default" }?.available == 1)
                #expect(try await env.int("SELECT attempt FROM \(env.jobs) WHERE id = \(stranded.id)") == 0)
                #expect(try await queue.cancel(id: stranded.id) == .withdrawn)
                await #expect(throws: CancellationError.self) { try await stranded.value }
                worker.shutdown()
                try await running.value
                await queue.shutdown()
                let violations = try await env.invariantViolations(expectedJobs: 2)
                #expect(violations == [])
            }
        }

        @Test("a payload over the limit is rejected at submit")
        func payloadLimit() async throws {
            try await withEnvironment("payload") { env in
                let queue = try await env.queue { $0.maxPayloadBytes = 1_000 }
                let error = try #require(throws: OffloadError.self) {
                    _ = try queue.submit(Fail(String(repeating: "x", count: 5_000)))
                }
                #expect(error.code == .payloadTooLarge)
                #expect(error.message.contains("over the limit of 1000 bytes"))
                await queue.shutdown()
                #expect(try await env.int("SELECT count(*) FROM \(env.jobs)") == 0)
            }
        }

        @Test("bad options are rejected with a message naming the option")
        func badOptions() async throws {
            try await withEnvironment("options") { env in
                let queue = try await env.queue()
                for (options, word) in [
                    (PostgresJobOptions(maxAttempts: 0), "maxAttempts"),
                    (PostgresJobOptions(queue: ""), "queue"),
                    (PostgresJobOptions(delay: .seconds(-1)), "delay"),
                    (PostgresJobOptions(timeout: .zero), "timeout"),
                    (PostgresJobOptions(uniqueKey: ""), "uniqueKey"),
                ] {
                    let error = try #require(throws: OffloadError.self) { _ = try queue.submit(Square(1), options: options) }
                    #expect(error.code == .invalidArgument)
                    #expect(error.message.contains(word))
                }
                await queue.shutdown()
            }
        }
    }
}
