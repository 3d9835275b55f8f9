/// How long the two ends of a shared-memory ring may busy-wait, from the pool's shape: spinning threads must never
/// outnumber the cores, or a spinner would take the CPU from the very thread it waits for.
///
/// - A worker spins only when the workers fit on the cores (workers ≤ cores).
/// - The manager spins only when there is a core left over for it (workers < cores).
///
/// Within these maxima each reader's ``SpinBudget`` adapts to how often frames arrive, and drops to nothing when
/// the pool is idle.
struct SpinPolicy: Sendable, Equatable {
    /// The longest spin of any reader, nanoseconds: a little more than a warm round trip's kernel wake-up costs on
    /// a virtual machine (~25 µs), so one spin can bridge a gap that would otherwise cost one.
    static let ceiling: UInt64 = 50_000

    /// A spinning reader gives its CPU away (`sched_yield`) this often, nanoseconds: a thread of the parent that the
    /// kernel queued on a spinner's CPU (an awaiting caller resumed by the manager) would otherwise wait for the
    /// whole spin.
    static let yieldInterval: UInt64 = 5_000

    /// A spinning worker yields less often: when every core is busy with other programs, each yield hands the CPU
    /// to one of them for a while. Measured with two busy loops beside the pool (`offload bench-processes
    /// --compare-transports --quick`), unbatched trivial jobs on two workers on shared memory ran at 0.35× the pipes
    /// with a yield every 5 µs and 0.74× with one every 25 µs, and the warm round trip's p99 fell from 4 ms to 20 µs;
    /// on a quiet machine the two measured the same.
    static let workerYieldInterval: UInt64 = 25_000

    let worker: UInt64
    let manager: UInt64

    init(worker: UInt64, manager: UInt64) {
        self.worker = worker
        self.manager = manager
    }

    init(workers: Int, cores: Int) {
        worker = workers <= cores ? SpinPolicy.ceiling : 0
        manager = workers < cores ? SpinPolicy.ceiling : 0
    }
}
