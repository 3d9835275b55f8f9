import OffloadCore
import OffloadSystem
import Synchronization

/// Which submissions to an in-process pool get a queue-wait stamp (the time they were queued, for
/// `offload_task_queue_wait_seconds`).
///
/// Reading the clock costs tens of nanoseconds (60 ns measured on a loaded 2-core virtual machine), a sizeable part of
/// submitting a tiny task (about 450 ns on the same machine), and a report carries at most
/// ``PoolReport/sampleLimit`` waits per worker anyway. So a pool stamps at most ``perReport`` submissions between two
/// of its reports: every one while the pool is lightly used, a few per report at its peak rate. The samples are then
/// the waits of the first tasks queued after each report. Nothing is stamped while nobody observes the pools.
final class QueueStampBudget: Sendable {
    /// The most submissions stamped between two reports.
    static var perReport: Int { 2 * PoolReport.sampleLimit }

    private let left = Atomic<Int>(QueueStampBudget.perReport)

    /// The time to stamp a submission with, or 0 for none.
    @inline(__always)
    func stamp() -> UInt64 {
        guard PoolObservation.isActive, left.load(ordering: .relaxed) > 0 else { return 0 }
        // Racing submitters may take the budget a little below zero: a few more stamps, harmless.
        left.subtract(1, ordering: .relaxed)
        return Syscalls.monotonicNanoseconds()
    }

    /// A report went out: the next ``perReport`` submissions may be stamped.
    func refill() {
        left.store(Self.perReport, ordering: .relaxed)
    }
}
