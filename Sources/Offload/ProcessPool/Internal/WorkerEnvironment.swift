import OffloadSystem

/// How a parent tells a spawned executable that it is a worker: environment variables plus inherited descriptors
/// 3 (commands in) and 4 (results out). Both are needed, so a stray variable in a user's shell cannot turn an ordinary
/// run into a worker.
enum WorkerEnvironment {
    /// The parent's PID: marks worker mode and lets the worker check it was not orphaned before PR_SET_PDEATHSIG.
    static let parentKey = "OFFLOAD_WORKER_PARENT"
    /// Type name of the initializer to run before saying hello (optional).
    static let initializerKey = "OFFLOAD_WORKER_INITIALIZER"
    /// The initializer's encoded value, in hexadecimal (present with ``initializerKey``).
    static let initializerArgumentKey = "OFFLOAD_WORKER_INITIALIZER_VALUE"
    /// Largest frame payload the worker accepts.
    static let maxFrameKey = "OFFLOAD_WORKER_MAX_FRAME"
    /// Swift's backtracer setting (see ``ProcessPool/Configuration/fullBacktraces``).
    static let backtraceKey = "SWIFT_BACKTRACE"
    /// The fast setting: no backtracer process. A crashing worker then ends in milliseconds, still printing the
    /// runtime's one-line fatal error message.
    static let fastBacktrace = "enable=no"
    static let commandFD: Int32 = 3
    static let resultFD: Int32 = 4
    /// Exit status of an executable that reached `ProcessPool.init` in worker mode (EX_CONFIG).
    static let entryPointMissingStatus: Int32 = 78

    static func value(_ key: String) -> String? {
        Syscalls.environmentValue(key)
    }

    /// Whether this process was started as a worker and has not yet entered the worker loop.
    static var isWorkerRequested: Bool {
        guard value(parentKey) != nil else { return false }
        return Syscalls.isOpen(commandFD) && Syscalls.isOpen(resultFD)
    }

    static func clear() {
        for key in [parentKey, initializerKey, initializerArgumentKey, maxFrameKey, ForkServer.roleKey] {
            Syscalls.removeEnvironmentValue(key)
        }
    }

    /// `KEY=value` strings for a worker: the configured or inherited environment without stale worker keys, the
    /// overrides, the backtracer setting, then this worker's keys.
    static func build(_ configuration: ProcessPool.Configuration, inherited: [String], parentPID: Int32) -> [String] {
        var values: [String: String] = [:]
        var order: [String] = []
        func set(_ key: String, _ value: String) {
            if values.updateValue(value, forKey: key) == nil { order.append(key) }
        }
        if let environment = configuration.environment {
            for key in environment.keys.sorted() { set(key, environment[key] ?? "") }
        } else {
            for entry in inherited {
                guard let equals = entry.firstIndex(of: "=") else { continue }
                set(String(entry[..<equals]), String(entry[entry.index(after: equals)...]))
            }
        }
        for key in configuration.environmentOverrides.keys.sorted() {
            set(key, configuration.environmentOverrides[key] ?? "")
        }
        if !configuration.fullBacktraces, configuration.environmentOverrides[backtraceKey] == nil,
            configuration.environment?[backtraceKey] == nil
        {
            set(backtraceKey, fastBacktrace)
        }
        var pairs = order.filter { !$0.hasPrefix("OFFLOAD_WORKER_") }.map { "\($0)=\(values[$0] ?? "")" }
        pairs.append("\(parentKey)=\(parentPID)")
        pairs.append("\(maxFrameKey)=\(configuration.maxFramePayload)")
        // `validate()` encoded the initializer when the pool was created; encoding is deterministic, so it cannot
        // fail here.
        if let initializer = configuration.initializer, let encoded = try? EncodedWorkerInitializer(initializer) {
            pairs.append("\(initializerKey)=\(encoded.name)")
            pairs.append("\(initializerArgumentKey)=\(encoded.hexPayload)")
        }
        return pairs
    }

    /// The initializer this worker was asked to run, or a description of why its value is unreadable.
    static func requestedInitializer() -> RequestedInitializer {
        guard let name = value(initializerKey) else { return .none }
        guard let encoded = EncodedWorkerInitializer(name: name, hexPayload: value(initializerArgumentKey) ?? "") else {
            return .unreadable(
                RemoteFailure(
                    code: .workerInitializationFailed,
                    message: "the initializer \(name) reached the worker unreadable (\(initializerArgumentKey))"
                )
            )
        }
        return .run(encoded)
    }

    /// What the parent asked a worker to run before its first job.
    enum RequestedInitializer {
        case none
        case run(EncodedWorkerInitializer)
        case unreadable(RemoteFailure)
    }
}
