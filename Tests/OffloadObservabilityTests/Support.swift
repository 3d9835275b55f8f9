import Logging
import Offload
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The OffloadTestWorker executable, built next to the test bundle.
enum TestWorker {
    static var path: String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let exe = String(decoding: buffer[..<max(0, count)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return String(exe[..<(exe.lastIndex(of: "/") ?? exe.endIndex)]) + "/OffloadTestWorker"
    }

    static func configuration(
        workers: Int = 1,
        name: String,
        _ adjust: (inout ProcessPool.Configuration) -> Void = { _ in }
    ) -> ProcessPool.Configuration {
        var configuration = ProcessPool.Configuration(workers: workers, executable: path)
        configuration.name = name
        // OFFLOAD_TEST_START_METHOD=spawn / forkserver runs these pools on one start method, as it does in OffloadTests.
        switch getenv("OFFLOAD_TEST_START_METHOD").map({ String(cString: $0) }) {
        case "spawn": configuration.startMethod = .spawn
        case "forkserver": configuration.startMethod = .forkServer
        default: break
        }
        configuration.forwardWorkerStderr = false
        configuration.shutdownGracePeriod = .seconds(1)
        adjust(&configuration)
        return configuration
    }
}

/// A pool name no other test uses: observers are process-wide, so each test looks only at its own pool.
func uniquePoolName(_ prefix: String) -> String {
    "\(prefix)-\(UInt32.random(in: 0...UInt32.max))"
}

/// An in-memory swift-log handler: every record, with its level and metadata.
struct RecordingLogHandler: LogHandler {
    struct Record: Sendable {
        let level: Logger.Level
        let message: String
        let metadata: Logger.Metadata
    }

    final class Store: Sendable {
        private let records = Mutex<[Record]>([])
        func append(_ record: Record) { records.withLock { $0.append(record) } }
        var all: [Record] { records.withLock { $0 } }

        /// The records about pool `name`.
        func records(pool name: String) -> [Record] {
            all.filter { $0.metadata["pool"] == .string(name) }
        }
    }

    let store: Store
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        store.append(Record(level: event.level, message: "\(event.message)", metadata: merged))
    }
}

/// Events of one pool, collected by an observer installed for the test's duration.
final class EventRecorder: PoolObserver {
    let pool: String
    private let events = Mutex<[PoolEvent]>([])
    private let reports = Mutex<[PoolReport]>([])

    init(pool: String) { self.pool = pool }

    func poolEvent(_ event: PoolEvent) {
        if event.pool == pool { events.withLock { $0.append(event) } }
    }

    func poolReport(_ report: PoolReport) {
        if report.pool == pool { reports.withLock { $0.append(report) } }
    }

    var allEvents: [PoolEvent] { events.withLock { $0 } }
    var allReports: [PoolReport] { reports.withLock { $0 } }
}
