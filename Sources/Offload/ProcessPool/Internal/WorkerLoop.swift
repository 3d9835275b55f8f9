import Glibc
import OffloadSystem
import OffloadWire
import Synchronization

/// The worker side: say hello, then read `run` frames, run them through the registry and send results, until the
/// parent says `shutdown` or closes the pipe. Commands are read in large chunks (many frames per `read`); each result
/// is written before the next job starts, so a crash is always attributed to the task that caused it.
enum WorkerLoop {
    /// Test hook: when ≥ 0, the worker writes only this many bytes of its next flush, then kills itself with SIGKILL
    /// ("worker dies while writing a payload larger than the pipe buffer").
    package static let dieAfterWritingBytes = Atomic<Int>(-1)
    /// Set in a worker process once the loop started (``ProcessPool/isWorkerProcess``).
    static let inWorker = Atomic<Bool>(false)

    static func run(registry: JobRegistry) -> Never {
        let parent = pid_t(WorkerEnvironment.value(WorkerEnvironment.parentKey).flatMap { Int32($0) } ?? 0)
        let initializer = WorkerEnvironment.value(WorkerEnvironment.initializerKey)
        let initializerArgument = WorkerEnvironment.value(WorkerEnvironment.initializerArgumentKey)
        let maxFrame = WorkerEnvironment.value(WorkerEnvironment.maxFrameKey).flatMap { Int($0) } ?? (1 << 30)
        WorkerEnvironment.clear()
        Signals.dieWithParent(expectedParent: parent)
        Signals.ignoreSIGPIPE()
        inWorker.store(true, ordering: .releasing)

        let input = WorkerEnvironment.commandFD
        let output = WorkerEnvironment.resultFD
        var writer = FrameWriter()
        var hello = Message.Hello(formatVersion: JobCodec.formatVersion, pid: getpid())
        if let initializer {
            hello.initializerFailure = registry.runInitializer(initializer, argument: initializerArgument)
        }
        Message.hello(hello).append(to: &writer)
        flush(&writer, to: output)
        if hello.initializerFailure != nil { exit(3) }

        var reader = FrameReader(maxPayload: maxFrame)
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            do {
                while let frame = try reader.next() {
                    switch try Message(frame) {
                    case .run(let taskID, let jobName, let isBatch, let job):
                        switch registry.handle(jobName: jobName, payload: job, isBatch: isBatch) {
                        case .success(let bytes, let nanoseconds):
                            Message.result(taskID: taskID, isBatch: isBatch, runNanoseconds: nanoseconds, output: bytes)
                                .append(to: &writer)
                        case .failure(let failure):
                            Message.failure(taskID: taskID, failure).append(to: &writer)
                        }
                        // Every result is written before the next job starts: if that job crashes the worker, the
                        // parent must know exactly which task was running (only it fails; the rest are requeued).
                        flush(&writer, to: output)
                    case .shutdown:
                        flush(&writer, to: output)
                        exit(0)
                    case .hello, .result, .failure:
                        throw OffloadError(.protocolViolation, "worker received a frame meant for the parent")
                    }
                }
            } catch {
                writeStderr("offload worker \(getpid()): \(error); exiting\n")
                exit(65)
            }
            flush(&writer, to: output)
            let outcome = chunk.withUnsafeMutableBytes { Syscalls.read(input, into: $0) }
            switch outcome {
            case .transferred(let count):
                chunk.withUnsafeBytes { reader.append(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
            case .endOfFile: exit(0)
            case .wouldBlock: continue
            case .failed: exit(1)
            }
        }
    }

    private static func flush(_ writer: inout FrameWriter, to fd: Int32) {
        guard writer.hasPendingBytes else { return }
        let bytes = writer.take()
        let limit = dieAfterWritingBytes.load(ordering: .relaxed)
        if limit >= 0, bytes.count > limit {
            _ = bytes.withUnsafeBytes { Syscalls.writeAll(fd, UnsafeRawBufferPointer(rebasing: $0[..<limit])) }
            raise(SIGKILL)
        }
        // EPIPE: the parent is gone or gave up on us; nothing left to do.
        if bytes.withUnsafeBytes({ Syscalls.writeAll(fd, $0) }) != nil { exit(0) }
    }

    static func writeStderr(_ text: String) {
        var text = text
        text.withUTF8 { _ = Syscalls.writeAll(2, UnsafeRawBufferPointer($0)) }
    }
}
