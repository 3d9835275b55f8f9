import DequeModule

/// The tasks sent to one worker, in the order it runs them, with the prefetch rule's sums kept as they change.
///
/// Prefetch asks, for every task it considers and every worker, "how much known-short work does this worker hold,
/// and does it hold anything unpredictable?" Walking the queue for that cost about a twentieth of the parent's CPU
/// on a stream of one-job tasks (up to ``ProcessPool/Configuration/maxPrefetch`` tasks per worker, per decision).
/// Each task instead carries the estimate it was sent with (``PoolTask/sentEstimate``), and the queue adds and
/// removes those as tasks come and go, so the question is answered in constant time. An estimate is the one in
/// force when the task was sent: a mean that moves afterwards changes the decisions for tasks sent later.
struct InFlightQueue: RandomAccessCollection {
    private var tasks: Deque<PoolTask> = []
    /// The sum of the known-short estimates of the tasks held, in nanoseconds.
    private(set) var estimatedNanoseconds = 0.0
    /// How many tasks held were sent with no estimate or a long one (never queued behind, see `accepts`).
    private(set) var unpredictable = 0

    init() {}

    var startIndex: Int { tasks.startIndex }
    var endIndex: Int { tasks.endIndex }

    /// Replacing a task (a batch's progress, a cancel flag) keeps the sums right even if its estimate changed.
    subscript(position: Int) -> PoolTask {
        get { tasks[position] }
        set {
            remove(tasks[position].sentEstimate)
            add(newValue.sentEstimate)
            tasks[position] = newValue
        }
    }

    mutating func append(_ task: PoolTask) {
        add(task.sentEstimate)
        tasks.append(task)
    }

    @discardableResult
    mutating func removeFirst() -> PoolTask {
        let task = tasks.removeFirst()
        remove(task.sentEstimate)
        return task
    }

    @discardableResult
    mutating func remove(at position: Int) -> PoolTask {
        let task = tasks.remove(at: position)
        remove(task.sentEstimate)
        return task
    }

    mutating func popFirst() -> PoolTask? {
        isEmpty ? nil : removeFirst()
    }

    mutating func removeAll() {
        tasks.removeAll()
        resetSums()
    }

    private mutating func add(_ estimate: Double?) {
        if let estimate { estimatedNanoseconds += estimate } else { unpredictable += 1 }
    }

    private mutating func remove(_ estimate: Double?) {
        if tasks.isEmpty {
            resetSums()
        } else if let estimate {
            estimatedNanoseconds -= estimate
        } else {
            unpredictable -= 1
        }
    }

    /// An empty queue holds nothing: rounding left over by the additions and subtractions is dropped.
    private mutating func resetSums() {
        estimatedNanoseconds = 0
        unpredictable = 0
    }
}
