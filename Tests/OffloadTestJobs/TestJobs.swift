import Offload

#if canImport(Glibc)
    import Glibc
#endif

/// Writes straight to descriptor 2 (unbuffered, so the text is out before the worker dies).
func writeToStderr(_ text: String) {
    var text = text
    text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

/// A real invalid memory access (raise(SIGSEGV) would be swallowed by the Swift runtime's backtracer).
func segfault() {
    let address = UnsafeMutablePointer<Int>(bitPattern: 8)
    address?.pointee = 1
}

/// Sum of every `stride`-th value: what the shared-memory and inline jobs compute, so their results can be compared.
func stridedSum(_ values: UnsafeBufferPointer<Double>, stride: Int) -> Double {
    var total = 0.0
    var index = 0
    while index < values.count {
        total += values[index]
        index += stride
    }
    return total
}

/// The error test jobs throw.
public struct TestJobError: Error, CustomStringConvertible {
    public let text: String
    public init(_ text: String) { self.text = text }
    public var description: String { text }
}

/// x → x * x.
public struct Square: Job, Equatable {
    public static var jobName: String { "Square" }
    public static var isIdempotent: Bool { true }
    public var x: Int
    public init(_ x: Int) { self.x = x }
    public func run() throws -> Int { x * x }
}

/// Returns the worker's PID (recycling tests).
public struct WorkerPID: Job {
    public static var jobName: String { "WorkerPID" }
    public init() {}
    public func run() throws -> Int32 { getpid() }
}

/// Throws `TestJobError(message)`.
public struct Fail: Job {
    public static var jobName: String { "Fail" }
    public var message: String
    public init(_ message: String) { self.message = message }
    public func run() throws -> Int { throw TestJobError(message) }
}

/// Writes a line to stderr, then dies in the chosen way.
public struct Die: Job {
    public enum Mode: String, Codable, Sendable, CaseIterable {
        case fatalError, sigkill, sigsegv, exit
    }
    public static var jobName: String { "Die" }
    public var mode: Mode
    public var lastWords: String
    public init(_ mode: Mode, lastWords: String = "about to die") {
        self.mode = mode
        self.lastWords = lastWords
    }

    public func run() throws -> Int {
        writeToStderr("\(lastWords)\n")
        switch mode {
        case .fatalError: fatalError("Die job asked for fatalError")
        case .sigkill: raise(SIGKILL)
        case .sigsegv: segfault()
        case .exit: exit(7)
        }
        return 0
    }
}

/// Sleeps (timeout tests: a hang the pool must cut short).
public struct Sleep: Job {
    public static var jobName: String { "Sleep" }
    public var milliseconds: Int
    public init(milliseconds: Int) { self.milliseconds = milliseconds }
    public func run() throws -> Int {
        usleep(UInt32(milliseconds) * 1_000)
        return milliseconds
    }
}

/// Allocates and touches `megabytes`, then holds the memory for up to `holdSeconds`.
public struct Allocate: Job {
    public static var jobName: String { "Allocate" }
    public static var isIdempotent: Bool { true }
    public var megabytes: Int
    public var holdSeconds: Int
    public init(megabytes: Int, holdSeconds: Int = 20) {
        self.megabytes = megabytes
        self.holdSeconds = holdSeconds
    }
    public func run() throws -> Int {
        let size = megabytes << 20
        guard let memory = malloc(size) else { throw TestJobError("malloc failed") }
        memset(memory, 1, size)
        for _ in 0..<(holdSeconds * 100) { usleep(10_000) }
        free(memory)
        return megabytes
    }
}

/// Returns `bytes` bytes (larger than the pipe buffer).
public struct BigOutput: Job {
    public static var jobName: String { "BigOutput" }
    public var bytes: Int
    /// When set, the worker writes only this many bytes of the result frame, then kills itself.
    public var dieAfterWriting: Int?
    public init(bytes: Int, dieAfterWriting: Int? = nil) {
        self.bytes = bytes
        self.dieAfterWriting = dieAfterWriting
    }
    public func run() throws -> [UInt8] {
        if let dieAfterWriting { ProcessPool.testHookDieAfterWritingBytes(dieAfterWriting) }
        return [UInt8](repeating: 7, count: bytes)
    }
}

/// Blocks until a byte arrives on a FIFO (a gate the test opens), then returns `value`.
public struct WaitForGate: Job {
    public static var jobName: String { "WaitForGate" }
    public var fifoPath: String
    public var value: Int
    public init(fifoPath: String, value: Int) {
        self.fifoPath = fifoPath
        self.value = value
    }
    public func run() throws -> Int {
        var fd: Int32
        repeat { fd = open(fifoPath, O_RDONLY) } while fd < 0 && errno == EINTR
        guard fd >= 0 else { throw TestJobError("cannot open gate \(fifoPath): errno \(errno)") }
        defer { close(fd) }
        var byte: UInt8 = 0
        while read(fd, &byte, 1) < 0 && errno == EINTR {}
        return value
    }
}

/// Reports the worker's environment variable `key` and working directory.
public struct Environment: Job {
    public static var jobName: String { "Environment" }
    public var key: String
    public init(key: String) { self.key = key }
    public func run() throws -> [String] {
        let value = getenv(key).map { String(cString: $0) } ?? "<unset>"
        var buffer = [CChar](repeating: 0, count: 4096)
        let cwd = getcwd(&buffer, buffer.count).map { String(cString: $0) } ?? "<unknown>"
        return [value, cwd]
    }
}

/// Whether the worker's initializer ran (and with which argument).
public struct InitializerState: Job {
    public static var jobName: String { "InitializerState" }
    public init() {}
    public func run() throws -> String {
        getenv("OFFLOAD_TEST_INITIALIZED").map { String(cString: $0) } ?? "not initialized"
    }
}

/// A worker initializer that leaves its mark in the worker's environment, for ``InitializerState`` to read back.
public struct MarkInitialized: WorkerInitializer {
    public var mark: String
    public init(mark: String) { self.mark = mark }
    public func initializeWorker() throws {
        setenv("OFFLOAD_TEST_INITIALIZED", "initialized with \(mark)", 1)
    }
}

/// A worker initializer that always throws.
public struct RefuseToInitialize: WorkerInitializer {
    public init() {}
    public func initializeWorker() throws { throw TestJobError("initializer refuses") }
}

/// An initializer whose value cannot be encoded.
public struct UnencodableInitializer: WorkerInitializer {
    public init() {}
    public init(from decoder: any Decoder) throws {}
    public func encode(to encoder: any Encoder) throws { throw TestJobError("this initializer cannot be encoded") }
    public func initializeWorker() throws {}
}

/// An initializer type no worker registers.
public struct UnknownInitializer: WorkerInitializer {
    public init() {}
    public func initializeWorker() throws {}
}

/// Sums a strided sample, or all, of a shared buffer.
public struct SharedSum: Job {
    public static var jobName: String { "SharedSum" }
    public var input: SharedBuffer<Double>.Handle
    public var stride: Int
    public init(input: SharedBuffer<Double>.Handle, stride: Int = 1) {
        self.input = input
        self.stride = stride
    }
    public func run() throws -> Double {
        try input.withUnsafeBufferPointer { stridedSum($0, stride: stride) }
    }
}

/// Writes `value` at `index` of a shared buffer, then adds 1 to a shared counter.
public struct SharedWrite: Job {
    public static var jobName: String { "SharedWrite" }
    public var output: SharedBuffer<Int>.Handle
    public var counter: SharedCounter.Handle
    public var index: Int
    public init(output: SharedBuffer<Int>.Handle, counter: SharedCounter.Handle, index: Int) {
        self.output = output
        self.counter = counter
        self.index = index
    }
    public func run() throws -> Int {
        try output.withUnsafeMutableBufferPointer { $0[index] = index * 10 }
        return try counter.add(1)
    }
}

/// The same computation encoded into the job (the 256 MB comparison's slow path).
public struct InlineSum: Job {
    public static var jobName: String { "InlineSum" }
    public var values: [Double]
    public var stride: Int
    public init(values: [Double], stride: Int = 1) {
        self.values = values
        self.stride = stride
    }
    public func run() throws -> Double {
        values.withUnsafeBufferPointer { stridedSum($0, stride: stride) }
    }
}

/// Kills its worker the first time it runs (per counter), returns 42 afterwards: retries of idempotent jobs.
public struct CrashOnce: Job {
    public static var jobName: String { "CrashOnce" }
    public static var isIdempotent: Bool { true }
    public var counter: SharedCounter.Handle
    public init(counter: SharedCounter.Handle) { self.counter = counter }
    public func run() throws -> Int {
        if try counter.add(1) == 1 { raise(SIGKILL) }
        return 42
    }
}

/// Like ``CrashOnce`` but not idempotent: never retried.
public struct CrashOnceNotIdempotent: Job {
    public static var jobName: String { "CrashOnceNotIdempotent" }
    public var counter: SharedCounter.Handle
    public init(counter: SharedCounter.Handle) { self.counter = counter }
    public func run() throws -> Int {
        if try counter.add(1) == 1 { raise(SIGKILL) }
        return 42
    }
}

/// Writes garbage straight into the result pipe (descriptor 4), breaking the framing, then returns normally.
public struct Garbage: Job {
    public static var jobName: String { "Garbage" }
    public init() {}
    public func run() throws -> Int {
        let junk: [UInt8] = [0xFF, 0xFF, 0xFF, 0x7F, 0x63, 0x01, 0x02, 0x03, 0, 0, 0, 0, 0, 0, 0, 0]
        _ = junk.withUnsafeBytes { write(4, $0.baseAddress, $0.count) }
        return 1
    }
}

/// Registered in no worker.
public struct Unregistered: Job {
    public static var jobName: String { "Unregistered" }
    public init() {}
    public func run() throws -> Int { 0 }
}

/// The failure matrix: misbehave (throw, exit, crash) at one step of a task's life.
/// Its Codable conformance acts differently in the parent and the worker, so it opts out of the plain-data path.
public struct Misbehave: Job, CodableEncodingRequired {
    public enum Step: String, Codable, Sendable, CaseIterable {
        case encodeJob, decodeJobInWorker, run, encodeResult, decodeResultInParent
    }
    public enum Mode: String, Codable, Sendable, CaseIterable {
        case `throw`, exit, crash
    }
    public static var jobName: String { "Misbehave" }
    public var step: Step
    public var mode: Mode

    public init(step: Step, mode: Mode) {
        self.step = step
        self.mode = mode
    }

    enum CodingKeys: String, CodingKey { case step, mode }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        step = try container.decode(Step.self, forKey: .step)
        mode = try container.decode(Mode.self, forKey: .mode)
        if step == .decodeJobInWorker, ProcessPool.isWorkerProcess { try Misbehave.act(mode, "decoding the job") }
    }

    public func encode(to encoder: any Encoder) throws {
        if step == .encodeJob, !ProcessPool.isWorkerProcess { try Misbehave.act(mode, "encoding the job") }
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(step, forKey: .step)
        try container.encode(mode, forKey: .mode)
    }

    public func run() throws -> Outcome {
        if step == .run { try Misbehave.act(mode, "running") }
        return Outcome(step: step, mode: mode)
    }

    static func act(_ mode: Mode, _ what: String) throws {
        writeToStderr("misbehaving while \(what)\n")
        switch mode {
        case .throw: throw TestJobError("failed while \(what)")
        case .exit: exit(9)
        case .crash: segfault()
        }
    }

    public struct Outcome: Codable, Sendable, CodableEncodingRequired {
        public var step: Step
        public var mode: Mode

        enum CodingKeys: String, CodingKey { case step, mode }

        init(step: Step, mode: Mode) {
            self.step = step
            self.mode = mode
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            step = try container.decode(Step.self, forKey: .step)
            mode = try container.decode(Mode.self, forKey: .mode)
            if step == .decodeResultInParent, !ProcessPool.isWorkerProcess {
                try Misbehave.act(.throw, "decoding the result")
            }
        }

        public func encode(to encoder: any Encoder) throws {
            if step == .encodeResult, ProcessPool.isWorkerProcess { try Misbehave.act(mode, "encoding the result") }
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(step, forKey: .step)
            try container.encode(mode, forKey: .mode)
        }
    }
}

