/// A failed system call: its name and the `errno` it left. The floor's only error; the layers above turn it into their
/// own vocabulary (the pools into `OffloadError.Code.systemCallFailed`).
package struct SystemCallError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The call that failed (`pipe2`, `pthread_create`, `shm_open`, …).
    package let call: String
    /// The `errno` value (or the error number the call returned).
    package let errno: Int32

    package init(_ call: String, errno: Int32) {
        self.call = call
        self.errno = errno
    }

    package var description: String { "\(call) failed: \(Syscalls.errnoDescription(errno)) (errno \(errno))" }
}
