import Glibc

extension Syscalls {
    /// One descriptor to wait on in ``poll(_:timeoutMilliseconds:)``, without Glibc's `pollfd` leaking upward.
    package struct PollEntry: Sendable {
        package var fd: Int32
        /// Wait until the descriptor is readable (or its peer hung up).
        package var readable: Bool
        /// Wait until the descriptor is writable.
        package var writable: Bool
        /// Set by `poll`: something happened on the descriptor (readable, writable, hang-up or error).
        package var ready = false

        package init(fd: Int32, readable: Bool = true, writable: Bool = false) {
            self.fd = fd
            self.readable = readable
            self.writable = writable
        }
    }

    /// `poll` over `entries` (`EINTR` retried), setting each entry's ``PollEntry/ready``. A negative timeout waits
    /// without limit. Returns the number of ready entries, or -1.
    @discardableResult
    package static func poll(_ entries: inout [PollEntry], timeoutMilliseconds: Int32) -> Int32 {
        var raw = entries.map { entry in
            pollfd(
                fd: entry.fd,
                events: Int16((entry.readable ? POLLIN : 0) | (entry.writable ? POLLOUT : 0)),
                revents: 0
            )
        }
        let count = poll(&raw, timeoutMilliseconds: timeoutMilliseconds)
        for index in entries.indices { entries[index].ready = raw[index].revents != 0 }
        return count
    }
}

extension Signals {
    /// `SIGKILL`.
    package static let kill: Int32 = SIGKILL
    /// `SIGTERM`.
    package static let terminate: Int32 = SIGTERM
    /// `SIGSEGV`.
    package static let segmentationFault: Int32 = SIGSEGV
    /// `EPIPE`: a write to a pipe whose reader is gone.
    package static let brokenPipe: Int32 = EPIPE
}
