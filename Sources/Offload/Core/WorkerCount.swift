import COffloadShims

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How many workers a pool starts.
public enum WorkerCount {
    /// The number of processors this process may run on: the CPU affinity mask on Linux (what
    /// `os.process_cpu_count()` reports in Python 3.13), otherwise the active processor count. Never less than 1.
    public static var available: Int {
        let affinity = Int(coffload_available_cpu_count())
        if affinity > 0 { return affinity }
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// Validates a requested worker count, substituting ``available`` for `nil`.
    /// - Throws: ``OffloadError/Code/invalidArgument`` when `requested` is zero or negative.
    static func resolve(_ requested: Int?) throws(OffloadError) -> Int {
        guard let requested else { return available }
        guard requested >= 1 else { throw OffloadError.invalidWorkerCount(requested) }
        return requested
    }
}
