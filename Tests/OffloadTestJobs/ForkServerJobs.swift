import Offload
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Returns the worker's PID and its parent's PID (fork-server tests: a forked worker is a child of the pool).
public struct WorkerLineage: Job {
    public struct Lineage: Codable, Sendable, Equatable {
        public var pid: Int32
        public var parent: Int32
        /// Which of descriptors 0-9 are open in the worker.
        public var descriptors: [Int32]
    }
    public static var jobName: String { "WorkerLineage" }
    public init() {}
    public func run() throws -> Lineage {
        // Which of descriptors 0-9 are open: a forked worker must have exactly what a spawned one has.
        let open = (0..<10).filter { fcntl(Int32($0), F_GETFD) >= 0 }.map { Int32($0) }
        return Lineage(pid: getpid(), parent: getppid(), descriptors: open)
    }
}

/// A Mutex of this module that the fixture can lock on its main thread before the entry point
/// (`--mutex-before-entry`): Swift caches the locking thread's id per thread, and a fork server's main thread
/// would pass that cache on to forked workers.
public let entryMutex = Mutex<Int>(0)
private let contenderState = Atomic<Int>(0)

/// Locks ``entryMutex`` on the main thread (the fixture, before `runWorkerIfRequested`).
public func lockEntryMutexOnce() {
    entryMutex.withLock { $0 += 1 }
}

/// Holds ``entryMutex`` while a second thread blocks on it, then releases it: a contended Mutex handed from the
/// thread that runs jobs to another. Returns how many times the Mutex was taken in this worker (2).
public struct ContendEntryMutex: Job {
    public static var jobName: String { "ContendEntryMutex" }
    public init() {}
    public func run() throws -> Int {
        let before = entryMutex.withLock { $0 }
        contenderState.store(0, ordering: .sequentiallyConsistent)
        var thread = pthread_t()
        entryMutex.withLock { value in
            _ = pthread_create(&thread, nil, contend, nil)
            while contenderState.load(ordering: .sequentiallyConsistent) == 0 {}
            // Give the contender time to block in the kernel (FUTEX_LOCK_PI); the outcome is checked either way.
            usleep(20_000)
            value += 1
        }
        pthread_join(thread, nil)
        return entryMutex.withLock { $0 } - before
    }
}

private func contend(_: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    contenderState.store(1, ordering: .sequentiallyConsistent)
    entryMutex.withLock { $0 += 1 }
    return nil
}
