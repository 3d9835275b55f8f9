import Offload
import OffloadTestJobs
import Testing

/// Every executor that runs ``Job``s, for behaviour written once against ``JobExecutor`` (CPython's
/// `create_executor_tests`). Two workers each.
enum ExecutorKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case threadPool
    case workerPoolThreads
    case processPool
    case processPoolSharedMemory
    case processPoolForkServer
    case workerPoolProcesses

    var testDescription: String { rawValue }

    /// Every kind; the fork-server pool unless `OFFLOAD_TEST_FORK_SERVER=0` (see ``TestWorker/forkServerTestsEnabled``).
    static var allCases: [ExecutorKind] {
        [.threadPool, .workerPoolThreads, .processPool, .processPoolSharedMemory, .workerPoolProcesses]
            + (TestWorker.forkServerTestsEnabled ? [.processPoolForkServer] : [])
    }

    func make() throws -> any JobExecutor {
        switch self {
        case .threadPool: return try ThreadPool(workers: 2)
        case .workerPoolThreads: return try WorkerPool(mode: .threads(workers: 2))
        case .processPool:
            return try ProcessPool(configuration: TestWorker.configuration(workers: 2, transport: .pipes) { $0.startMethod = .spawn })
        case .processPoolSharedMemory:
            return try ProcessPool(
                configuration: TestWorker.configuration(workers: 2, transport: .sharedMemory) { $0.startMethod = .spawn }
            )
        case .processPoolForkServer:
            return try ProcessPool(configuration: TestWorker.configuration(workers: 2) { $0.startMethod = .forkServer })
        case .workerPoolProcesses: return try WorkerPool(processes: TestWorker.configuration(workers: 2))
        }
    }

    /// Whether a job's error arrives as a ``OffloadError/Code/jobFailed`` naming the remote error (processes) rather
    /// than carrying the original error as its cause (in-process).
    var isRemote: Bool {
        self == .processPool || self == .processPoolSharedMemory || self == .processPoolForkServer
            || self == .workerPoolProcesses
    }
}
