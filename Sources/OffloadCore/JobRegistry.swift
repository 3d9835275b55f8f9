/// The job types (and initializers) a worker process can run, looked up by ``Job/jobName``.
///
/// Build one in `main`, before anything else, and hand it to ``ProcessPool/runWorkerIfRequested(registry:)``. A job
/// whose type is not registered fails with ``OffloadError/Code/unregisteredJob``; nothing in a payload is executable.
///
/// ```swift
/// var registry = JobRegistry()
/// registry.register(CountPrimes.self)
/// registry.register(initializer: WarmCache.self)
/// ProcessPool.runWorkerIfRequested(registry: registry)
/// ```
///
/// Python mapping: the module-level functions that `pickle` can find by qualified name in the child.
public struct JobRegistry: Sendable {
    /// What running one job produced.
    package enum Outcome: Sendable {
        case success(output: [UInt8], runNanoseconds: UInt64)
        case failure(RemoteFailure)
    }

    /// How running a batch ended; the items' own outcomes went to the ``BatchObserver`` one by one.
    package enum BatchOutcome: Sendable, Equatable {
        /// Every item from the first one asked for has an outcome; `count` is the batch's size.
        case finished(count: Int, runNanoseconds: UInt64)
        /// The observer stopped the batch before item `atItem` (it was cancelled).
        case stopped(atItem: Int)
        /// The batch could not run at all: its payload could not be decoded, or its type is not registered.
        case failed(RemoteFailure)
    }

    package typealias Handler = @Sendable (_ payload: [UInt8]) -> Outcome
    package typealias BatchHandler =
        @Sendable (
            _ payload: [UInt8], _ firstItem: Int, _ observer: any BatchObserver
        ) -> BatchOutcome

