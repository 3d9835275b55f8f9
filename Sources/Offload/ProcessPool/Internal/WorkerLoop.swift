import OffloadCore
import OffloadSystem
import OffloadWire
import Synchronization

/// The worker side: say hello, then read `run` frames and run them through the registry in order, until the parent
/// says `shutdown` or closes the pipe. Commands are read in large chunks (many frames per `read`). A single job's
/// result is written before the next task starts; a batch's items are recorded in the journal as they finish (see
/// ``WorkerJournal``), so a crash is always attributed to the item that caused it and no finished item is lost.
enum WorkerLoop {
    /// Test hook: when ≥ 0, the worker writes only this many bytes of its next flush, then kills itself with SIGKILL
    /// ("worker dies while writing a payload larger than the pipe buffer").
    package static let dieAfterWritingBytes = Atomic<Int>(-1)
    /// Set in a worker process once the loop started (``ProcessPool/isWorkerProcess``).
    static let inWorker = Atomic<Bool>(false)

    static func run(registry: JobRegistry) -> Never {
        let parent = WorkerEnvironment.value(WorkerEnvironment.parentKey).flatMap { Int32($0) } ?? 0
        let initializer = WorkerEnvironment.requestedInitializer()
        let maxFrame = WorkerEnvironment.value(WorkerEnvironment.maxFrameKey).flatMap { Int($0) } ?? (1 << 30)
        WorkerEnvironment.clear()
        Signals.dieWithParent(expectedParent: parent)
        Signals.ignoreSIGPIPE()
        inWorker.store(true, ordering: .releasing)

        let input = WorkerEnvironment.commandFD
        let journal = WorkerJournal.openInWorker()
        let rings = WorkerRingEnd.open(
            journal: journal,
            doorbellFD: WorkerEnvironment.resultFD,
            commandFD: input,
            parent: parent
        )
        let output = Output(fd: WorkerEnvironment.resultFD, rings: rings)
        var hello = Message.Hello(formatVersion: JobCodec.formatVersion, pid: Syscalls.processID)
        switch initializer {
        case .run(let encoded): hello.initializerFailure = registry.runInitializer(encoded)
        case .unreadable(let failure): hello.initializerFailure = failure
        case .none: break
        }
        // The hello always goes through the result pipe: whatever code before the entry point wrote to descriptor 4
        // precedes it in one stream, and the parent reads the pipe before the first ring frame.
        Message.hello(hello).append(to: &output.writer)
        output.flush(throughPipe: true)
        if hello.initializerFailure != nil { Syscalls.exitProcess(3) }

        var reader = FrameReader(maxPayload: maxFrame)
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var watched: UInt64?
        var traced: (taskID: UInt64, carrier: [String: String])?
        while true {
            do {
                while let frame = try reader.next() {
                    switch try Message(frame) {
                    case .watch(let taskID):
                        watched = taskID
                    case .traceContext(let taskID, let carrier):
                        traced = (taskID, carrier)
                    case .run(let taskID, let jobName, let isBatch, let firstItem, let job):
                        if let journal, !journal.begin(taskID: taskID, firstItem: firstItem) {
                            Message.cancelled(taskID: taskID).append(to: &output.writer)
                            continue
                        }
                        let relay = watched == taskID ? WorkerProgressRelay(taskID: taskID, output: output) : nil
                        if relay != nil { watched = nil }
                        func runTask() {
                            if isBatch {
                                runBatch(taskID, jobName, job, firstItem, registry, journal, output, relay)
                            } else {
                                journal?.itemStarted(0)
                                runSingle(taskID, jobName, job, registry, output)
                                journal?.itemEnded()
                            }
                        }
                        if let trace = traced, trace.taskID == taskID, let tracer = JobTracing.current {
                            // Traced: the run is a span whose parent is the submitter's (the context came with it).
                            traced = nil
                            tracer.withRunSpan(jobName: jobName, items: isBatch ? 0 : 1, carrier: trace.carrier) {
                                JobProgress.$sink.withValue(relay) { runTask() }
                            }
                        } else if let relay {
                            JobProgress.$sink.withValue(relay) { runTask() }
                        } else {
                            runTask()
                        }
                        // Every result is written before the next task starts: if that task crashes the worker, the
                        // parent must have everything before it.
                        output.flush()
                    case .shutdown:
                        output.flush()
                        Syscalls.exitProcess(0)
                    case .hello, .result, .partial, .itemFailure, .failure, .cancelled, .progress, .wake:
                        throw OffloadError(.protocolViolation, "worker received a frame meant for the parent")
                    }
                }
            } catch {
                Syscalls.writeToStandardError("offload worker \(Syscalls.processID): \(error); exiting\n")
                Syscalls.exitProcess(65)
            }
            output.flush()
            if let rings {
                switch chunk.withUnsafeMutableBytes({ rings.receive(into: $0) }) {
                case .bytes(let count):
                    chunk.withUnsafeBytes { reader.append(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
                case .endOfFile: Syscalls.exitProcess(0)
                case .corrupted: Syscalls.exitProcess(65)
                }
                continue
            }
            let outcome = chunk.withUnsafeMutableBytes { Syscalls.read(input, into: $0) }
            switch outcome {
            case .transferred(let count):
                chunk.withUnsafeBytes { reader.append(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
            case .endOfFile: Syscalls.exitProcess(0)
            case .wouldBlock: continue
            case .failed: Syscalls.exitProcess(1)
            }
        }
    }

    /// Runs a single job and queues its result.
    private static func runSingle(
        _ taskID: UInt64,
        _ jobName: String,
        _ payload: [UInt8],
        _ registry: JobRegistry,
        _ output: Output
    ) {
        switch registry.handle(jobName: jobName, payload: payload) {
        case .success(let bytes, let nanoseconds):
            Message.result(
                taskID: taskID,
                isBatch: false,
                runNanoseconds: nanoseconds,
                firstItem: 0,
                count: 1,
                output: bytes
            ).append(to: &output.writer)
        case .failure(let failure):
            Message.failure(taskID: taskID, failure).append(to: &output.writer)
        }
    }

    private static func runBatch(
        _ taskID: UInt64,
        _ jobName: String,
        _ payload: [UInt8],
        _ firstItem: Int,
        _ registry: JobRegistry,
        _ journal: WorkerJournal?,
        _ output: Output,
        _ relay: WorkerProgressRelay? = nil
    ) {
        let recorder = BatchRecorder(taskID: taskID, firstItem: firstItem, journal: journal, output: output)
        recorder.relay = relay
        switch registry.runBatch(jobName: jobName, payload: payload, firstItem: firstItem, observer: recorder) {
        case .finished(_, let nanoseconds):
            let (first, count, outputs) = recorder.unsent()
            Message.result(
                taskID: taskID,
                isBatch: true,
                runNanoseconds: nanoseconds,
                firstItem: first,
                count: count,
                output: outputs
            ).append(to: &output.writer)
        case .stopped:
            // Cancelled between two items: what finished is dropped with the task.
            Message.cancelled(taskID: taskID).append(to: &output.writer)
        case .failed(let failure):
            Message.failure(taskID: taskID, failure).append(to: &output.writer)
        }
    }

    /// The result pipe, written blocking, or the reply ring of the shared-memory transport; `writer` coalesces
    /// frames until ``flush()``.
    final class Output {
        let fd: Int32
        let rings: WorkerRingEnd?
        var writer = FrameWriter()

        init(fd: Int32, rings: WorkerRingEnd? = nil) {
            self.fd = fd
            self.rings = rings
        }

        func flush(throughPipe: Bool = false) {
            guard writer.hasPendingBytes else { return }
            if throughPipe {
                if writer.take().withUnsafeBytes({ Syscalls.writeAll(fd, $0) }) != nil { Syscalls.exitProcess(0) }
                return
            }
            let bytes = writer.take()
            let limit = WorkerLoop.dieAfterWritingBytes.load(ordering: .relaxed)
            if limit >= 0, bytes.count > limit {
                bytes.withUnsafeBytes { _ = send(UnsafeRawBufferPointer(rebasing: $0[..<limit])) }
                Syscalls.raiseSignal(Signals.kill)
            }
            // EPIPE: the parent is gone or gave up on us; nothing left to do.
            if !bytes.withUnsafeBytes({ send($0) }) { Syscalls.exitProcess(0) }
        }

        private func send(_ bytes: UnsafeRawBufferPointer) -> Bool {
            if let rings { return rings.send(bytes) }
            return Syscalls.writeAll(fd, bytes) == nil
        }
    }

    /// Records each item's outcome of one batch in the journal (or, without one, in memory).
    final class BatchRecorder: BatchObserver {
        let taskID: UInt64
        let journal: WorkerJournal?
        let output: Output
        /// The first item not sent yet, how many items after it have an outcome recorded, and their output bytes.
        var firstUnsent: Int
        var recordedCount = 0
        var usedBytes = 0
        /// Without a journal: the outputs kept in memory.
        var buffered: [UInt8] = []
        /// Relays the jobs' progress reports of a watched batch (the item running is set here).
        var relay: WorkerProgressRelay?

        init(taskID: UInt64, firstItem: Int, journal: WorkerJournal?, output: Output) {
            self.taskID = taskID
            self.journal = journal
            self.output = output
            self.firstUnsent = firstItem
        }

        func willRun(item index: Int) -> Bool {
            relay?.item = index
            guard let journal else { return true }
            if journal.isCancelled(taskID) { return false }
            journal.itemStarted(index)
            return true
        }

        func succeeded(item index: Int, output bytes: UnsafeRawBufferPointer) {
            guard let journal else {
                buffered.append(contentsOf: bytes)
                recordedCount += 1
                return
            }
            if !journal.record(output: bytes, used: usedBytes, resolved: recordedCount) {
                sendRecorded()
                if !journal.record(output: bytes, used: 0, resolved: 0) {
                    // Larger than the whole output area: send it on its own.
                    Message.partial(taskID: taskID, firstItem: index, count: 1, outputs: Array(bytes))
                        .append(to: &output.writer)
                    output.flush()
                    firstUnsent = index + 1
                    journal.reset(firstItem: firstUnsent)
                    journal.itemEnded()
                    return
                }
            }
            recordedCount += 1
            usedBytes += bytes.count
            journal.itemEnded()
        }

        func failed(item index: Int, _ failure: RemoteFailure) {
            // Outcomes reach the parent in item order: what finished before this item goes first.
            sendRecorded()
            Message.itemFailure(taskID: taskID, index: index, failure).append(to: &output.writer)
            output.flush()
            firstUnsent = index + 1
            if let journal {
                journal.reset(firstItem: firstUnsent)
                journal.itemEnded()
            }
        }

        /// Sends the recorded outputs as a `partial` frame and empties the record.
        private func sendRecorded() {
            let (first, count, outputs) = unsent()
            guard count > 0 else { return }
            Message.partial(taskID: taskID, firstItem: first, count: count, outputs: outputs).append(to: &output.writer)
            output.flush()
            firstUnsent = first + count
            recordedCount = 0
            usedBytes = 0
            buffered.removeAll(keepingCapacity: true)
            journal?.reset(firstItem: firstUnsent)
        }

        /// The outputs recorded and not yet sent: first item, item count, bytes.
        func unsent() -> (Int, Int, [UInt8]) {
            guard let journal else { return (firstUnsent, recordedCount, buffered) }
            return (firstUnsent, recordedCount, journal.recordedOutputs(used: usedBytes))
        }
    }
}
