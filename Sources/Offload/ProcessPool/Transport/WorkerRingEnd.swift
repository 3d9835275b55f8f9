import OffloadSystem
import OffloadWire

/// The worker's end of a ``SharedTransport``: it reads commands from the command ring and writes replies to the
/// reply ring. Waiting for a command it spins for its ``SpinBudget``, then announces it sleeps and sleeps on the
/// ring's futex, waking every ``watchdogNanoseconds`` to check that its parent and its command pipe are still there
/// (a parent killed with SIGKILL also ends the worker through `PR_SET_PDEATHSIG`; the watchdog is the second line).
/// When the parent's reader said it sleeps, or the parent waits for space in the command ring, the worker rings the
/// doorbell: a `wake` frame on the result pipe, which the parent's manager polls.
final class WorkerRingEnd {
    enum Received {
        case bytes(Int)
        /// The parent is gone (its end of the command pipe closed).
        case endOfFile
        /// The ring's header holds impossible positions.
        case corrupted
    }

    static let watchdogNanoseconds: UInt64 = 100_000_000

    let transport: SharedTransport
    private var budget: SpinBudget
    private let doorbellFD: Int32
    private let commandFD: Int32
    private let parent: Int32
    private let doorbell: [UInt8]

    init(transport: SharedTransport, doorbellFD: Int32, commandFD: Int32, parent: Int32) {
        self.transport = transport
        self.budget = SpinBudget(maximum: transport.workerSpin)
        self.doorbellFD = doorbellFD
        self.commandFD = commandFD
        self.parent = parent
        var writer = FrameWriter()
        Message.wake.append(to: &writer)
        self.doorbell = writer.take()
    }

    /// The rings the parent announced in the environment, in the memory file after `journal`; `nil` without them.
    /// A worker told to use rings it cannot find exits (status 65) rather than wait on a transport nobody writes.
    static func open(journal: WorkerJournal?, doorbellFD: Int32, commandFD: Int32, parent: Int32) -> WorkerRingEnd? {
        guard let value = Syscalls.environmentValue(SharedTransport.environmentKey) else { return nil }
        Syscalls.removeEnvironmentValue(SharedTransport.environmentKey)
        guard let (capacity, spin) = SharedTransport.parse(value), let journal,
            journal.mapping.byteCount >= WorkerJournal.byteCount + SharedTransport.byteCount(ringCapacity: capacity)
        else {
            Syscalls.writeToStandardError("offload worker: shared-memory transport '\(value)' not usable; exiting\n")
            Syscalls.exitProcess(65)
        }
        let transport = SharedTransport(
            mapping: journal.mapping,
            offset: WorkerJournal.byteCount,
            ringCapacity: capacity,
            workerSpin: spin
        )
        guard transport.commands.isFormatted, transport.replies.isFormatted else {
            Syscalls.writeToStandardError("offload worker: shared-memory rings not formatted; exiting\n")
            Syscalls.exitProcess(65)
        }
        return WorkerRingEnd(transport: transport, doorbellFD: doorbellFD, commandFD: commandFD, parent: parent)
    }

    // MARK: Commands

    /// Blocks until commands arrive, then moves them into `buffer`.
    func receive(into buffer: UnsafeMutableRawBufferPointer) -> Received {
        let commands = transport.commands
        while true {
            guard let count = commands.read(into: buffer) else { return .corrupted }
            if count > 0 {
                // The parent stopped writing because the ring was full: tell it there is room.
                if commands.takeWriterWaiting(), !ringDoorbell() { return .endOfFile }
                return .bytes(count)
            }
            if !waitForCommands() { return .endOfFile }
        }
    }

    /// Spins, then sleeps, until the command ring has bytes. `false` when the parent is gone.
    private func waitForCommands() -> Bool {
        let commands = transport.commands
        if budget.current > 0,
            let waited = SpinWait.until(
                budget: budget.current,
                yieldEvery: SpinPolicy.workerYieldInterval,
                { commands.availableBytes != 0 }
            )
        {
            budget.arrivedWhileSpinning(after: waited)
            return true
        }
        let sleepStart = Syscalls.monotonicNanoseconds()
        defer { budget.arrivedAfterSleeping(Syscalls.monotonicNanoseconds() - sleepStart) }
        while true {
            commands.announceReaderSleeping()
            if commands.availableBytes != 0 {
                commands.withdrawReaderSleeping()
                return true
            }
            let woken = commands.sleepWhileReaderSleeping(timeoutNanoseconds: WorkerRingEnd.watchdogNanoseconds)
            if commands.availableBytes != 0 {
                commands.withdrawReaderSleeping()
                return true
            }
            if !woken, !parentAlive() { return false }
        }
    }

    // MARK: Replies

    /// Writes all of `bytes` to the reply ring, waiting for room when it is full (the parent's manager drains it
    /// and wakes this writer). The first `limit` bytes only, when given (a test hook that then kills the worker).
    /// `false` when the parent is gone or the ring is corrupted.
    func send(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let replies = transport.replies
        var offset = 0
        while offset < bytes.count {
            guard let count = replies.write(UnsafeRawBufferPointer(rebasing: bytes[offset...])) else { return false }
            offset += count
            if count > 0, replies.takeReaderSleeping(), !ringDoorbell() { return false }
            guard count == 0 else { continue }
            replies.announceWriterWaiting()
            if replies.freeBytes == 0 {
                if !replies.sleepWhileWriterWaiting(timeoutNanoseconds: WorkerRingEnd.watchdogNanoseconds),
                    !parentAlive()
                {
                    return false
                }
            }
            replies.withdrawWriterWaiting()
        }
        return true
    }

    // MARK: Parent

    private func ringDoorbell() -> Bool {
        doorbell.withUnsafeBytes { Syscalls.writeAll(doorbellFD, $0) } == nil
    }

    /// The watchdog's check: the parent still runs and has not closed the command pipe (it writes nothing there
    /// with this transport, so a readable pipe means end-of-file).
    private func parentAlive() -> Bool {
        if parent > 0, Syscalls.parentProcessID != parent { return false }
        var entries = [Syscalls.PollEntry(fd: commandFD)]
        return Syscalls.poll(&entries, timeoutMilliseconds: 0) == 0
    }
}
