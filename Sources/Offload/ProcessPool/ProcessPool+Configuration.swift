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
        /// The workers' environment; `nil` inherits the parent's environment at the time each worker starts.
        public var environment: [String: String]?
        /// The workers' working directory; `nil` inherits the parent's.
        public var workingDirectory: String?
        /// A task running longer than this is stopped: its worker is killed (SIGKILL) and replaced, and the task
        /// fails with ``OffloadError/Code/taskTimedOut``. `nil`: no limit.
        public var taskTimeout: Duration?
        /// A worker is replaced by a fresh process after running this many tasks (a batch counts as one).
        /// `nil`: never. Python: `max_tasks_per_child`.
        public var maxTasksPerWorker: Int?
        /// Resident memory (VmRSS, polled every ``memoryPollInterval`` while the worker runs a task) above which the
        /// worker is killed; its task fails with ``OffloadError/Code/memoryLimitExceeded``. `nil`: no limit.
        public var memoryLimitBytes: Int?
        /// How often resident memory is checked when ``memoryLimitBytes`` is set.
        public var memoryPollInterval: Duration
        /// Name of an initializer registered with ``JobRegistry/registerInitializer(_:_:)`` that each worker runs
        /// once before its first job. If it fails, the pool is broken: tasks fail with
        /// ``OffloadError/Code/workerInitializationFailed``.
        public var initializer: String?
        /// Argument handed to the initializer.
        public var initializerArgument: String?
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
        /// measured task duration: about ``prefetchWindow`` of work, and at least two tasks (the running one and one
        /// waiting, which hides the round trip), except one for tasks of 20 ms or more. Only those tasks cannot be
        /// withdrawn by cancellation.
        public var maxPrefetch: Int
        /// The amount of queued work per worker that adaptive prefetch aims at.
        public var prefetchWindow: Duration
        /// Copy what workers write to standard error to the parent's standard error (the last lines are kept for
        /// error reports either way).
        public var forwardWorkerStderr: Bool
        /// How many of a worker's last stderr lines an error carries.
        public var stderrLinesKept: Int

        /// Creates a configuration.
        /// - Parameters:
        ///   - workers: number of worker processes (`nil`: ``WorkerCount/available``).
        ///   - taskTimeout: per-task time limit, enforced by killing the worker.
        ///   - maxTasksPerWorker: tasks after which a worker is recycled.
        ///   - memoryLimitBytes: per-worker resident-memory limit.
        ///   - initializer: registered initializer each worker runs once.
        ///   - retries: re-runs of idempotent jobs whose worker died.
        ///   - executable: worker executable (`nil`: this executable).
        ///   - arguments: worker arguments.
        public init(
            workers: Int? = nil,
            taskTimeout: Duration? = nil,
            maxTasksPerWorker: Int? = nil,
            memoryLimitBytes: Int? = nil,
            initializer: String? = nil,
            retries: Int = 0,
            executable: String? = nil,
            arguments: [String] = []
        ) {
            self.workers = workers
            self.name = "ProcessPool"
            self.executable = executable
            self.arguments = arguments
            self.environment = nil
            self.workingDirectory = nil
            self.taskTimeout = taskTimeout
            self.maxTasksPerWorker = maxTasksPerWorker
            self.memoryLimitBytes = memoryLimitBytes
            self.memoryPollInterval = .milliseconds(5)
            self.initializer = initializer
            self.initializerArgument = nil
            self.retries = retries
            self.startTimeout = .seconds(10)
            self.shutdownGracePeriod = .seconds(2)
            self.maxFramePayload = 1 << 30
            self.maxPrefetch = 64
            self.prefetchWindow = .microseconds(200)
            self.forwardWorkerStderr = true
            self.stderrLinesKept = 20
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
            try require(maxPrefetch >= 1, "maxPrefetch must be at least 1, got \(maxPrefetch)")
            try require(stderrLinesKept >= 0, "stderrLinesKept must not be negative")
        }
    }
}
