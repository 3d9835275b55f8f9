import Glibc

/// How a parent tells a spawned executable that it is a worker: environment variables plus inherited descriptors
/// 3 (commands in) and 4 (results out). Both are needed, so a stray variable in a user's shell cannot turn an ordinary
/// run into a worker.
enum WorkerEnvironment {
    /// The parent's PID: marks worker mode and lets the worker check it was not orphaned before PR_SET_PDEATHSIG.
    static let parentKey = "OFFLOAD_WORKER_PARENT"
    /// Name of the initializer to run before saying hello (optional).
    static let initializerKey = "OFFLOAD_WORKER_INITIALIZER"
    /// Argument for the initializer (optional).
    static let initializerArgumentKey = "OFFLOAD_WORKER_INITIALIZER_ARGUMENT"
    /// Largest frame payload the worker accepts.
    static let maxFrameKey = "OFFLOAD_WORKER_MAX_FRAME"
    static let commandFD: Int32 = 3
    static let resultFD: Int32 = 4
    /// Exit status of an executable that reached `ProcessPool.init` in worker mode (EX_CONFIG).
    static let entryPointMissingStatus: Int32 = 78

    static func value(_ key: String) -> String? {
        guard let raw = getenv(key) else { return nil }
        return String(cString: raw)
    }

    /// Whether this process was started as a worker and has not yet entered the worker loop.
    static var isWorkerRequested: Bool {
        guard value(parentKey) != nil else { return false }
        return fcntl(commandFD, F_GETFD) >= 0 && fcntl(resultFD, F_GETFD) >= 0
    }

    static func clear() {
        for key in [parentKey, initializerKey, initializerArgumentKey, maxFrameKey] { unsetenv(key) }
    }
}
