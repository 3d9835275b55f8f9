/// Work each worker process does once, before its first job: opening a database handle, loading a model, warming a
/// cache. A typed value like a ``Job``: its stored properties are its arguments, encoded with ``JobCodec`` and decoded
/// in the worker, so the compiler checks what the worker receives.
///
/// ```swift
/// struct LoadModel: WorkerInitializer {
///     var path: String
///     func initializeWorker() throws { try Model.shared.load(path) }
/// }
///
/// // In every executable that can be a worker, before anything else:
/// var registry = JobRegistry(Classify.self)
/// registry.register(initializer: LoadModel.self)
/// ProcessPool.runWorkerIfRequested(registry: registry)
///
/// // In the parent:
/// var configuration = ProcessPool.Configuration(workers: 4)
/// configuration.initializer = LoadModel(path: "/models/small")
/// let pool = try ProcessPool(configuration: configuration)
/// ```
///
/// Python mapping: `ProcessPoolExecutor(initializer=load_model, initargs=("/models/small",))`, with the function and
/// its arguments made one checked value.
public protocol WorkerInitializer: Codable, Sendable {
    /// The name under which the type is registered and named to the worker. Defaults to the type's fully qualified
    /// name; override it to keep the name stable across renames.
    static var initializerName: String { get }

    /// Runs once in each worker, before its first job. If it throws, the pool reports
    /// ``OffloadError/Code/workerInitializationFailed`` with the error's type and description, and uses no worker.
    func initializeWorker() throws
}

extension WorkerInitializer {
    public static var initializerName: String { String(reflecting: Self.self) }
}

/// A ``WorkerInitializer`` as a worker receives it: its name and its encoded value.
package struct EncodedWorkerInitializer: Sendable, Equatable {
    package var name: String
    package var payload: [UInt8]

    package init(name: String, payload: [UInt8]) {
        self.name = name
        self.payload = payload
    }

    /// Encodes `initializer` with ``JobCodec``.
    /// - Throws: ``OffloadError/Code/encodingFailed`` when its value cannot be encoded.
    package init(_ initializer: some WorkerInitializer) throws(OffloadError) {
        self.init(name: type(of: initializer).initializerName, payload: try JobCodec.encode(initializer))
    }

    /// The payload as lowercase hexadecimal, for a channel that carries text only (an environment variable).
    package var hexPayload: String {
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        text.reserveCapacity(payload.count * 2)
        for byte in payload {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// The inverse of ``hexPayload``: `nil` for text that is not an even run of hexadecimal digits.
    package init?(name: String, hexPayload: String) {
        func nibble(_ digit: UInt8) -> UInt8? {
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
            default: return nil
            }
        }
        let digits = Array(hexPayload.utf8)
        guard digits.count.isMultiple(of: 2) else { return nil }
        var bytes = [UInt8]()
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        self.init(name: name, payload: bytes)
    }
}
