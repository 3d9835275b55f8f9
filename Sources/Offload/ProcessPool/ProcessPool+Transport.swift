extension ProcessPool {
    /// How jobs and results travel between a ``ProcessPool`` and its workers.
    ///
    /// Either way each worker keeps its pipes and its pidfd, so a crash is noticed at once and handled the same
    /// way (the failing task's error, the replacement, retries); only the path of the frames changes.
    ///
    /// Python mapping: `ProcessPoolExecutor` always sends calls and results through pipes (`multiprocessing.Queue`);
    /// ``sharedMemory`` is closer to the rings of Aeron or iceoryx2.
    public enum Transport: Sendable, Hashable, CaseIterable, CustomStringConvertible {
        /// The transport that is never worse than the other for the pool's shape: currently ``pipes``.
        /// On an otherwise idle 2-CPU machine ``sharedMemory`` answers a one-job round trip about 12× sooner and
        /// moves unbatched jobs about 1.2× faster, but when every CPU is already busy with other work its
        /// busy-waiting readers take CPU time from the very threads they wait for, and it measured slower than
        /// pipes (about 0.7× on unbatched jobs, with millisecond tails). Choose ``sharedMemory`` explicitly where
        /// cores are to spare and latency matters.
        case automatic
        /// Every frame through the worker's pipes; both sides sleep in the kernel between frames.
        case pipes
        /// Frames through two single-producer, single-consumer rings in memory shared with each worker (a `memfd`:
        /// nothing named, nothing left behind by a killed process). A reader busy-waits briefly (adapting to how
        /// often frames arrive, and not at all when the pool is idle or workers outnumber the CPUs), then sleeps;
        /// a writer makes a system call only to wake a reader that said it sleeps. Falls back to pipes for a worker
        /// whose memory file cannot be created.
        case sharedMemory

        public var description: String {
            switch self {
            case .automatic: "automatic"
            case .pipes: "pipes"
            case .sharedMemory: "sharedMemory"
            }
        }
    }
}

extension ProcessPool.Configuration {
    func validateTransport(_ require: (Bool, String) throws(OffloadError) -> Void) throws(OffloadError) {
        let bytes = sharedMemoryRingBytes
        try require(
            bytes >= 4096 && bytes <= 1 << 26 && bytes & (bytes - 1) == 0,
            "sharedMemoryRingBytes must be a power of two from 4096 to \(1 << 26), got \(bytes)"
        )
    }

    /// Whether workers get shared-memory rings.
    var usesSharedMemory: Bool { transport == .sharedMemory }
}
