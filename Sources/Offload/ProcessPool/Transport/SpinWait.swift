import OffloadSystem

/// The busy-wait of the readers of a shared-memory ring (a worker, the manager, a waiting caller): loads of the
/// ring's head with `pause` between them, the clock read every 32 loads, and the CPU given away (`sched_yield`)
/// every `yieldEvery` nanoseconds (``SpinPolicy/yieldInterval``, or ``SpinPolicy/workerYieldInterval``).
///
/// The yield matters on a machine with few cores: a thread of the parent that the kernel queued on a spinner's CPU
/// (an awaiting caller the manager just resumed) would otherwise wait for the whole spin, up to 50 µs. With one
/// worker on two cores that happened in about half of the runs of a warm round trip; with the yield those runs
/// take what the others take. A yield with nothing else runnable returns at once.
enum SpinWait {
    /// Spins until `arrived()` holds or `budget` nanoseconds pass. Returns the nanoseconds it took when it held,
    /// `nil` when the budget ran out.
    @inline(__always)
    static func until(
        budget: UInt64,
        yieldEvery: UInt64 = SpinPolicy.yieldInterval,
        _ arrived: () -> Bool
    ) -> UInt64? {
        let start = Syscalls.monotonicNanoseconds()
        var lastYield = start
        var spins = 0
        while true {
            if arrived() { return Syscalls.monotonicNanoseconds() &- start }
            Syscalls.cpuRelax()
            spins &+= 1
            guard spins & 31 == 0 else { continue }
            let now = Syscalls.monotonicNanoseconds()
            if now &- start >= budget { return nil }
            if now &- lastYield >= yieldEvery {
                Syscalls.yieldProcessor()
                lastYield = now
            }
        }
    }
}
