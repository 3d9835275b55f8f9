import Offload

#if canImport(Glibc)
    import Glibc
#endif

/// Returns the worker's PID and its parent's PID (fork-server tests: a forked worker is a child of the pool).
public struct WorkerLineage: Job {
    public struct Lineage: Codable, Sendable, Equatable {
        public var pid: Int32
        public var parent: Int32
        /// Which of descriptors 0-9 are open in the worker.
        public var descriptors: [Int32]
    }
    public static var jobName: String { "WorkerLineage" }
    public init() {}
    public func run() throws -> Lineage {
        // Which of descriptors 0-9 are open: a forked worker must have exactly what a spawned one has.
        let open = (0..<10).filter { fcntl(Int32($0), F_GETFD) >= 0 }.map { Int32($0) }
        return Lineage(pid: getpid(), parent: getppid(), descriptors: open)
    }
}
