import OffloadCore

/// The typed content of a ``Frame``: what parent and worker say to each other.
///
/// Payload layouts (little-endian):
/// - `hello`: ``Hello`` in the ``JobCodec`` encoding.
/// - `run`: UInt16 job-name length, job name (UTF-8), then — with the batch flag — UInt32 index of the first item
///   to run, then the job (or `[Job]`) encoded by ``JobCodec``. A batch re-sent after a crash starts past the items
///   that already have an outcome.
/// - `result`: UInt64 nanoseconds the job(s) ran; with the batch flag UInt32 first item and UInt32 item count; then
///   the output (single job) or the concatenated encodings of the successful items' outputs (batch).
/// - `partial`: UInt32 first item, UInt32 item count, concatenated outputs (batch progress, see
///   ``Frame/Kind/partial``).
/// - `itemFailure`: UInt32 item index, then ``RemoteFailure``.
/// - `failure`: ``RemoteFailure`` in the ``JobCodec`` encoding (the whole task failed).
/// - `cancelled`, `shutdown`, `watch`, `wake`: empty.
/// - `traceContext`: the context's key-values, `[String: String]` in the ``JobCodec`` encoding.
/// - `progress`: UInt32 item of the batch (0 for a single job), UInt64 bit pattern of the fraction (a `Double`).
///
/// A batch's items resolve strictly in order: every `partial`, `itemFailure` and the final `result` starts where the
/// previous one ended, so the parent always knows which item a crash interrupted.
package enum Message: Sendable, Equatable {
    case hello(Hello)
    case run(taskID: UInt64, jobName: String, isBatch: Bool, firstItem: Int, job: [UInt8])
    case result(taskID: UInt64, isBatch: Bool, runNanoseconds: UInt64, firstItem: Int, count: Int, output: [UInt8])
    case partial(taskID: UInt64, firstItem: Int, count: Int, outputs: [UInt8])
    case itemFailure(taskID: UInt64, index: Int, RemoteFailure)
    case failure(taskID: UInt64, RemoteFailure)
    case cancelled(taskID: UInt64)
    case shutdown
    case watch(taskID: UInt64)
    case progress(taskID: UInt64, item: Int, fraction: Double)
    case traceContext(taskID: UInt64, [String: String])
    /// The shared-memory transport's doorbell: the worker published bytes in a ring the parent may be sleeping on.
    case wake

    /// The first frame a worker sends, after its initializer ran.
    package struct Hello: Codable, Sendable, Equatable {
        package var formatVersion: Int
        package var pid: Int32
        /// Set when the worker's initializer threw or was not registered: the worker exits after saying hello.
        package var initializerFailure: RemoteFailure?

        package init(formatVersion: Int, pid: Int32, initializerFailure: RemoteFailure? = nil) {
            self.formatVersion = formatVersion
            self.pid = pid
            self.initializerFailure = initializerFailure
        }
    }

    /// Parses a frame.
    /// - Throws: ``OffloadError/Code/protocolViolation`` when the payload does not match the kind's layout.
    package init(_ frame: Frame) throws(OffloadError) {
        let isBatch = frame.flags & Frame.batchFlag != 0
        var reader = PayloadReader(bytes: frame.payload)
        switch frame.kind {
        case .hello:
            self = .hello(try Message.decodePayload(Hello.self, frame.payload, what: "hello"))
        case .run:
            let nameLength = Int(try reader.integer(2, "run frame"))
            let name = String(decoding: try reader.bytes(nameLength, "run frame's job name"), as: UTF8.self)
            let first = isBatch ? Int(try reader.integer(4, "run frame")) : 0
            self = .run(taskID: frame.taskID, jobName: name, isBatch: isBatch, firstItem: first, job: reader.rest)
        case .result:
            let nanoseconds = try reader.integer(8, "result frame")
            let first = isBatch ? Int(try reader.integer(4, "result frame")) : 0
            let count = isBatch ? Int(try reader.integer(4, "result frame")) : 1
            self = .result(
                taskID: frame.taskID,
                isBatch: isBatch,
                runNanoseconds: nanoseconds,
                firstItem: first,
                count: count,
                output: reader.rest
            )
        case .partial:
            let first = Int(try reader.integer(4, "partial frame"))
            let count = Int(try reader.integer(4, "partial frame"))
            self = .partial(taskID: frame.taskID, firstItem: first, count: count, outputs: reader.rest)
        case .itemFailure:
            let index = Int(try reader.integer(4, "item failure frame"))
            let failure = try Message.decodePayload(RemoteFailure.self, reader.rest, what: "item failure")
            self = .itemFailure(taskID: frame.taskID, index: index, failure)
        case .failure:
            self = .failure(
                taskID: frame.taskID,
                try Message.decodePayload(RemoteFailure.self, frame.payload, what: "failure")
            )
        case .cancelled:
            guard frame.payload.isEmpty else { throw Message.violation("cancelled frame with a payload") }
            self = .cancelled(taskID: frame.taskID)
        case .shutdown:
            guard frame.payload.isEmpty else { throw Message.violation("shutdown frame with a payload") }
            self = .shutdown
        case .watch:
            guard frame.payload.isEmpty else { throw Message.violation("watch frame with a payload") }
            self = .watch(taskID: frame.taskID)
        case .progress:
            let item = Int(try reader.integer(4, "progress frame"))
            let bits = try reader.integer(8, "progress frame")
            self = .progress(taskID: frame.taskID, item: item, fraction: Double(bitPattern: bits))
        case .traceContext:
            let carrier = try Message.decodePayload([String: String].self, frame.payload, what: "trace context")
            self = .traceContext(taskID: frame.taskID, carrier)
        case .wake:
            guard frame.payload.isEmpty else { throw Message.violation("wake frame with a payload") }
            self = .wake
        }
    }

    /// Appends this message's frame to `writer` (coalesced with whatever is queued there).
    package func append(to writer: inout FrameWriter) {
        switch self {
        case .hello(let hello):
            writer.append(Frame(kind: .hello, payload: (try? JobCodec.encode(hello)) ?? []))
        case .run(let taskID, let jobName, let isBatch, let firstItem, let job):
            Message.appendRun(
                taskID: taskID,
                jobName: jobName,
                isBatch: isBatch,
                firstItem: firstItem,
                job: job,
                to: &writer
            )
        case .result(let taskID, let isBatch, let nanoseconds, let firstItem, let count, let output):
            var prefix: [UInt8] = []
            prefix.appendLittleEndian(nanoseconds, bytes: 8)
            if isBatch {
                prefix.appendLittleEndian(UInt64(firstItem), bytes: 4)
                prefix.appendLittleEndian(UInt64(count), bytes: 4)
            }
            writer.append(kind: .result, flags: isBatch ? Frame.batchFlag : 0, taskID: taskID, parts: prefix, output)
        case .partial(let taskID, let firstItem, let count, let outputs):
            writer.append(kind: .partial, flags: 0, taskID: taskID, parts: Message.span(firstItem, count), outputs)
        case .itemFailure(let taskID, let index, let failure):
            var prefix: [UInt8] = []
            prefix.appendLittleEndian(UInt64(index), bytes: 4)
            writer.append(
                kind: .itemFailure,
                flags: 0,
                taskID: taskID,
                parts: prefix,
                (try? JobCodec.encode(failure)) ?? []
            )
        case .failure(let taskID, let failure):
            writer.append(Frame(kind: .failure, taskID: taskID, payload: (try? JobCodec.encode(failure)) ?? []))
        case .cancelled(let taskID):
            writer.append(Frame(kind: .cancelled, taskID: taskID))
        case .shutdown:
            writer.append(Frame(kind: .shutdown))
        case .watch(let taskID):
            writer.append(Frame(kind: .watch, taskID: taskID))
        case .progress(let taskID, let item, let fraction):
            var payload: [UInt8] = []
            payload.appendLittleEndian(UInt64(item), bytes: 4)
            payload.appendLittleEndian(fraction.bitPattern, bytes: 8)
            writer.append(Frame(kind: .progress, taskID: taskID, payload: payload))
        case .traceContext(let taskID, let carrier):
            writer.append(Frame(kind: .traceContext, taskID: taskID, payload: (try? JobCodec.encode(carrier)) ?? []))
        case .wake:
            writer.append(Frame(kind: .wake))
        }
    }

    /// The header of a batch `result` or `partial` payload written straight from a worker's journal: what precedes
    /// the outputs.
    package static func span(_ firstItem: Int, _ count: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.appendLittleEndian(UInt64(firstItem), bytes: 4)
        bytes.appendLittleEndian(UInt64(count), bytes: 4)
        return bytes
    }

    /// Appends the frame of ``run(taskID:jobName:isBatch:firstItem:job:)`` to `writer`, its payload written in place:
    /// the pool sends one per task, so no part of it is built as an array of its own first.
    package static func appendRun(
        taskID: UInt64,
        jobName: String,
        isBatch: Bool,
        firstItem: Int,
        job: [UInt8],
        to writer: inout FrameWriter
    ) {
        var jobName = jobName
        jobName.withUTF8 { utf8 in
            let name = UnsafeBufferPointer(rebasing: utf8.prefix(Int(UInt16.max)))
            writer.append(
                kind: .run,
                flags: isBatch ? Frame.batchFlag : 0,
                taskID: taskID,
                payloadLength: 2 + name.count + (isBatch ? 4 : 0) + job.count
            ) { payload in
                payload.appendLittleEndian(UInt64(name.count), bytes: 2)
                payload.append(contentsOf: name)
                if isBatch { payload.appendLittleEndian(UInt64(firstItem), bytes: 4) }
                payload.append(contentsOf: job)
            }
        }
    }

    private static func decodePayload<T: Decodable>(
        _ type: T.Type,
        _ payload: [UInt8],
        what: String
    ) throws(OffloadError) -> T {
        do {
            return try JobCodec.decode(type, from: payload)
        } catch {
            throw violation("malformed \(what) payload: \(error.message)")
        }
    }

    static func violation(_ message: String) -> OffloadError {
        OffloadError(.protocolViolation, message)
    }
}

/// Little-endian fields read from the front of a payload, each read bounds-checked.
private struct PayloadReader {
    let bytes: [UInt8]
    var position = 0

    mutating func integer(_ size: Int, _ what: String) throws(OffloadError) -> UInt64 {
        guard bytes.count - position >= size else { throw Message.violation("\(what) too short") }
        var value: UInt64 = 0
        for index in 0..<size { value |= UInt64(bytes[position + index]) << UInt64(8 * index) }
        position += size
        return value
    }

    mutating func bytes(_ count: Int, _ what: String) throws(OffloadError) -> ArraySlice<UInt8> {
        guard bytes.count - position >= count else { throw Message.violation("\(what) truncated") }
        defer { position += count }
        return bytes[position..<position + count]
    }

    var rest: [UInt8] { position == 0 ? bytes : Array(bytes[position...]) }
}
