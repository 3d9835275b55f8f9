import Synchronization

/// Watches one map: pass it as `progress:` to any `map`, `mapResults`, `mapUnordered` or `mapUnorderedResults`, on
/// any executor, and read ``ProgressSnapshot``s from ``updates`` (an `AsyncSequence`) or receive them in a callback.
///
/// ```swift
/// let progress = ProgressMonitor()
/// Task { for await step in progress.updates { print(step.fractionCompleted ?? 0, step.estimatedTimeRemaining as Any) } }
/// let outputs = try await pool.map(jobs, progress: progress)
/// ```
///
/// Updates are rate-limited (at most one per ``interval``, 100 ms by default) and never hold back the map: the
/// stream keeps only the newest snapshot for a slow reader. A last snapshot with ``ProgressSnapshot/isFinished``
/// set always follows the end of the map, after which ``updates`` ends. Counts are exact (see ``ProgressSnapshot``).
/// A map without a monitor pays nothing.
///
/// A monitor watches one map call. Running jobs may add how far they are themselves with
/// ``JobProgress/report(fractionCompleted:)``; from a worker process the fraction is relayed to the caller.
///
/// Adopting Swift's `ProgressManager` (SF-0023) once Foundation ships it on Linux: a `ProgressManager` is fed from
/// ``onUpdate``-style callbacks with `totalCount = total` and `completedCount = done`, and the maps will take a
/// `Subprogress` as `progress:` the same way, so call sites keep their shape.
///
/// Python mapping: `tqdm(as_completed(futures), total=len(futures))`.
public final class ProgressMonitor: Sendable {
    /// The shortest time between two updates (the last one is never held back).
    public let interval: Duration
    /// The snapshots, newest first for a slow reader; ends after the finished snapshot. One reader at a time.
    public let updates: AsyncStream<ProgressSnapshot>

    private let continuation: AsyncStream<ProgressSnapshot>.Continuation
    private let onUpdate: (@Sendable (ProgressSnapshot) -> Void)?
    private let state = Mutex(State())

    /// Whether an in-process chunk starting now counts its ended items for the fractions its jobs report
    /// (``ChunkProgressSink/advance()``, two instructions per item: on a trivial map, 4% of its instructions). True
    /// until a chunk ends with no job of the map having reported, and again from the first report on; read once per
    /// chunk (relaxed: a stale reading only decides one chunk), written under `state`'s lock.
    @usableFromInline let itemsTracked = Atomic<Bool>(true)

    /// ``itemsTracked``, read once by each in-process chunk as it starts.
    @inlinable
    package var tracksItems: Bool { itemsTracked.load(ordering: .relaxed) }

    private struct State {
        var start: ContinuousClock.Instant?
        var lastUpdate: ContinuousClock.Instant?
        var completed = 0
        var failed = 0
        var total: Int?
        /// Chunks counted by one of their two reporters (the completion callback and the map's consumer), so that
        /// the other does not count them again.
        var countedOnce: Set<Int> = []
        /// Fractions reported by running jobs, by the first input index of their chunk.
        var running: [Int: Double] = [:]
        var runningSum = 0.0
        /// A running job of the map reported its fraction (``jobReported(chunk:fraction:)``).
        var jobsReport = false
        var finished = false
    }

    /// Creates a monitor read through ``updates``.
    /// - Parameter interval: the shortest time between two updates.
    public init(interval: Duration = .milliseconds(100)) {
        (updates, continuation) = AsyncStream.makeStream(of: ProgressSnapshot.self, bufferingPolicy: .bufferingNewest(1))
        self.interval = interval
        self.onUpdate = nil
    }

    /// Creates a monitor that calls `onUpdate` with each snapshot (on whichever thread finished the work; keep it
    /// short). ``updates`` carries the same snapshots.
    /// - Parameters:
    ///   - interval: the shortest time between two calls.
    ///   - onUpdate: receives each snapshot, the finished one last.
    public init(interval: Duration = .milliseconds(100), onUpdate: @escaping @Sendable (ProgressSnapshot) -> Void) {
        (updates, continuation) = AsyncStream.makeStream(of: ProgressSnapshot.self, bufferingPolicy: .bufferingNewest(1))
        self.interval = interval
        self.onUpdate = onUpdate
    }

    deinit {
        continuation.finish()
    }

    /// The counts now (not rate-limited).
    public var snapshot: ProgressSnapshot {
        state.withLock(self) { ProgressMonitor.snapshot(of: $0, now: .now) }
    }

