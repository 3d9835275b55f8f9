import Logging
@testable import Offload
import OffloadLogging
import OffloadTestJobs
import Testing

/// The swift-log view of the pools' life cycle, captured by an in-memory handler: levels, messages, metadata.
@Suite(.serialized, .timeLimit(.minutes(1)))
struct LoggingTests {
    static func logger(_ store: RecordingLogHandler.Store) -> Logger {
        Logger(label: "offload-test") { _ in RecordingLogHandler(store: store) }
    }

    @Test("a worker crash is an error with its signal and last stderr lines, then the replacement is a notice")
    func crashIsLogged() async throws {
        let store = RecordingLogHandler.Store()
        let token = OffloadLogging.bootstrap(logger: Self.logger(store))
        defer { PoolObservation.remove(token) }
        let name = uniquePoolName("log-crash")
        let pool = try ProcessPool(configuration: TestWorker.configuration(workers: 1, name: name))
        try await pool.waitUntilReady()
        await #expect(throws: OffloadError.self) { try await pool.run(Die(.sigkill, lastWords: "goodbye, parent")) }
        #expect(try await pool.run(Square(4)) == 16)
        await pool.shutdown()

        let records = store.records(pool: name)
        let crash = try #require(records.first { $0.metadata["worker.cause"] == "crashed" })
        #expect(crash.level == .error)
        #expect(crash.message == "worker crashed: killed by SIGKILL")
        #expect(crash.metadata["worker.signal"] == "SIGKILL")
        #expect(crash.metadata["executor"] == "processes" && crash.metadata["workers"] == "1")
        guard case .array(let tail)? = crash.metadata["worker.stderr"] else {
            Issue.record("no stderr tail in \(crash.metadata)")
            return
        }
        #expect(tail.contains(.string("goodbye, parent")))
        let replaced = try #require(records.first { $0.message == "worker replaced" })
        #expect(replaced.level == .notice)
        #expect(replaced.metadata["worker.index"] == "0")
        // The new worker's process ID: not the crashed one's.
        #expect(replaced.metadata["worker.pid"] != nil && replaced.metadata["worker.pid"] != crash.metadata["worker.pid"])
        #expect(crash.metadata["worker.pid"] != nil && crash.metadata["worker.index"] == "0")
        #expect(records.first?.message == "worker started" && records.first?.level == .debug)
        #expect(records.filter { $0.message == "pool started" }.count == 1)
        #expect(records.last?.message == "pool shut down" && records.last?.level == .info)
        // Every worker that started ended, and each end was logged once.
        #expect(records.filter { $0.message == "worker started" }.count == 2)
        #expect(records.filter { $0.metadata["worker.cause"] != nil }.count == 2)
    }

    @Test("a timeout and a memory limit are warnings naming their cause")
    func killsAreWarnings() async throws {
        let store = RecordingLogHandler.Store()
        let token = OffloadLogging.bootstrap(logger: Self.logger(store))
        defer { PoolObservation.remove(token) }
        let name = uniquePoolName("log-kill")
        let pool = try ProcessPool(
            configuration: TestWorker.configuration(workers: 1, name: name) { configuration in
                configuration.memoryLimitBytes = 64 << 20
                configuration.memoryPollInterval = .milliseconds(20)
            }
        )
        await #expect(throws: OffloadError.self) {
            try await pool.run(Sleep(milliseconds: 20_000), options: JobOptions(timeout: .milliseconds(200)))
        }
        await #expect(throws: OffloadError.self) { try await pool.run(Allocate(megabytes: 256)) }
        await pool.shutdown()

        let records = store.records(pool: name)
        let timeout = try #require(records.first { $0.metadata["worker.cause"] == "timed_out" })
        #expect(timeout.level == .warning && timeout.message == "worker killed: a job ran past its timeout")
        #expect(timeout.metadata["worker.signal"] == "SIGKILL")
        let memory = try #require(records.first { $0.metadata["worker.cause"] == "memory_limit" })
        #expect(memory.level == .warning && memory.message == "worker killed: over its memory limit")
    }

    @Test("a worker that served its quota is recycled, logged at debug level")
    func recyclingIsDebug() async throws {
        let store = RecordingLogHandler.Store()
        let token = OffloadLogging.bootstrap(logger: Self.logger(store))
        defer { PoolObservation.remove(token) }
        let name = uniquePoolName("log-recycle")
        let pool = try ProcessPool(
            configuration: TestWorker.configuration(workers: 1, name: name) { $0.maxTasksPerWorker = 2 }
        )
        for value in 0..<3 { #expect(try await pool.run(Square(value)) == value * value) }
        await pool.shutdown()

        let records = store.records(pool: name)
        let recycled = try #require(records.first { $0.metadata["worker.cause"] == "recycled" })
        #expect(recycled.level == .debug && recycled.message == "worker recycled after its task quota")
        #expect(recycled.metadata["worker.exit_status"] == "0")
    }

    @Test("a thread pool logs that it started and shut down, nothing per task")
    func threadPoolLifecycle() async throws {
        let store = RecordingLogHandler.Store()
        let token = OffloadLogging.bootstrap(logger: Self.logger(store))
        defer { PoolObservation.remove(token) }
        let name = uniquePoolName("log-threads")
        let pool = try ThreadPool(workers: 2, name: name)
        _ = try await pool.map(0..<1_000) { $0 * 2 }
        await pool.shutdown()
        let messages = store.records(pool: name).map(\.message)
        #expect(messages == ["pool started", "pool shut down"])
        #expect(store.records(pool: name).first?.metadata["executor"] == "threads")
        #expect(store.records(pool: name).allSatisfy { $0.metadata["workers"] == "2" && $0.level == .info })

        let isolatedName = uniquePoolName("log-isolated")
        let isolated = try IsolatedPool<Int>(workers: 1, name: isolatedName) { 0 }
        _ = try await isolated.run(()) { state, _ in state += 1; return state }
        await isolated.shutdown()
        let isolatedRecords = store.records(pool: isolatedName)
        #expect(isolatedRecords.map(\.message) == ["pool started", "pool shut down"])
        #expect(isolatedRecords.allSatisfy { $0.metadata["executor"] == "isolated" && $0.metadata["workers"] == "1" })
    }

    @Test("an async runner of its own (WorkerPool .io) logs its start and shutdown with its limit, nothing per task")
    func asyncRunnerLifecycle() async throws {
        let store = RecordingLogHandler.Store()
        let token = OffloadLogging.bootstrap(logger: Self.logger(store))
        defer { PoolObservation.remove(token) }
        let pool = try WorkerPool(mode: .io(maxConcurrency: 3), name: uniquePoolName("log-io"))
        guard case .async(let runner) = pool.engine else {
            Issue.record("not the async runner")
            return
        }
        _ = try await pool.map(0..<100) { $0 * 2 }
        await pool.shutdown()
        await pool.shutdown()  // idempotent: logged once
        let records = store.records(pool: runner.name)
        #expect(records.map(\.message) == ["pool started", "pool shut down"])
        #expect(records.allSatisfy { $0.level == .info })
        #expect(records.allSatisfy { $0.metadata["executor"] == "async" && $0.metadata["workers"] == "3" })
    }
}
