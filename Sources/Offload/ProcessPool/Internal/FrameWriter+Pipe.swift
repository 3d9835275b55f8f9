import OffloadSystem
import OffloadWire

extension FrameWriter {
    enum FlushOutcome: Equatable {
        /// Everything queued was written.
        case drained
        /// The pipe is full; poll for `POLLOUT` and flush again.
        case blocked
        /// The peer is gone (`EPIPE`) or the write failed with this errno.
        case failed(Int32)
    }

    /// Writes as much as the (non-blocking) descriptor takes.
    mutating func flush(to fd: Int32) -> FlushOutcome {
        var outcome = FlushOutcome.drained
        drain { bytes in
            switch Syscalls.write(fd, bytes) {
            case .transferred(let count):
                return count
            case .wouldBlock:
                outcome = .blocked
                return 0
            case .endOfFile:
                outcome = .failed(32)
                return 0
            case .failed(let code):
                outcome = .failed(code)
                return 0
            }
        }
        return outcome
    }
}
