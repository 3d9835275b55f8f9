/// How every map of every executor cuts its input into chunks (one task per chunk).
///
/// A chunk amortises the per-task cost — queueing, waking a worker, a message each way to a worker process — over
/// its items, but a chunk too large unbalances the workers and holds memory. The policy, in the spirit of loky's
/// auto-batching: start with small chunks (at the cap when the input's size is known), learn what an item costs from the time the workers report running each
/// chunk (``BatchResults/runDuration``: busy time, not wall time, so queueing and a busy machine do not shrink the
/// chunks), and size later chunks to about ``targetChunkDuration`` of work, growing at most eightfold per chunk and
/// never above a cap — a quarter of each worker's share when the input's size is known (so four chunks per worker
/// balance uneven items) and ``maximumChunkSize`` always (so memory in flight does not grow with the input). An
/// executor that reports no run time gets the cap.
///
/// A chunk size given by the caller is used as is.
public struct ChunkPolicy: Sendable {
    /// The work one automatically sized chunk aims at.
    public static let targetChunkDuration: Duration = .microseconds(500)
    /// The largest automatic chunk.
    public static let maximumChunkSize = 16_384
    /// The first automatic chunks of an input of unknown size, before any item cost is known.
    public static let initialChunkSize = 16

    @usableFromInline let fixed: Int?
    /// The largest automatic chunk for this input.
    public let cap: Int
    /// The size the next chunk gets.
    public private(set) var current: Int
    /// Measured nanoseconds per item (exponentially weighted), or `nil` before the first measurement.
    private var nanosecondsPerItem: Double?

    /// Validates a requested chunk size or prepares automatic sizing.
    /// - Parameters:
    ///   - chunkSize: the caller's chunk size, or `nil` for automatic sizing.
    ///   - count: how many items the input holds, when known (0 for unknown).
    ///   - workers: how many workers share the input.
    /// - Throws: ``OffloadError/Code/invalidArgument`` for a chunk size below 1.
    public init(chunkSize: Int?, count: Int, workers: Int) throws(OffloadError) {
        if let chunkSize, chunkSize < 1 {
            throw OffloadError.invalidArgument("chunkSize must be at least 1, got \(chunkSize)")
        }
        let workers = max(1, workers)
        fixed = chunkSize
        var cap = ChunkPolicy.maximumChunkSize
        if count > 0 { cap = min(cap, max(1, (count + 4 * workers - 1) / (4 * workers))) }
        self.cap = cap
        // A known size starts at the cap (Python's `Pool.map` rule: four chunks per worker), which costs a short
        // input no ramp; an unknown one starts small and grows as measurements arrive.
        current = chunkSize ?? (count > 0 ? cap : ChunkPolicy.initialChunkSize)
    }

    /// Records a finished chunk of `items` items that its worker ran in `runDuration` (`nil`: not reported), and
    /// resizes the next chunks.
    public mutating func record(items: Int, runDuration: Duration?) {
        guard items > 0 else { return }
        guard let runDuration else {
            if fixed == nil { current = cap }
            return
        }
        let sample = Double(max(0, runDuration.nanosecondsClamped)) / Double(items)
        let perItem = nanosecondsPerItem.map { $0 * 0.7 + sample * 0.3 } ?? sample
        nanosecondsPerItem = perItem  // measured for a fixed size too: `chunksAreCheap` reads it
        guard fixed == nil else { return }
        let target = Double(ChunkPolicy.targetChunkDuration.nanosecondsClamped)
        let wanted = perItem > 0 ? target / perItem : Double(cap)
        let size = wanted < Double(cap) ? max(1, Int(wanted)) : cap
        current = min(size, current * 8)
    }
}

extension ChunkPolicy {
    /// A chunk that runs for less than this (nanoseconds) costs less than waking the task that waits for it.
    @usableFromInline static let cheapChunkNanoseconds = 50_000.0

    /// Whether the chunks measured so far ran for less than ``cheapChunkNanoseconds`` each: a map then waits for a
    /// group of them at a time rather than being resumed once per chunk. `false` before any measurement.
    @usableFromInline var chunksAreCheap: Bool {
        guard let nanosecondsPerItem else { return false }
        return nanosecondsPerItem * Double(current) < ChunkPolicy.cheapChunkNanoseconds
    }

    /// Items in flight per worker that a map keeps at least when the caller fixed a small chunk size: enough that an
    /// executor which queues work inside its workers (a process pool's prefetch) always has the next jobs at hand,
    /// so one-job chunks do not cost a wake-up each.
    @usableFromInline static let itemsInFlightPerWorker = 256
    /// The most chunks a map keeps in flight, whatever the chunk size.
    @usableFromInline static let maximumWindow = 4_096

    /// How many chunks a map keeps in flight: ``ChunkedMap``'s default window for automatic chunks (which grow, so
    /// the window stays small), and for a small fixed chunk size enough chunks to hold
    /// ``itemsInFlightPerWorker`` items per worker. Either way the items in flight are bounded, not the input.
    @inlinable
    package func window(workers: Int) -> Int {
        let base = ChunkedMap.defaultWindow(workers: workers)
        guard let fixed else { return base }
        let wanted = max(1, workers) * ChunkPolicy.itemsInFlightPerWorker / fixed
        return min(ChunkPolicy.maximumWindow, max(base, wanted))
    }
}
