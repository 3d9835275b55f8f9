import OffloadSystem

extension OffloadError {
    /// A failed system call in the pools' words: ``OffloadError/Code/systemCallFailed`` with its `errno`.
    static func systemCall(_ error: SystemCallError) -> OffloadError {
        OffloadError(.systemCallFailed, "\(error.call) failed", underlyingErrno: error.errno)
    }
}

/// Runs a call of the system layer, turning its ``SystemCallError`` into ``OffloadError/Code/systemCallFailed``.
func systemCall<T>(_ body: () throws(SystemCallError) -> T) throws(OffloadError) -> T {
    do {
        return try body()
    } catch {
        throw OffloadError.systemCall(error)
    }
}
