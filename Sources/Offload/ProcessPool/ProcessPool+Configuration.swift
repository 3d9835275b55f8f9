extension ProcessPool {
    /// Everything a ``ProcessPool`` can be told at creation. Every property has a default, so
    /// `ProcessPool.Configuration()` is a pool of ``WorkerCount/available`` relaunched copies of this executable.
    ///
    /// Python mapping: the keyword arguments of `ProcessPoolExecutor(max_workers, mp_context, initializer, initargs,
    /// max_tasks_per_child)`, plus the per-task timeout, memory limit and retries that Python's pool lacks.
    public struct Configuration: Sendable {
        /// Number of worker processes; `nil` means ``WorkerCount/available``.
        public var workers: Int?
        /// Name used in error messages (``OffloadError/Code/poolShutDown``) and the manager thread's name.
        public var name: String
        /// Executable to launch as worker; `nil` relaunches the current executable (`/proc/self/exe`). Either way its
        /// `main` must call ``ProcessPool/runWorkerIfRequested(registry:)`` first.
        public var executable: String?
        /// Arguments passed to the worker executable (after `argv[0]`).
        public var arguments: [String]
        /// The workers' whole environment; `nil` inherits the parent's environment at the time each worker starts
        /// (with ``StartMethod/forkServer``: at the time the fork server starts, when the pool starts).
        /// To add or change a few variables and keep the rest, use ``environmentOverrides``.
        public var environment: [String: String]?
        /// Variables set in every worker on top of its environment (inherited, or ``environment``), replacing any
        /// variable of the same name.
        public var environmentOverrides: [String: String]
        /// Run Swift's full crash backtracer in the workers. Off by default: workers start with
        /// `SWIFT_BACKTRACE=enable=no` (unless the environment or ``environmentOverrides`` set `SWIFT_BACKTRACE`),
        /// so a crashing worker dies in milliseconds instead of spending a few hundred milliseconds symbolicating its
        /// stack, and its stderr tail in the error holds the runtime's fatal-error line rather than a long report.
        /// Turn it on while debugging a crash.
        public var fullBacktraces: Bool
        /// The workers' working directory; `nil` inherits the parent's.
        public var workingDirectory: String?
        /// A job running longer than this is stopped: its worker is killed (SIGKILL) and replaced, and the job fails
        /// with ``OffloadError/Code/taskTimedOut``. Applies to each job, also to each job inside a map's chunk (the
        /// jobs after it run on the replacement worker). ``JobOptions/timeout`` overrides it per call. `nil`: no limit.
        public var taskTimeout: Duration?
        /// What cancelling a handle (``TaskHandle/cancel(mode:)`` without a mode) or the task awaiting `run`/`map`
        /// does to a job that has started: `.finishRunning` (default) lets it finish in the background and drops its
        /// result; `.stopRunning` kills its worker at once and replaces it. Queued and prefetched jobs are withdrawn
        /// either way.
        public var cancellationMode: CancellationMode
        /// A worker is replaced by a fresh process after running this many tasks (a batch counts as one).
        /// `nil`: never. Python: `max_tasks_per_child`.
        public var maxTasksPerWorker: Int?
        /// Resident memory (VmRSS, polled every ``memoryPollInterval`` while the worker runs a task) above which the
        /// worker is killed; its task fails with ``OffloadError/Code/memoryLimitExceeded``. `nil`: no limit.
        public var memoryLimitBytes: Int?
        /// How often resident memory is checked when ``memoryLimitBytes`` is set.
        public var memoryPollInterval: Duration
        /// A ``WorkerInitializer`` each worker runs once, before its first job; its type must be registered in the
        /// worker's registry with ``JobRegistry/register(initializer:)``. If it fails, the pool is broken: tasks fail
        /// with ``OffloadError/Code/workerInitializationFailed``. Python: `initializer=` with `initargs=`.
        public var initializer: (any WorkerInitializer)?
        /// How many times a task whose job is ``Job/isIdempotent`` is run again after its worker crashed or ran out of
        /// memory. Non-idempotent jobs are never retried.
        public var retries: Int
        /// How long a new worker may take to say hello before the pool reports
        /// ``OffloadError/Code/workerEntryPointMissing``.
        public var startTimeout: Duration
        /// During shutdown: how long workers get to exit after being asked, and again after SIGTERM, before SIGKILL.
        public var shutdownGracePeriod: Duration
        /// Largest frame payload accepted in either direction (a job, a batch or a result).
        public var maxFramePayload: Int
        /// Upper bound on the tasks queued inside one worker (sent but not finished). The actual number adapts to the
        /// measured duration of each job type: a task waits behind another in a worker only when both are known to
        /// take under 20 ms, up to about ``prefetchWindow`` of work (and at least one waiting, which hides the round
        /// trip). A job of a type not measured yet is never queued behind a running one. Prefetched tasks are still
        /// withdrawn by cancellation: the worker skips them.
        public var maxPrefetch: Int
        /// The amount of queued work per worker that adaptive prefetch aims at.
        public var prefetchWindow: Duration
        /// Copy what workers write to standard error to the parent's standard error (the last lines are kept for
        /// error reports either way).
        public var forwardWorkerStderr: Bool
        /// How many of a worker's last stderr lines an error carries.
        public var stderrLinesKept: Int
        /// At most this many lines per second of all workers' stderr are copied to the parent's stderr (bursts of as
        /// many pass); the rest are counted and announced in one line. Errors keep their last lines either way.
        public var stderrForwardLinesPerSecond: Int
        /// How jobs and results travel between the pool and each worker: ``Transport/automatic`` (default),
        /// ``Transport/pipes`` or ``Transport/sharedMemory``. Crashes are detected the same way with each.
        public var transport: Transport
        /// Capacity in bytes of each of a worker's two shared-memory rings (with ``Transport/sharedMemory``): a power
        /// of two from 4 KiB to 64 MiB. Larger jobs and results still work; they go through the ring in pieces.
        public var sharedMemoryRingBytes: Int
        /// How workers are started: ``StartMethod/forkServer`` (default: forked by a fork server the pool starts
        /// once, so a replacement after a crash or ``maxTasksPerWorker`` is ready in under a millisecond; it falls
        /// back to spawning by itself when it cannot fork) or ``StartMethod/spawn`` (a new run of the executable for
        /// each worker, reading the environment as each starts). Python: the `mp_context=` start method,
        /// `"forkserver"` (Python's default on Linux since 3.14) or `"spawn"`.
        public var startMethod: StartMethod

        /// Creates a configuration.
        /// - Parameters:
        ///   - workers: number of worker processes (`nil`: ``WorkerCount/available``).
        ///   - taskTimeout: per-task time limit, enforced by killing the worker.
        ///   - maxTasksPerWorker: tasks after which a worker is recycled.
        ///   - memoryLimitBytes: per-worker resident-memory limit.
        ///   - initializer: an initializer each worker runs once (its type registered in the worker).
        ///   - retries: re-runs of idempotent jobs whose worker died.
        ///   - executable: worker executable (`nil`: this executable).
        ///   - arguments: worker arguments.
        public init(
            workers: Int? = nil,
            taskTimeout: Duration? = nil,
            maxTasksPerWorker: Int? = nil,
            memoryLimitBytes: Int? = nil,
            initializer: (any WorkerInitializer)? = nil,
            retries: Int = 0,
            executable: String? = nil,
            arguments: [String] = []
        ) {
            self.workers = workers
            self.name = "ProcessPool"
            self.executable = executable
            self.arguments = arguments
            self.environment = nil
            self.environmentOverrides = [:]
            self.fullBacktraces = false
            self.cancellationMode = .finishRunning
            self.workingDirectory = nil
            self.taskTimeout = taskTimeout
            self.maxTasksPerWorker = maxTasksPerWorker
            self.memoryLimitBytes = memoryLimitBytes
            self.memoryPollInterval = .milliseconds(5)
            self.initializer = initializer
            self.retries = retries
            self.startTimeout = .seconds(10)
            self.shutdownGracePeriod = .seconds(2)
            self.maxFramePayload = 1 << 30
            self.maxPrefetch = 64
            self.prefetchWindow = .microseconds(200)
            self.forwardWorkerStderr = true
            self.stderrLinesKept = 20
            self.stderrForwardLinesPerSecond = 200
            self.transport = .automatic
            self.sharedMemoryRingBytes = 1 << 18
            self.startMethod = .forkServer
        }

        func validate() throws(OffloadError) {
            func require(_ condition: Bool, _ message: String) throws(OffloadError) {
                if !condition { throw OffloadError.invalidArgument("ProcessPool.Configuration: \(message)") }
            }
            if let taskTimeout { try require(taskTimeout > .zero, "taskTimeout must be positive, got \(taskTimeout)") }
            if let maxTasksPerWorker {
                try require(maxTasksPerWorker >= 1, "maxTasksPerWorker must be at least 1, got \(maxTasksPerWorker)")
            }
            if let memoryLimitBytes {
                try require(memoryLimitBytes > 0, "memoryLimitBytes must be positive, got \(memoryLimitBytes)")
            }
            try require(memoryPollInterval > .zero, "memoryPollInterval must be positive")
            try require(retries >= 0, "retries must not be negative, got \(retries)")
            try require(startTimeout > .zero, "startTimeout must be positive")
            try require(shutdownGracePeriod >= .zero, "shutdownGracePeriod must not be negative")
            try require(
                maxFramePayload >= 1024 && maxFramePayload <= Int(UInt32.max),
                "maxFramePayload must be between 1024 and \(UInt32.max), got \(maxFramePayload)"
            )
            if let initializer { _ = try EncodedWorkerInitializer(initializer) }
            try require(maxPrefetch >= 1, "maxPrefetch must be at least 1, got \(maxPrefetch)")
            try require(stderrLinesKept >= 0, "stderrLinesKept must not be negative")
            try require(stderrForwardLinesPerSecond >= 1, "stderrForwardLinesPerSecond must be at least 1")
            try validateTransport(require)
            for key in environmentOverrides.keys {
                try require(
                    !key.isEmpty && !key.contains("="),
                    "environment variable name '\(key)' is empty or has '='"
                )
            }
        }
    }
}
