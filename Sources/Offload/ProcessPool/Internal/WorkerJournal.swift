import OffloadCore
import OffloadSystem
import OffloadWire

/// Memory a process pool shares with one worker (a `memfd`, the worker's descriptor 5): where the worker records
/// which task and item it is running and the outputs of the batch items it finished, so that whatever kills it —
/// a crash, a timeout, a cancellation, the memory limit — the parent knows exactly which item was running and keeps
/// every outcome before it. It also carries the parent's cancel flags, which the worker checks before each task and
/// each item: prefetched work is withdrawn without a round trip.
///
/// Recording costs a few stores and a copy per item; no system call. (A "started item k" message per item would
/// cost a pipe write and a wake-up of the parent per item, several times the cost of a trivial job.)
///
/// Layout, 64-bit words from offset 0 (written by the worker unless noted):
/// ```
/// 0  magic
/// 1  taskID the worker began last          (stored before it reads the task's cancel flag)
/// 2  running item + 1, 0 between items
/// 3  the running item's start, monotonic ns
/// 4  batch index of the first item in the output area
/// 5  (items with an outcome since word 4) << 32 | bytes used in the output area
/// 8…263  cancel flags (parent): slot taskID % 256 holds taskID when it is cancelled
/// 4096…  output area: concatenated encodings of successful items' outputs
/// ```
final class WorkerJournal: Sendable {
    static let magic: UInt64 = 0x4F46_464C_4A4E_4C31  // "OFFLJNL1"
    static let headerSize = 4096
    static let outputCapacity = 1 << 20
    static let byteCount = headerSize + outputCapacity
    static let cancelSlots = 256
    /// The worker's descriptor for the journal.
    static let workerFD: Int32 = 5

    private enum Word {
        static let magic = 0
        static let task = 1
        static let item = 2
        static let itemStart = 3
        static let firstItem = 4
        static let packed = 5
        static let cancel = 8
    }

    let mapping: SharedMapping

    init(mapping: SharedMapping) {
        self.mapping = mapping
    }

    /// Parent side: a new journal and the descriptor to hand to the worker (close it after the spawn).
    /// `extraBytes` are appended after the journal in the same file (the shared-memory transport's rings).
    static func create(extraBytes: Int = 0) throws(SystemCallError) -> (journal: WorkerJournal, fd: Int32) {
        let fd = try Syscalls.memoryFile(name: "offload-journal", byteCount: byteCount + extraBytes)
        do {
            let journal = WorkerJournal(mapping: try SharedMapping(fd: fd, byteCount: byteCount + extraBytes))
            journal.mapping.store(Word.magic, magic)
            return (journal, fd)
        } catch {
            Syscalls.close(fd)
            throw error
        }
    }

    /// Worker side: the journal the parent passed as descriptor 5, or `nil` (an older parent, or none).
    static func openInWorker() -> WorkerJournal? {
        guard Syscalls.isOpen(workerFD), let size = try? Syscalls.fileSize(workerFD), size >= byteCount,
            let mapping = try? SharedMapping(fd: workerFD, byteCount: size)
        else { return nil }
        Syscalls.close(workerFD)
        guard mapping.load(Word.magic) == magic else { return nil }
        return WorkerJournal(mapping: mapping)
    }

    // MARK: Parent

    /// Raises `taskID`'s cancel flag, then reports whether the worker had already begun the task. (Both sides store
    /// before they load, sequentially consistent: a worker that had not begun it sees the flag and skips it.)
    func cancel(taskID: UInt64) -> Bool {
        mapping.store(Word.cancel + Int(taskID % UInt64(WorkerJournal.cancelSlots)), taskID)
        return mapping.load(Word.task) == taskID
    }

    /// What the worker is doing now.
    func progress() -> WorkerProgress {
        let task = mapping.load(Word.task)
        let item = mapping.load(Word.item)
        let start = mapping.load(Word.itemStart)
        guard mapping.load(Word.task) == task else {
            return WorkerProgress(taskID: task, runningItem: nil, itemStart: 0)
        }
        return WorkerProgress(taskID: task, runningItem: item == 0 ? nil : Int(item - 1), itemStart: start)
    }

    /// Everything a dead worker recorded (read after it was reaped: nothing changes any more).
    func snapshot() -> JournalSnapshot {
        let packed = mapping.load(Word.packed)
        let used = min(Int(packed & 0xFFFF_FFFF), WorkerJournal.outputCapacity)
        return JournalSnapshot(
            progress: progress(),
            firstItem: Int(mapping.load(Word.firstItem)),
            resolved: Int(packed >> 32),
            outputs: mapping.read(at: WorkerJournal.headerSize, count: used)
        )
    }

    // MARK: Worker

    /// Begins `taskID` (batch items from `firstItem`); returns `false` when the parent cancelled it.
    func begin(taskID: UInt64, firstItem: Int) -> Bool {
        mapping.store(Word.item, 0)
        mapping.store(Word.packed, 0)
        mapping.store(Word.firstItem, UInt64(firstItem))
        mapping.store(Word.task, taskID)
        return !isCancelled(taskID)
    }

    func isCancelled(_ taskID: UInt64) -> Bool {
        mapping.load(Word.cancel + Int(taskID % UInt64(WorkerJournal.cancelSlots))) == taskID
    }

    /// Item `item` starts now. Release stores: only the parent's timeout check reads them, and a stale read there
    /// only delays a kill. The precise clock: the coarse one (a few nanoseconds cheaper) is not advanced while every
    /// CPU idles without a tick, so a stamp taken just after a wake-up can lie far in the past, and a job would be
    /// killed for a timeout it never reached (seen in the test suite).
    func itemStarted(_ item: Int) {
        mapping.storeRelease(Word.itemStart, Syscalls.monotonicNanoseconds())
        mapping.storeRelease(Word.item, UInt64(item) + 1)
    }

    func itemEnded() {
        mapping.storeRelease(Word.item, 0)
    }

    /// Records a successful item's output after `used` bytes and `resolved` items; `false` when it does not fit
    /// (send what is recorded, then ``reset(firstItem:)``). The counters live with the caller: the worker never
    /// reads back what it wrote.
    func record(output: UnsafeRawBufferPointer, used: Int, resolved: Int) -> Bool {
        guard used + output.count <= WorkerJournal.outputCapacity else { return false }
        mapping.write(output, at: WorkerJournal.headerSize + used)
        mapping.storeRelease(Word.packed, UInt64(resolved + 1) << 32 | UInt64(used + output.count))
        return true
    }

    /// The recorded outputs (the first `used` bytes of the output area).
    func recordedOutputs(used: Int) -> [UInt8] {
        mapping.read(at: WorkerJournal.headerSize, count: used)
    }

    /// Empties the output area (its content was sent); the next recorded item is `firstItem`.
    func reset(firstItem: Int) {
        mapping.store(Word.packed, 0)
        mapping.store(Word.firstItem, UInt64(firstItem))
    }
}
