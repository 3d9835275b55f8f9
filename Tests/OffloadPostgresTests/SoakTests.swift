import Foundation
import Offload
import OffloadPostgres
import OffloadSystem
import OffloadTestJobs
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension PostgresTests {
    @Suite("Soak")
    struct SoakTests {
        /// `OFFLOAD_PG_SOAK_JOBS` sets the number of jobs (default 100,000; 10,000 under ThreadSanitizer).
        ///
        /// The suite's three-minute limit applies (of several time limits the shortest wins). Under ThreadSanitizer the
        /// worker processes are instrumented too: 100,000 jobs took over two minutes on a quiet 2-core machine, and
        /// 25,000 took two and a half on a busy one, where faults and restarts slow the whole queue down. A tenth of
        /// the jobs still meets faults of every kind.
        static var jobCount: Int {
            Int(ProcessInfo.processInfo.environment["OFFLOAD_PG_SOAK_JOBS"] ?? "")
                ?? (ThreadSanitizer.isActive ? 10_000 : 100_000)
        }

        @Test("jobs under random faults (SIGKILL, SIGSTOP, terminated sessions): none lost, none completed twice")
        func soak() async throws {
            try await withEnvironment("soak") { env in
                try await env.installAudit()
                let queue = try await env.queue {
                    $0.defaultOptions.maxAttempts = 50
                }
                let arguments = ["--lease-ms", "1500", "--heartbeat-ms", "500", "--poll-ms", "200"]
                var workers = [
                    try await env.spawnWorker(arguments + ["--name", "w0"]),
                    try await env.spawnWorker(arguments + ["--name", "w1"]),
                ]
                let count = Self.jobCount
                let jobs = (0..<count).map { Square($0 % 10_000) }
                let results = Task { try await queue.map(jobs, chunkSize: 1_000) }
                var generator = SystemRandomNumberGenerator()
                var faults: [String: Int] = [:]
                var spawned = 2
                while try await env.int("SELECT count(*) FROM \(env.jobs) WHERE state = 'completed'") < count {
                    try await Task.sleep(for: .milliseconds(Int.random(in: 300...900, using: &generator)))
                    let victim = Int.random(in: 0..<workers.count, using: &generator)
                    switch Int.random(in: 0..<3, using: &generator) {
                    case 0:
                        workers[victim].signal(SIGKILL)
                        _ = await workers[victim].waitForExit(timeout: .seconds(10))
                        workers[victim] = try await env.spawnWorker(arguments + ["--name", "w\(spawned)"])
                        spawned += 1
                        faults["SIGKILL", default: 0] += 1
                    case 1:
                        workers[victim].signal(SIGSTOP)
                        try await Task.sleep(for: .milliseconds(2_000))
                        workers[victim].signal(SIGCONT)
                        faults["SIGSTOP past the lease", default: 0] += 1
                    default:
                        try await env.execute(
                            """
                            SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                            WHERE application_name LIKE 'offload-worker%' AND random() < 0.5
                            """
                        )
                        faults["pg_terminate_backend", default: 0] += 1
                    }
                }
                let outputs = try await results.value
                #expect(outputs == jobs.map { $0.x * $0.x })
                let retried = try await env.int("SELECT count(*) FROM \(env.jobs) WHERE attempt > 1")
                print("soak: \(count) jobs, faults \(faults.sorted { $0.key < $1.key }), \(retried) jobs ran more than once")
                #expect(faults.values.reduce(0, +) >= 3)
                await queue.shutdown()
                let violations = try await env.invariantViolations(expectedJobs: count)
                #expect(violations == [])
                #expect(try await env.int("SELECT count(*) FROM \"\(env.schema)\".audit") == count)
            }
        }
    }
}
