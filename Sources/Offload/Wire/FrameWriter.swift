/// Bytes queued for one non-blocking descriptor: frames are appended (coalesced) and flushed with as few `write`
/// calls as the pipe allows. `EPIPE` or any other write error means the reader (a worker) is gone.
package struct FrameWriter: Sendable {
    private var buffer: [UInt8] = []
    private var start = 0

    package init() {}

    /// Whether bytes are waiting to be written (the manager then polls the descriptor for `POLLOUT`).
    package var hasPendingBytes: Bool { start < buffer.count }
    package var pendingCount: Int { buffer.count - start }

    package mutating func append(_ frame: Frame) {
        frame.append(to: &buffer)
    }

    /// Appends a frame whose payload is given in parts, avoiding a concatenation copy.
    package mutating func append(kind: Frame.Kind, flags: UInt8, taskID: UInt64, parts: [UInt8]...) {
        let length = parts.reduce(0) { $0 + $1.count }
        Frame.appendHeader(to: &buffer, kind: kind, flags: flags, taskID: taskID, payloadLength: length)
        for part in parts { buffer.append(contentsOf: part) }
    }

    package enum FlushOutcome: Equatable {
        /// Everything queued was written.
        case drained
        /// The pipe is full; poll for `POLLOUT` and flush again.
        case blocked
        /// The peer is gone (`EPIPE`) or the write failed with this errno.
        case failed(Int32)
    }

    /// Writes as much as the (non-blocking) descriptor takes.
    package mutating func flush(to fd: Int32) -> FlushOutcome {
        while start < buffer.count {
            let outcome = buffer.withUnsafeBytes { bytes in
                Syscalls.write(fd, UnsafeRawBufferPointer(rebasing: bytes[start...]))
            }
            switch outcome {
            case .transferred(let count): start += count
            case .wouldBlock: return .blocked
            case .endOfFile: return .failed(32)
            case .failed(let code): return .failed(code)
            }
        }
        buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 20)
        start = 0
        return .drained
    }

    /// Takes the queued bytes (used by the blocking worker side, which writes them with `writeAll`).
    package mutating func take() -> [UInt8] {
        defer {
            buffer = []
            start = 0
        }
        return start == 0 ? buffer : Array(buffer[start...])
    }
}