    private var handlers: [String: Handler] = [:]
    private var batchHandlers: [String: BatchHandler] = [:]
    private var initializers: [String: @Sendable (_ payload: [UInt8]) -> RemoteFailure?] = [:]

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
        handlers[J.jobName] = { payload in JobRegistry.runOne(J.self, payload) }
        batchHandlers[J.jobName] = { payload, firstItem, observer in
            JobRegistry.runBatch(J.self, payload, firstItem: firstItem, observer: observer)
        }
    }

    /// Registers a ``WorkerInitializer`` type under its ``WorkerInitializer/initializerName``, so a pool whose
    /// ``ProcessPool/Configuration/initializer`` is a value of that type can have each worker run it once, before its
    /// first job. Registering a name twice keeps the last type.
    /// - Parameter type: the initializer type.
    public mutating func register<I: WorkerInitializer>(initializer type: I.Type) {
        initializers[I.initializerName] = { payload in JobRegistry.runInitializer(I.self, payload) }
    }

    /// Whether `jobName` is registered.
    /// - Parameter jobName: a ``Job/jobName``.
    /// - Returns: `true` when a worker with this registry can run the job.
    public func contains(_ jobName: String) -> Bool { handlers[jobName] != nil }

    /// Decodes, runs and encodes one job.
    package func handle(jobName: String, payload: [UInt8]) -> Outcome {
        guard let handler = handlers[jobName] else { return .failure(unregistered(jobName)) }
        return handler(payload)
    }

    /// Decodes a batch and runs its items from `firstItem` on, reporting each item's outcome to `observer` as soon as
    /// it is known (a failing item does not stop the batch).
    package func runBatch(
        jobName: String,
        payload: [UInt8],
        firstItem: Int,
        observer: any BatchObserver
    ) -> BatchOutcome {
        guard let handler = batchHandlers[jobName] else { return .failed(unregistered(jobName)) }
        return handler(payload, firstItem, observer)
    }

    private func unregistered(_ jobName: String) -> RemoteFailure {
        RemoteFailure(
            code: .unregisteredJob,
            message: "the worker has no job type named '\(jobName)'; register it with "
                + "JobRegistry.register(_:) before calling ProcessPool.runWorkerIfRequested(registry:) "
                + "(registered: \(jobNames.joined(separator: ", ")))"
        )
    }

    /// Decodes and runs an initializer. Returns a failure to report in the worker's hello, or `nil`.
    package func runInitializer(_ initializer: EncodedWorkerInitializer) -> RemoteFailure? {
        guard let run = initializers[initializer.name] else {
            let known = initializers.keys.sorted()
            return RemoteFailure(
                code: .workerInitializationFailed,
                message: "the worker has no initializer type named '\(initializer.name)'; register it with "
                    + "JobRegistry.register(initializer:) before calling ProcessPool.runWorkerIfRequested(registry:)"
                    + " (registered: \(known.isEmpty ? "none" : known.joined(separator: ", ")))"
            )
        }
        return run(initializer.payload)
    }

    private static func runInitializer<I: WorkerInitializer>(_ type: I.Type, _ payload: [UInt8]) -> RemoteFailure? {
        do {
            let initializer = try JobCodec.decode(I.self, from: payload)
            do {
                try initializer.initializeWorker()
                return nil
            } catch {
                return RemoteFailure(
                    code: .workerInitializationFailed,
                    errorType: String(reflecting: Swift.type(of: error)),
                    message: String(describing: error)
                )
            }
        } catch {
            return RemoteFailure(
                code: .workerInitializationFailed,
                errorType: error.causeType,
                message: "the initializer \(I.initializerName) could not be decoded: \(error.message)"
            )
        }
    }

    private static func runOne<J: Job>(_ type: J.Type, _ payload: [UInt8]) -> Outcome {
        let job: J
        do {
            job = try JobCodec.decode(J.self, from: payload)
        } catch {
            return .failure(RemoteFailure(code: .decodingFailed, errorType: error.causeType, message: error.message))
        }
        let start = ContinuousClock.now
        let output: J.Output
        do {
            output = try job.run()
        } catch {
            return .failure(threw(error))
        }
        let elapsed = ContinuousClock.now.nanoseconds(since: start)
        do {
            return .success(output: try JobCodec.encode(output), runNanoseconds: elapsed)
        } catch {
            return .failure(RemoteFailure(code: .encodingFailed, errorType: error.causeType, message: error.message))
        }
    }

    private static func runBatch<J: Job>(
        _ type: J.Type,
        _ payload: [UInt8],
        firstItem: Int,
        observer: any BatchObserver
    ) -> BatchOutcome {
        let jobs: [J]
        do {
            jobs = try JobCodec.decode([J].self, from: payload)
        } catch {
            return .failed(RemoteFailure(code: .decodingFailed, errorType: error.causeType, message: error.message))
        }
        guard firstItem >= 0, firstItem <= jobs.count else {
            return .failed(
                RemoteFailure(
                    code: .decodingFailed,
                    message: "asked to start at item \(firstItem) of a batch of \(jobs.count)"
                )
            )
        }
        let start = ContinuousClock.now
        // One encoder state for the whole batch: each output's bytes are appended, handed over, then dropped. The
        // concatenation of the outputs is exactly the body of an encoded `[Output]`.
        var state = BinaryEncodingState()
        // Every item's output is encoded the way the first one's type was decided. Plain data (the standard numbers
        // included) is its bytes: the first output of this run as a `fixed` value with the type's fingerprint, every
        // later one as `fixedRepeat` (one tag byte, then the bytes), read back as the elements of an `[Output]` in one
        // pass. Anything else goes through `Codable`.
        var decision: FixedLayoutDecision?
        var fingerprintSent = false
        for index in firstItem..<jobs.count {
            guard observer.willRun(item: index) else { return .stopped(atItem: index) }
            let output: J.Output
            do {
                output = try jobs[index].run()
            } catch {
                observer.failed(item: index, threw(error))
                continue
            }
            if decision == nil { decision = BinaryFixedLayout.decision(for: J.Output.self, sample: output) }
            if case .fixed = decision, fingerprintSent {
                observer.succeeded(item: index, repeatedFixed: output)
                continue
            }
            state.bytes.removeAll(keepingCapacity: true)
            do {
                try state.encodeItem(output, decision ?? .general)
            } catch {
                state = BinaryEncodingState()
                observer.failed(
                    item: index,
                    RemoteFailure(
                        code: .encodingFailed,
                        errorType: String(reflecting: Swift.type(of: error)),
                        message: "could not encode \(String(reflecting: J.Output.self)): \(error)"
                    )
                )
                continue
            }
            if case .fixed = decision { fingerprintSent = true }
            state.bytes.withUnsafeBytes { observer.succeeded(item: index, output: $0) }
        }
        return .finished(count: jobs.count, runNanoseconds: ContinuousClock.now.nanoseconds(since: start))
    }

    private static func threw(_ error: any Error) -> RemoteFailure {
        RemoteFailure(
            code: .jobFailed,
            errorType: String(reflecting: Swift.type(of: error)),
            message: String(describing: error)
        )
    }
}

/// Receives the outcome of each item of a batch as it runs
/// (``JobRegistry/runBatch(jobName:payload:firstItem:observer:)``): a process pool's worker records them where its
/// parent finds them even if a later item crashes the process.
package protocol BatchObserver: AnyObject {
    /// Called before item `index` runs. Returning `false` stops the batch there (it was cancelled).
    func willRun(item index: Int) -> Bool
    /// Item `index` returned; `output` is its encoding (valid only during the call).
    func succeeded(item index: Int, output: UnsafeRawBufferPointer)
    /// Item `index` threw, or its output could not be encoded.
    func failed(item index: Int, _ failure: RemoteFailure)
}

extension BatchObserver {
    /// Item `index` returned `output`, a plain-data value whose fingerprint an earlier output of the batch carried:
    /// reported as its `fixedRepeat` encoding (a tag byte and the value's bytes), built on the stack.
    @inline(__always)
    func succeeded<Output>(item index: Int, repeatedFixed output: Output) {
        let size = MemoryLayout<Output>.size
        withUnsafeTemporaryAllocation(byteCount: 1 + size, alignment: 1) { buffer in
            buffer[0] = BinaryTag.fixedRepeat
            withUnsafeBytes(of: output) { value in
                UnsafeMutableRawBufferPointer(rebasing: buffer[1...]).copyMemory(from: value)
            }
            succeeded(item: index, output: UnsafeRawBufferPointer(buffer))
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
