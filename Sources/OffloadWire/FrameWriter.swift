import OffloadCore

/// Bytes queued for one non-blocking descriptor: frames are appended (coalesced) and flushed with as few `write`
/// calls as the pipe allows. `EPIPE` or any other write error means the reader (a worker) is gone.
package struct FrameWriter: Sendable {
    private var buffer: [UInt8] = []
    private var start = 0

    package init() {}

    /// Whether bytes are waiting to be written (the manager then polls the descriptor for `POLLOUT`).
    package var hasPendingBytes: Bool { start < buffer.count }

    package mutating func append(_ frame: Frame) {
        frame.append(to: &buffer)
    }

    /// Appends a frame whose payload is given in parts, avoiding a concatenation copy.
    package mutating func append(kind: Frame.Kind, flags: UInt8, taskID: UInt64, parts: [UInt8]...) {
        let length = parts.reduce(0) { $0 + $1.count }
        Frame.appendHeader(to: &buffer, kind: kind, flags: flags, taskID: taskID, payloadLength: length)
        for part in parts { buffer.append(contentsOf: part) }
    }

    /// Appends a frame of `payloadLength` bytes that `body` appends straight to the queue (no payload array).
    package mutating func append(
        kind: Frame.Kind,
        flags: UInt8,
        taskID: UInt64,
        payloadLength: Int,
        _ body: (inout [UInt8]) -> Void
    ) {
        Frame.appendHeader(to: &buffer, kind: kind, flags: flags, taskID: taskID, payloadLength: payloadLength)
        let payloadStart = buffer.count
        body(&buffer)
        precondition(buffer.count - payloadStart == payloadLength, "a frame's payload differs from its announced length")
    }

    /// Calls `body` with the bytes not yet written; `body` returns how many it wrote, and those are dropped. The I/O
    /// itself belongs to the transport (the process pool's pipes), not to framing.
    package mutating func drain(_ body: (UnsafeRawBufferPointer) -> Int) {
        while start < buffer.count {
            let written = buffer.withUnsafeBytes { bytes in body(UnsafeRawBufferPointer(rebasing: bytes[start...])) }
            guard written > 0 else { return }
            start += written
        }
        buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 20)
        start = 0
    }

    /// Puts bytes that a write did not take back in front of everything queued since (a partial write of a
    /// non-blocking pipe).
    package mutating func prepend(_ bytes: ArraySlice<UInt8>) {
        guard !bytes.isEmpty else { return }
        buffer = Array(bytes) + buffer[start...]
        start = 0
    }

    /// Takes the queued bytes: the transport writes them (the worker blocking, the pool's manager non-blocking, putting
    /// back what the pipe did not take with ``prepend(_:)``).
    package mutating func take() -> [UInt8] {
        defer {
            buffer = []
            start = 0
        }
        return start == 0 ? buffer : Array(buffer[start...])
    }
}
