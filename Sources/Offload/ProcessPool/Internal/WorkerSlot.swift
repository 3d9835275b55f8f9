import DequeModule
import Glibc
import OffloadSystem
import OffloadWire

/// One worker position of the pool: the process currently filling it (if any), its descriptors and its queue.
/// Lives inside the pool's `Mutex`; only the manager thread reads its descriptors, while submitting threads may append
/// frames and flush the command pipe.
struct WorkerSlot {
    enum Phase: Equatable {
        /// No process: the manager spawns one when the pool needs it.
        case empty
        /// Spawned, hello not yet received. `deadline` in monotonic nanoseconds.
        case starting(deadline: UInt64)
        /// Serving tasks.
        case ready
        /// Sent `shutdown` (recycling or pool shutdown); waiting for it to exit.
        case retiring
    }

    /// Why the pool killed this worker; decides the error of the task it was running.
    enum KillReason {
        case taskTimeout(Duration)
        case memory(residentBytes: Int, limit: Int)
        case protocolViolation(OffloadError)
        case startTimeout(Duration)
        case shutdown
    }

    let index: Int
    var phase: Phase = .empty
    var generation = 0
    var pid: pid_t = 0
    var pidfd: Int32 = -1
    var commandFD: Int32 = -1
    var resultFD: Int32 = -1
    var stderrFD: Int32 = -1
    var reader: FrameReader
    var writer = FrameWriter()
    var inFlight: Deque<QueuedTask> = []
    /// When the head of `inFlight` started (estimated: when it was sent to an idle worker or its predecessor's result
    /// arrived), in monotonic nanoseconds.
    var headStarted: UInt64 = 0
    /// Tasks sent to the current process (recycling).
    var sent = 0
    var stderrTail: [String] = []
    var stderrPartial: [UInt8] = []
    var killReason: KillReason?
    /// Exponentially weighted mean run time of this worker's tasks in nanoseconds (-1: unknown).
    var meanRunNanoseconds: Double = -1
    var resultClosed = false
    var commandBroken = false

    init(index: Int, maxPayload: Int) {
        self.index = index
        self.reader = FrameReader(maxPayload: maxPayload)
    }

    var isLive: Bool { phase != .empty }

    var isReady: Bool { phase == .ready && !commandBroken }

    /// The number of tasks this worker may hold: one queued behind the running one (so the worker does not idle
    /// during the round trip), more while tasks are short enough that the prefetch window covers several, at most
    /// `maxPrefetch`; only one when tasks take 20 ms or more (the round trip is then negligible, and a second task
    /// queued behind a long one could wait while another worker is free). Two while the duration is unknown.
    func prefetchLimit(window: Double, maxPrefetch: Int) -> Int {
        guard meanRunNanoseconds >= 0 else { return min(2, maxPrefetch) }
        if meanRunNanoseconds >= 20_000_000 { return 1 }
        let extra = Int(window / max(meanRunNanoseconds, 50))
        return max(1, min(maxPrefetch, max(2, 1 + extra)))
    }

    mutating func recordRun(nanoseconds: UInt64) {
        let sample = Double(nanoseconds)
        meanRunNanoseconds = meanRunNanoseconds < 0 ? sample : meanRunNanoseconds * 0.8 + sample * 0.2
    }

    /// Appends stderr bytes, keeping the last `keep` complete lines (and forwarding them when asked).
    mutating func appendStderr(_ bytes: UnsafeRawBufferPointer, keep: Int, forward: Bool) {
        if forward { _ = Syscalls.writeAll(2, bytes) }
        for byte in bytes {
            if byte == UInt8(ascii: "\n") {
                pushStderrLine(keep: keep)
            } else if stderrPartial.count < 4096 {
                stderrPartial.append(byte)
            }
        }
    }

    mutating func pushStderrLine(keep: Int) {
        guard !stderrPartial.isEmpty else { return }
        stderrTail.append(String(decoding: stderrPartial, as: UTF8.self))
        stderrPartial.removeAll(keepingCapacity: true)
        // Keep more than reported: a Swift crash report (registers, backtrace) can run to hundreds of lines.
        let retained = max(keep, 512)
        if stderrTail.count > retained + 64 { stderrTail.removeFirst(stderrTail.count - retained) }
    }

    /// The last `keep` lines the worker wrote before a Swift runtime crash report started (plus the report's
    /// "Program crashed" headline), or simply the last `keep` lines.
    func stderrSummary(keep: Int) -> [String] {
        guard keep > 0 else { return [] }
        if let crash = stderrTail.lastIndex(where: { $0.contains("Program crashed") }) {
            return Array(stderrTail[..<crash].suffix(keep - 1)) + [stderrTail[crash]]
        }
        return Array(stderrTail.suffix(keep))
    }

    /// Closes the process's descriptors and forgets it; the queue is handled by the caller.
    mutating func closeDescriptors() {
        for fd in [commandFD, resultFD, stderrFD, pidfd] { Syscalls.close(fd) }
        commandFD = -1
        resultFD = -1
        stderrFD = -1
        pidfd = -1
    }

    /// Resets the per-process fields for a fresh process.
    mutating func reset(maxPayload: Int) {
        phase = .empty
        pid = 0
        reader = FrameReader(maxPayload: maxPayload)
        writer = FrameWriter()
        sent = 0
        stderrTail = []
        stderrPartial = []
        killReason = nil
        resultClosed = false
        commandBroken = false
    }
}
