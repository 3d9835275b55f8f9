import OffloadCore

/// Turns a byte stream into frames: accepts bytes in any split (partial headers, partial payloads, many frames in
/// one chunk) and rejects a stream that breaks the format with ``OffloadError/Code/protocolViolation``.
///
/// Pure and I/O-free (the manager reads the descriptor and feeds the bytes), so it can be fuzzed directly. After a
/// violation the reader stays failed: a byte stream that lost its framing cannot be resynchronised.
package struct FrameReader: Sendable {
    /// The largest payload accepted; a longer length field is a protocol violation, detected before allocating.
    package let maxPayload: Int
    private var buffer: [UInt8] = []
    private var start = 0
    private var failure: OffloadError?

    package init(maxPayload: Int) {
        self.maxPayload = maxPayload
    }

    /// Bytes received but not yet returned as frames.
    package var bufferedCount: Int { buffer.count - start }

    package mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compactIfWorthwhile()
        buffer.append(contentsOf: bytes)
    }

    package mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// The next complete frame, `nil` when more bytes are needed.
    /// - Throws: ``OffloadError/Code/protocolViolation`` for an unknown kind, non-zero reserved bytes or a payload
    ///   length above ``maxPayload``.
    package mutating func next() throws(OffloadError) -> Frame? {
        if let failure { throw failure }
        guard bufferedCount >= Frame.headerSize else { return nil }
        let length = Int(readUInt32(at: start))
        guard length <= maxPayload else {
            return try fail("frame announces \(length) payload bytes, more than the limit of \(maxPayload)")
        }
        guard let kind = Frame.Kind(rawValue: buffer[start + 4]) else {
            return try fail("unknown frame kind \(buffer[start + 4])")
        }
        let flags = buffer[start + 5]
        guard buffer[start + 6] == 0, buffer[start + 7] == 0, flags & ~Frame.batchFlag == 0 else {
            return try fail("frame header has reserved bits set")
        }
        guard bufferedCount - Frame.headerSize >= length else { return nil }
        var taskID: UInt64 = 0
        for index in 0..<8 { taskID |= UInt64(buffer[start + 8 + index]) << UInt64(8 * index) }
        let payloadStart = start + Frame.headerSize
        let payload = Array(buffer[payloadStart..<payloadStart + length])
        start = payloadStart + length
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 20)
            start = 0
        }
        return Frame(kind: kind, flags: flags, taskID: taskID, payload: payload)
    }

    private mutating func fail(_ message: String) throws(OffloadError) -> Frame? {
        let error = OffloadError(.protocolViolation, message)
        failure = error
        throw error
    }

    private func readUInt32(at offset: Int) -> UInt32 {
        UInt32(buffer[offset]) | UInt32(buffer[offset + 1]) << 8 | UInt32(buffer[offset + 2]) << 16
            | UInt32(buffer[offset + 3]) << 24
    }

    private mutating func compactIfWorthwhile() {
        guard start > 0, start >= buffer.count / 2 else { return }
        buffer.removeSubrange(0..<start)
        start = 0
    }
}
