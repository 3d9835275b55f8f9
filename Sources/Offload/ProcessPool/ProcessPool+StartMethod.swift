import OffloadSystem
import Synchronization

extension ProcessPool {
    /// How a ``ProcessPool`` starts its worker processes. Python mapping: `multiprocessing`'s start methods
    /// (`multiprocessing.get_context("spawn")` / `get_context("forkserver")`, the `mp_context=` of
    /// `ProcessPoolExecutor`). Python's third method, `"fork"`, has no counterpart: forking a multi-threaded Swift
    /// process is unsafe.
    public enum StartMethod: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
        /// Every worker is a new run of the executable (`posix_spawn`, then `exec`), which calls
        /// ``ProcessPool/runWorkerIfRequested(registry:)`` and becomes a worker. Works from any program at any time
        /// and reads the environment as each worker starts; each start costs a whole program start-up (a dynamic
        /// loader, Swift's runtime, Foundation if linked: typically 10–20 ms). Choose it when workers must read the
        /// environment or working directory as they are when each starts, or when `main` must run its set-up in
        /// every worker. Python: `"spawn"`.
        case spawn
        /// The pool starts one extra run of the executable, once, as a *fork server*: it reaches
        /// ``ProcessPool/runWorkerIfRequested(registry:)`` before the program does anything else, stays
        /// single-threaded, and forks a worker on request. The fork is made with `clone(CLONE_PARENT)`, so each
        /// worker is a child of the pool, not of the server; a worker is ready within about a millisecond instead of
        /// a program start-up, which makes replacing a crashed or recycled worker cheap, and a pool reaches its first
        /// results sooner (one program start instead of one per worker). The default, as in Python on Linux since
        /// 3.14: `"forkserver"`.
        ///
        /// The constraints are Python's: the program's `main` must call
        /// ``ProcessPool/runWorkerIfRequested(registry:)`` before it starts any thread (the server checks that it
        /// has exactly one thread before each fork, and the pool spawns workers when it has more); whatever `main`
        /// did before that call — and the environment, working directory and arguments as they were when the
        /// server started — is what every worker inherits. A forked worker runs jobs on a fresh thread, so no
        /// thread-local state of the server's main thread reaches them.
        ///
        /// When a fork cannot be made — the server could not start, has more than one thread, the kernel refuses
        /// `CLONE_PARENT`, the program runs under ThreadSanitizer (which cannot follow a cloned worker), or the
        /// server died more often than it may be restarted — the worker is started with ``spawn`` instead, and
        /// ``ProcessPool/startMethodStatus`` says why. A server that stops answering (stopped with `SIGSTOP`, or
        /// starved of CPU) is waited for at most half a second per request once it has answered its first (which
        /// also waits for its start-up, up to ``ProcessPool/Configuration/startTimeout``); then it is killed and
        /// counts as a server that died. No task is lost either way, and nothing outlives the pool: the server and
        /// every worker it forked end with it, even when the pool's process is killed.
        case forkServer

        public var description: String { self == .spawn ? "spawn" : "forkserver" }
    }

    /// How a pool's workers are actually being started (see ``ProcessPool/startMethodStatus``).
    public struct StartMethodStatus: Sendable, Equatable {
        /// The configured ``Configuration/startMethod``.
        public var configured: StartMethod
        /// The method the next worker start will use: ``StartMethod/spawn`` once the fork server fell back.
        public var current: StartMethod
        /// Why the pool stopped using its fork server, or last had to restart it; `nil` while all went well.
        public var fallbackReason: String?
        /// Workers started through the fork server so far.
        public var workersForked: Int
        /// How many times a fork server process was started (1 unless it died and was restarted).
        public var serverStarts: Int
    }

    /// How this pool's workers are being started: the configured method, the one in use, and the reason if the fork
    /// server fell back to ``StartMethod/spawn``.
    public var startMethodStatus: StartMethodStatus {
        core.forkServer?.status
            ?? StartMethodStatus(
                configured: configuration.startMethod,
                current: .spawn,
                fallbackReason: nil,
                workersForked: 0,
                serverStarts: 0
            )
    }

    /// Test hook (package access): the fork server's PID while it runs.
    package var forkServerPID: Int32? { core.forkServer?.serverPID }

    /// Test hook (package access): in a fork server, the next fork is followed by the server's death (SIGKILL)
    /// before it replies — "the server dies between forking a worker and telling the pool".
    package static func testHookForkServerDiesAfterNextClone() {
        ForkServer.dieAfterNextClone.store(true, ordering: .relaxed)
    }

    /// Test hook (package access): in a fork server, each forked worker waits until the pool has stopped waiting
    /// for its PID, then writes its PID to the FIFO at `path`, then announces itself to the pool as usual.
    package static func testHookForkedWorkerAnnouncesLate(fifo path: String) {
        ForkServer.lateAnnouncementFIFO.withLock { $0 = path }
    }
}
