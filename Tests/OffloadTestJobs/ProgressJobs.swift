import Offload

#if canImport(Glibc)
    import Glibc
#endif

/// Reports `fraction` through ``JobProgress``, then blocks until a byte arrives on a FIFO (a gate the test opens
/// once it has seen the report), then returns `value`: a job whose own progress is relayed to the caller.
public struct ReportThenWait: Job {
    public static var jobName: String { "ReportThenWait" }
    public var fraction: Double
    public var fifoPath: String
    public var value: Int
    public init(fraction: Double, fifoPath: String, value: Int) {
        self.fraction = fraction
        self.fifoPath = fifoPath
        self.value = value
    }
    public func run() throws -> Int {
        JobProgress.report(fractionCompleted: fraction)
        return try WaitForGate(fifoPath: fifoPath, value: value).run()
    }
}

/// Whether anyone watches this job's progress (``JobProgress/isObserved``), as 1 or 0.
public struct IsProgressObserved: Job {
    public static var jobName: String { "IsProgressObserved" }
    public init() {}
    public func run() throws -> Int { JobProgress.isObserved ? 1 : 0 }
}
