import OffloadCore

/// One unit on the wire between a process pool and its workers.
///
/// Layout (all integers little-endian), 16-byte header then the payload:
///
/// ```
/// offset  size  field
///  0      4     payloadLength   UInt32, bytes after the header; > the reader's limit → protocolViolation
///  4      1     kind            Frame.Kind raw value; unknown → protocolViolation
///  5      1     flags           bit 0: the payload is a batch of jobs / results
///  6      2     reserved        must be 0
///  8      8     taskID          UInt64 chosen by the parent; echoed by the worker (0 for hello/shutdown)
/// 16      n     payload         kind-specific, see ``Message``
/// ```
///
/// Frames are self-delimiting, so a reader can take any number of them from one `read` and a writer can coalesce
/// many into one `write` (the pool does both: see docs/design/process-pool.md).
package struct Frame: Sendable, Equatable {
    /// What a frame carries.
    package enum Kind: UInt8, Sendable {
        /// Worker → parent, once, after the worker's initializer ran: protocol version, PID, initializer failure.
        case hello = 1
        /// Parent → worker: run this job (or batch of jobs) under `taskID`.
        case run = 2
        /// Worker → parent: the task's encoded output (or outputs).
        case result = 3
        /// Worker → parent: the task failed (job threw, unknown job type, decode/encode failure).
        case failure = 4
        /// Parent → worker: finish and exit with status 0.
        case shutdown = 5
        /// Worker → parent: the outputs of a batch's items finished so far (sent when the worker's journal is full,
        /// and before an item failure, so that outcomes always arrive in item order).
        case partial = 6
        /// Worker → parent: one item of a batch failed (it threw, or its output could not be encoded); the batch goes on.
        case itemFailure = 7
        /// Worker → parent: the task was cancelled before it started, or between two items of a batch; it stopped.
        case cancelled = 8
        /// Parent → worker: someone watches the progress of task `taskID` (sent just before its `run`): the worker
        /// relays what the task's jobs report through ``JobProgress``.
        case watch = 9
        /// Worker → parent: a watched task's running job reported how far it is.
        case progress = 10
        /// Parent → worker: the trace context of task `taskID` (sent just before its `run`), so that the worker's span
        /// of the run is a child of the submitter's span of the task.
        case traceContext = 11
    }

    package static let headerSize = 16
    package static let batchFlag: UInt8 = 1

    package var kind: Kind
    package var flags: UInt8
    package var taskID: UInt64
    package var payload: [UInt8]

    package init(kind: Kind, flags: UInt8 = 0, taskID: UInt64 = 0, payload: [UInt8] = []) {
        self.kind = kind
        self.flags = flags
        self.taskID = taskID
        self.payload = payload
    }

    /// Appends the header for a payload of `payloadLength` bytes to `buffer`.
    package static func appendHeader(
        to buffer: inout [UInt8],
        kind: Kind,
        flags: UInt8,
        taskID: UInt64,
        payloadLength: Int
    ) {
        precondition(payloadLength >= 0 && payloadLength <= Int(UInt32.max), "frame payload too large")
        let length = UInt32(payloadLength)
        buffer.append(UInt8(truncatingIfNeeded: length))
        buffer.append(UInt8(truncatingIfNeeded: length >> 8))
        buffer.append(UInt8(truncatingIfNeeded: length >> 16))
        buffer.append(UInt8(truncatingIfNeeded: length >> 24))
        buffer.append(kind.rawValue)
        buffer.append(flags)
        buffer.append(0)
        buffer.append(0)
        for shift in stride(from: 0, to: 64, by: 8) {
            buffer.append(UInt8(truncatingIfNeeded: taskID >> UInt64(shift)))
        }
    }

    /// Appends the whole frame (header and payload) to `buffer`.
    package func append(to buffer: inout [UInt8]) {
        Frame.appendHeader(to: &buffer, kind: kind, flags: flags, taskID: taskID, payloadLength: payload.count)
        buffer.append(contentsOf: payload)
    }

}