    // MARK: - Fed by the maps

    /// The map started; `total` is the input's size when known.
    @usableFromInline
    package func begin(total: Int?) {
        state.withLock(self) { state in
            if state.start == nil { state.start = .now }
            if let total, total > 0, state.total == nil { state.total = total }
        }
    }

    /// The input ended after `total` items.
    @usableFromInline
    package func inputEnded(total: Int) {
        update { state in
            state.total = total
            return true
        }
    }

    /// A chunk starting at input `start` ended with `completed` values and `failed` failures. Both the chunk's
    /// completion callback and the map's consumer call this; the chunk is counted once.
    @usableFromInline
    package func chunkEnded(start: Int, completed: Int, failed: Int) {
        update { state in
            if state.countedOnce.remove(start) != nil { return false }
            state.countedOnce.insert(start)
            // A chunk ended and no job has reported: the jobs of this map do not report, and later chunks need not
            // count their items for them.
            if !state.jobsReport { itemsTracked.store(false, ordering: .relaxed) }
            state.completed += completed
            state.failed += failed
            if let fraction = state.running.removeValue(forKey: start) { state.runningSum -= fraction }
            return true
        }
    }

    /// Counts a chunk's outcome: its values and failures, an error of the whole chunk as that many failures, and a
    /// cancelled chunk as nothing.
    /// Inlinable, so that it is specialised where the map is: unspecialised, `batch.count` went through
    /// `Collection`'s generic `count` and instantiated metadata on every call (measured: 3 000 instructions per chunk).
    @inlinable
    package func chunkEnded<Output>(start: Int, items: Int, result: Result<BatchResults<Output>, any Error>) {
        switch result {
        case .success(let batch):
            let (count, failed) = batch.outcomeCounts
            chunkEnded(start: start, completed: count - failed, failed: failed)
        case .failure(let error):
            if error is CancellationError { return }
            chunkEnded(start: start, completed: 0, failed: items)
        }
    }

    /// A running job of the chunk starting at `start` reported how far the chunk is, in items.
    @usableFromInline
    package func jobReported(chunk start: Int, fraction: Double) {
        let fraction = max(0, fraction.isNaN ? 0 : fraction)
        update { state in
            if !state.jobsReport {
                state.jobsReport = true
                itemsTracked.store(true, ordering: .relaxed)
            }
            if state.countedOnce.contains(start) { return false }  // already counted: the report came late
            let previous = state.running.updateValue(fraction, forKey: start) ?? 0
            state.runningSum += fraction - previous
            return true
        }
    }

    /// The map ended: the finished snapshot goes out and ``updates`` ends. Later reports are ignored.
    @usableFromInline
    package func finish() {
        let final: ProgressSnapshot? = state.withLock(self) { state in
            guard !state.finished else { return nil }
            state.finished = true
            state.running = [:]
            state.runningSum = 0
            var final = ProgressMonitor.snapshot(of: state, now: .now)
            final.isFinished = true
            continuation.yield(final)
            continuation.finish()
            return final
        }
        if let final { onUpdate?(final) }
    }

    // MARK: - Updates

    private func update(_ change: (inout State) -> Bool) {
        let due: ProgressSnapshot? = state.withLock(self) { state in
            guard !state.finished, change(&state) else { return nil }
            let now = ContinuousClock.now
            if let last = state.lastUpdate, now - last < interval { return nil }
            state.lastUpdate = now
            let snapshot = ProgressMonitor.snapshot(of: state, now: now)
            continuation.yield(snapshot)  // in the lock: readers see snapshots in order
            return snapshot
        }
        if let due { onUpdate?(due) }
    }

    private static func snapshot(of state: State, now: ContinuousClock.Instant) -> ProgressSnapshot {
        ProgressSnapshot(
            completed: state.completed,
            failed: state.failed,
            total: state.total,
            runningFraction: max(0, state.runningSum),
            elapsed: state.start.map { now - $0 } ?? .zero,
            isFinished: state.finished
        )
    }
}

extension BatchResults {
    /// How many outcomes are failures.
    var failureCount: Int { outcomeCounts.failed }

    /// How many outcomes there are and how many of them are failures, read from the storage (no `Collection`
    /// witness calls).
    @inlinable
    package var outcomeCounts: (count: Int, failed: Int) {
        switch storage {
        case .values(let values):
            return (values.count, 0)
        case .outcomes(let outcomes):
            var failed = 0
            for case .failure in outcomes { failed += 1 }
            return (outcomes.count, failed)
        }
    }
}
