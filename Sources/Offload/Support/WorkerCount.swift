import OffloadSystem

/// How many workers a pool starts.
public enum WorkerCount {
    /// The number of processors this process may run on: the CPU affinity mask on Linux (what
    /// `os.process_cpu_count()` reports in Python 3.13), otherwise the active processor count. Never less than 1.
    public static var available: Int {
        Syscalls.availableCPUCount()
    }

    /// Validates a requested worker count, substituting ``available`` for `nil`.
    /// - Throws: ``OffloadError/Code/invalidArgument`` when `requested` is zero or negative.
    static func resolve(_ requested: Int?) throws(OffloadError) -> Int {
        guard let requested else { return available }
        guard requested >= 1 else { throw OffloadError.invalidWorkerCount(requested) }
        return requested
    }
}
