import Offload

#if canImport(Glibc)
    import Glibc
#endif

/// Kills its worker with SIGKILL: the replacement-latency figures of `bench-processes --compare-start-methods`.
public struct CrashJob: Job {
    public static var jobName: String { "offload.bench.Crash" }

    public init() {}

    public func run() throws -> Int {
        raise(SIGKILL)
        return 0
    }
}
