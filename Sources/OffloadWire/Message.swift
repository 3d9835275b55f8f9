import OffloadCore

/// The typed content of a ``Frame``: what parent and worker say to each other.
///
/// Payload layouts (little-endian):
/// - `hello`: ``Hello`` in the ``JobCodec`` encoding.
/// - `run`: UInt16 job-name length, job name (UTF-8), then the job (or `[Job]` when the batch flag is set)
///   encoded by ``JobCodec``.
/// - `result`: UInt64 nanoseconds the job(s) ran, then the output (or `[Output]`) encoded by ``JobCodec``.
/// - `failure`: ``RemoteFailure`` in the ``JobCodec`` encoding.
/// - `shutdown`: empty.
package enum Message: Sendable, Equatable {
    case hello(Hello)
    case run(taskID: UInt64, jobName: String, isBatch: Bool, job: [UInt8])
    case result(taskID: UInt64, isBatch: Bool, runNanoseconds: UInt64, output: [UInt8])
    case failure(taskID: UInt64, RemoteFailure)
    case shutdown

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
        switch frame.kind {
        case .hello:
            self = .hello(try Message.decodePayload(Hello.self, frame.payload, what: "hello"))
        case .run:
            let payload = frame.payload
            guard payload.count >= 2 else { throw Message.violation("run frame too short") }
            let nameLength = Int(payload[0]) | Int(payload[1]) << 8
            guard payload.count >= 2 + nameLength else { throw Message.violation("run frame's job name truncated") }
            let name = String(decoding: payload[2..<2 + nameLength], as: UTF8.self)
            self = .run(taskID: frame.taskID, jobName: name, isBatch: isBatch, job: Array(payload[(2 + nameLength)...]))
        case .result:
            let payload = frame.payload
            guard payload.count >= 8 else { throw Message.violation("result frame too short") }
            var nanoseconds: UInt64 = 0
            for index in 0..<8 { nanoseconds |= UInt64(payload[index]) << UInt64(8 * index) }
            self = .result(
                taskID: frame.taskID,
                isBatch: isBatch,
                runNanoseconds: nanoseconds,
                output: Array(payload[8...])
            )
        case .failure:
            self = .failure(
                taskID: frame.taskID,
                try Message.decodePayload(RemoteFailure.self, frame.payload, what: "failure")
            )
        case .shutdown:
            guard frame.payload.isEmpty else { throw Message.violation("shutdown frame with a payload") }
            self = .shutdown
        }
    }

    /// Appends this message's frame to `writer` (coalesced with whatever is queued there).
    package func append(to writer: inout FrameWriter) {
        switch self {
        case .hello(let hello):
            writer.append(Frame(kind: .hello, payload: (try? JobCodec.encode(hello)) ?? []))
        case .run(let taskID, let jobName, let isBatch, let job):
            writer.append(
                kind: .run,
                flags: isBatch ? Frame.batchFlag : 0,
                taskID: taskID,
                parts: Message.nameHeader(jobName),
                job
            )
        case .result(let taskID, let isBatch, let nanoseconds, let output):
            var prefix: [UInt8] = []
            prefix.appendLittleEndian(nanoseconds, bytes: 8)
            writer.append(kind: .result, flags: isBatch ? Frame.batchFlag : 0, taskID: taskID, parts: prefix, output)
        case .failure(let taskID, let failure):
            writer.append(Frame(kind: .failure, taskID: taskID, payload: (try? JobCodec.encode(failure)) ?? []))
        case .shutdown:
            writer.append(Frame(kind: .shutdown))
        }
    }

    /// The job-name prefix of a run payload.
    package static func nameHeader(_ jobName: String) -> [UInt8] {
        let utf8 = Array(jobName.utf8.prefix(Int(UInt16.max)))
        return [UInt8(truncatingIfNeeded: utf8.count), UInt8(truncatingIfNeeded: utf8.count >> 8)] + utf8
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

    private static func violation(_ message: String) -> OffloadError {
        OffloadError(.protocolViolation, message)
    }
}
