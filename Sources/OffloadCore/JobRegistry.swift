/// The job types (and initializers) a worker process can run, looked up by ``Job/jobName``.
///
/// Build one in `main`, before anything else, and hand it to ``ProcessPool/runWorkerIfRequested(registry:)``. A job
/// whose type is not registered fails with ``OffloadError/Code/unregisteredJob``; nothing in a payload is executable.
///
/// ```swift
/// var registry = JobRegistry()
/// registry.register(CountPrimes.self)
/// registry.registerInitializer("warm-cache") { try Cache.shared.load() }
/// ProcessPool.runWorkerIfRequested(registry: registry)
/// ```
///
/// Python mapping: the module-level functions that `pickle` can find by qualified name in the child.
public struct JobRegistry: Sendable {
    /// What running one `run` frame produced.
    package enum Outcome: Sendable {
        case success(output: [UInt8], runNanoseconds: UInt64)
        case failure(RemoteFailure)
    }

    package typealias Handler = @Sendable (_ payload: [UInt8], _ isBatch: Bool) -> Outcome

    private var handlers: [String: Handler] = [:]
    private var initializers: [String: @Sendable (String?) throws -> Void] = [:]

    /// Creates an empty registry.
    public init() {}

    /// Creates a registry holding `types`.
    /// - Parameter types: the job types workers may run.
    public init(_ types: any Job.Type...) {
        for type in types { register(type) }
    }

    /// The names of the registered job types.
    public var jobNames: [String] { handlers.keys.sorted() }

    /// Registers a job type under its ``Job/jobName``. Registering a name twice keeps the last type.
    /// - Parameter type: the job type.
    public mutating func register<J: Job>(_ type: J.Type) {
        handlers[J.jobName] = { payload, isBatch in
            isBatch ? JobRegistry.runBatch(J.self, payload) : JobRegistry.runOne(J.self, payload)
        }
    }

    /// Registers an initializer that a pool can ask each worker to run once, before its first job
    /// (``ProcessPool/Configuration/initializer``).
    /// - Parameters:
    ///   - name: the name the pool configuration refers to.
    ///   - body: the initializer; receives ``ProcessPool/Configuration/initializerArgument``. If it throws, the
    ///     pool reports ``OffloadError/Code/workerInitializationFailed`` and does not use the worker.
    public mutating func registerInitializer(_ name: String, _ body: @escaping @Sendable (String?) throws -> Void) {
        initializers[name] = body
    }

    /// Whether `jobName` is registered.
    /// - Parameter jobName: a ``Job/jobName``.
    /// - Returns: `true` when a worker with this registry can run the job.
    public func contains(_ jobName: String) -> Bool { handlers[jobName] != nil }

    package func handle(jobName: String, payload: [UInt8], isBatch: Bool) -> Outcome {
        guard let handler = handlers[jobName] else {
            return .failure(
                RemoteFailure(
                    code: .unregisteredJob,
                    message: "the worker has no job type named '\(jobName)'; register it with "
                        + "JobRegistry.register(_:) before calling ProcessPool.runWorkerIfRequested(registry:) "
                        + "(registered: \(jobNames.joined(separator: ", ")))"
                )
            )
        }
        return handler(payload, isBatch)
    }

    /// Runs the named initializer. Returns a failure to report in the worker's hello, or `nil`.
    package func runInitializer(_ name: String, argument: String?) -> RemoteFailure? {
        guard let initializer = initializers[name] else {
            return RemoteFailure(
                code: .workerInitializationFailed,
                message: "the worker has no initializer named '\(name)'; register it with "
                    + "JobRegistry.registerInitializer(_:_:)"
            )
        }
        do {
            try initializer(argument)
            return nil
        } catch {
            return RemoteFailure(
                code: .workerInitializationFailed,
                errorType: String(reflecting: type(of: error)),
                message: String(describing: error)
            )
        }
    }

    private static func runOne<J: Job>(_ type: J.Type, _ payload: [UInt8]) -> Outcome {
        let job: J
        do {
            job = try JobCodec.decode(J.self, from: payload)
        } catch {
            return .failure(
                RemoteFailure(code: .decodingFailed, errorType: error.causeType, message: error.message)
            )
        }
        let start = ContinuousClock.now
        let output: J.Output
        do {
            output = try job.run()
        } catch {
            return .failure(
                RemoteFailure(
                    code: .jobFailed,
                    errorType: String(reflecting: Swift.type(of: error)),
                    message: String(describing: error)
                )
            )
        }
        let elapsed = ContinuousClock.now.nanoseconds(since: start)
        do {
            return .success(output: try JobCodec.encode(output), runNanoseconds: elapsed)
        } catch {
            return .failure(
                RemoteFailure(code: .encodingFailed, errorType: error.causeType, message: error.message)
            )
        }
    }

    private static func runBatch<J: Job>(_ type: J.Type, _ payload: [UInt8]) -> Outcome {
        let jobs: [J]
        do {
            jobs = try JobCodec.decode([J].self, from: payload)
        } catch {
            return .failure(
                RemoteFailure(code: .decodingFailed, errorType: error.causeType, message: error.message)
            )
        }
        let start = ContinuousClock.now
        var outputs: [J.Output] = []
        outputs.reserveCapacity(jobs.count)
        for (index, job) in jobs.enumerated() {
            do {
                outputs.append(try job.run())
            } catch {
                return .failure(
                    RemoteFailure(
                        code: .jobFailed,
                        errorType: String(reflecting: Swift.type(of: error)),
                        message: String(describing: error),
                        index: index
                    )
                )
            }
        }
        let elapsed = ContinuousClock.now.nanoseconds(since: start)
        do {
            return .success(output: try JobCodec.encode(outputs), runNanoseconds: elapsed)
        } catch {
            return .failure(
                RemoteFailure(code: .encodingFailed, errorType: error.causeType, message: error.message)
            )
        }
    }
}

extension OffloadError {
    /// The type name of the wrapped error, as a remote peer reports it.
    fileprivate var causeType: String? { cause.map { String(reflecting: type(of: $0)) } }
}

extension ContinuousClock.Instant {
    /// Nanoseconds from `start` to this instant (0 if negative).
    package func nanoseconds(since start: ContinuousClock.Instant) -> UInt64 {
        let elapsed = start.duration(to: self)
        let (seconds, attoseconds) = elapsed.components
        guard seconds >= 0 else { return 0 }
        return UInt64(seconds) &* 1_000_000_000 &+ UInt64(attoseconds / 1_000_000_000)
    }
}