/// Adds one to a shared counter: proves whether a worker ran a job at all.
public struct Tally: Job {
    public static var jobName: String { "Tally" }
    public var counter: SharedCounter.Handle
    public init(counter: SharedCounter.Handle) { self.counter = counter }
    public func run() throws -> Int { try counter.add(1) }
}

/// Writes one byte to a FIFO the test reads (so the test knows the job started), then sleeps; returns the worker's
/// PID.
public struct Announce: Job {
    public static var jobName: String { "Announce" }
    public var fifoPath: String
    public var milliseconds: Int
    public init(fifoPath: String, milliseconds: Int) {
        self.fifoPath = fifoPath
        self.milliseconds = milliseconds
    }
    public func run() throws -> Int32 {
        let fd = open(fifoPath, O_WRONLY)
        guard fd >= 0 else { throw TestJobError("cannot open \(fifoPath)") }
        var byte: UInt8 = 1
        _ = write(fd, &byte, 1)
        close(fd)
        usleep(UInt32(milliseconds) * 1_000)
        return getpid()
    }
}

/// Sleeps, then returns the worker's PID (fair start: which worker ran it).
public struct NapPID: Job {
    public static var jobName: String { "NapPID" }
    public var milliseconds: Int
    public init(milliseconds: Int) { self.milliseconds = milliseconds }
    public func run() throws -> Int32 {
        usleep(UInt32(milliseconds) * 1_000)
        return getpid()
    }
}

