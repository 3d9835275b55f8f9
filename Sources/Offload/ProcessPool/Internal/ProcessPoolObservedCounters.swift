import OffloadCore
import OffloadSystem
import Synchronization

/// The counters a process pool keeps only for ``PoolObservation``: bytes written to and read from its workers'
/// pipes (one relaxed atomic add per system call, which already costs far more), and when the pool last reported.
final class ProcessPoolObservedCounters: Sendable {
    private let sentBytes = Atomic<Int>(0)
    private let receivedBytes = Atomic<Int>(0)
    private let lastReport = Atomic<UInt64>(0)

    /// Counters alone are reported at most this often (events always go out at once).
    static let interval: UInt64 = 100_000_000

    var bytesSent: Int { sentBytes.load(ordering: .relaxed) }
    var bytesReceived: Int { receivedBytes.load(ordering: .relaxed) }

    func sent(_ count: Int) {
        if count > 0 { sentBytes.add(count, ordering: .relaxed) }
    }

    func received(_ count: Int) {
        receivedBytes.add(count, ordering: .relaxed)
    }

    /// Whether the interval has passed since the last report.
    func isDue() -> Bool {
        Syscalls.monotonicNanoseconds() &- lastReport.load(ordering: .relaxed) >= Self.interval
    }

    func reported() {
        lastReport.store(Syscalls.monotonicNanoseconds(), ordering: .relaxed)
    }
}