/// One input of a fault soak: returns `index * 2`, or fails in the chosen way.
public struct FaultMix: Job, CustomStringConvertible {
    public enum Fault: String, Codable, Sendable, CaseIterable {
        case none, `throw`, fatalError, sigsegv, exit, hang
    }
    public static var jobName: String { "FaultMix" }
    public var index: Int
    public var fault: Fault
    public init(index: Int, fault: Fault = .none) {
        self.index = index
        self.fault = fault
    }
    public var description: String { "FaultMix(index: \(index), fault: \(fault.rawValue))" }
    public func run() throws -> Int {
        switch fault {
        case .none: return index * 2
        case .throw: throw TestJobError("input \(index) is bad")
        case .fatalError: fatalError("input \(index) is fatal")
        case .sigsegv: segfault()
        case .exit: exit(3)
        case .hang: while true { pause() }
        }
        return -1
    }
}

/// The registry of the worker fixture.
public enum TestJobs {
    public static var registry: JobRegistry {
        var registry = JobRegistry(
            Square.self,
            WorkerPID.self,
            Fail.self,
            Die.self,
            Sleep.self,
            Allocate.self,
            BigOutput.self,
            WaitForGate.self,
            Environment.self,
            InitializerState.self,
            SharedSum.self,
            SharedWrite.self,
            InlineSum.self,
            Misbehave.self,
            CrashOnce.self,
            Garbage.self,
            CrashOnceNotIdempotent.self,
            Tally.self,
            Announce.self,
            NapPID.self,
            FaultMix.self,
            ReportThenWait.self,
            IsProgressObserved.self,
            SpanContextSeen.self,
            WorkerLineage.self,
            ContendEntryMutex.self
        )
        registry.register(initializer: MarkInitialized.self)
        registry.register(initializer: RefuseToInitialize.self)
        registry.register(Check.self)
        registry.register(PlainPoint.self)
        registry.register(HoldSharedBuffer.self)
        return registry
    }
}
