import Foundation
import Offload
import OffloadSystem
import Synchronization

/// The counter experiments of `offload race`: N threads each increment one shared counter `iterations` times.
enum RaceExperiments {
    /// One variant's outcome.
    struct Outcome: Codable, Sendable {
        var variant: String
        var expected: Int
        var count: Int
        /// Lost updates of the worst trial.
        var lostUpdates: Int
        var lostUpdatesPerTrial: [Int]
        /// Median wall time of the trials.
        var seconds: Double
        /// Seconds per increment, in nanoseconds.
        var nsPerIncrement: Double
        /// Extra time relative to the unsynchronised variant (the cost of the fix); nil for that variant itself.
        var costVsUnsynchronised: Double?
        var synchronised: Bool

        enum CodingKeys: String, CodingKey {
            case variant, expected, count, seconds, synchronised
            case lostUpdates = "lost_updates"
            case lostUpdatesPerTrial = "lost_updates_per_trial"
            case nsPerIncrement = "ns_per_increment"
            case costVsUnsynchronised = "cost_vs_unsynchronised"
        }
    }

    // MARK: - The unsafe escape

    /// A raw pointer to one `Int`, shared between threads WITHOUT synchronisation — deliberately.
    ///
    /// Invariant (or rather its absence): nothing protects `pointer`; concurrent `racyIncrement` calls are a data race,
    /// which is undefined behaviour in Swift as in C. It exists only so `offload race` can show the lost updates that
    /// Swift 6 refuses to compile in the plain form (`var counter = 0` mutated from two `@Sendable` closures is the
    /// error "mutation of captured var 'counter' in concurrently-executing code").
    struct UnsafeSharedCounter: @unchecked Sendable {
        let pointer: UnsafeMutablePointer<Int>
    }

    /// `pointer.pointee += 1` as a real load and a real store every call: `@_optimize(none)` and `@inline(never)` keep
    /// the optimiser from keeping the counter in a register for the whole loop (which would lose almost every update
    /// of the other thread in one go, or none, depending on timing — not the per-increment race the Python texts describe).
    @inline(never)
    @_optimize(none)
    static func racyIncrement(_ pointer: UnsafeMutablePointer<Int>) {
        pointer.pointee += 1
    }

    /// The counter actor: every increment is one actor hop.
    actor CounterActor {
        var value = 0
        func increment() { value += 1 }
    }

    // MARK: - Variants

    /// Runs every variant `trials` times with `threads` threads × `iterations` increments.
    static func runAll(threads: Int, iterations: Int, trials: Int, progress: ProgressLine) async -> [Outcome] {
        let expected = threads * iterations
        var outcomes: [Outcome] = []

        progress.step("unsynchronised")
        outcomes.append(
            repeated("unsynchronised (UnsafeMutablePointer, UB on purpose)", expected, trials, synchronised: false) {
                let counter = UnsafeSharedCounter(pointer: .allocate(capacity: 1))
                counter.pointer.initialize(to: 0)
                defer { counter.pointer.deallocate() }
                let seconds = ThreadRunner.run(threads: threads) { _ in
                    // The race is the point here: a ThreadSanitizer build would report it and exit with status 66.
                    ThreadSanitizerAnnotations.ignoringAccesses {
                        for _ in 0..<iterations { racyIncrement(counter.pointer) }
                    }
                }
                return (counter.pointer.pointee, seconds)
            })

        progress.step("Mutex")
        outcomes.append(repeated("Mutex<Int>", expected, trials, synchronised: true) {
            let mutex = Mutex(0)
            let owner = MutexOwner()
            let seconds: Double
            if ThreadSanitizer.isActive {
                // ThreadSanitizer does not see Mutex's contended path and would report these increments as a race:
                // they announce the lock on an owner's address (`withLock(_:_:)`). Other builds run the plain loop,
                // so that the figure is the cost of the Mutex alone.
                seconds = ThreadRunner.run(threads: threads) { _ in
                    for _ in 0..<iterations { mutex.withLock(owner) { $0 += 1 } }
                }
            } else {
                seconds = ThreadRunner.run(threads: threads) { _ in
                    for _ in 0..<iterations { mutex.withLock { $0 += 1 } }
                }
            }
            return (mutex.withLock(owner) { $0 }, seconds)
        })

        progress.step("Atomic")
        outcomes.append(repeated("Atomic<Int> (relaxed wrappingAdd)", expected, trials, synchronised: true) {
            let atomic = Atomic(0)
            let seconds = ThreadRunner.run(threads: threads) { _ in
                for _ in 0..<iterations { atomic.wrappingAdd(1, ordering: .relaxed) }
            }
            return (atomic.load(ordering: .relaxed), seconds)
        })

        progress.step("actor")
        var actorTrials: [(Int, Double)] = []
        for _ in 0..<trials {
            let counter = CounterActor()
            let (_, seconds) = await Measurement.time {
                await withTaskGroup(of: Void.self) { group in
                    for _ in 0..<threads {
                        group.addTask {
                            for _ in 0..<iterations { await counter.increment() }
                        }
                    }
                }
            }
            actorTrials.append((await counter.value, seconds))
        }
        outcomes.append(outcome("actor (one hop per increment)", expected, actorTrials, synchronised: true))

        let baseline = outcomes[0].seconds
        for index in outcomes.indices.dropFirst() {
            outcomes[index].costVsUnsynchronised = outcomes[index].seconds - baseline
        }
        return outcomes
    }

    private static func repeated(
        _ name: String, _ expected: Int, _ trials: Int, synchronised: Bool, _ body: () -> (Int, Double)
    ) -> Outcome {
        outcome(name, expected, (0..<trials).map { _ in body() }, synchronised: synchronised)
    }

    /// Count and lost updates from the worst trial, time as the median.
    private static func outcome(_ name: String, _ expected: Int, _ trials: [(count: Int, seconds: Double)],
                                synchronised: Bool) -> Outcome
    {
        let worst = trials.min { $0.count < $1.count }?.count ?? 0
        let seconds = Statistics.median(trials.map(\.seconds))
        return Outcome(variant: name, expected: expected, count: worst, lostUpdates: expected - worst,
                       lostUpdatesPerTrial: trials.map { expected - $0.count }, seconds: seconds,
                       nsPerIncrement: seconds / Double(max(1, expected)) * 1e9, costVsUnsynchronised: nil,
                       synchronised: synchronised)
    }
}

/// Starts `threads` OS threads that wait on a start line, so they really run at the same time, then joins them.
enum ThreadRunner {
    /// - Returns: the wall time from the start signal until the last thread finished, in seconds.
    static func run(threads: Int, _ body: @escaping @Sendable (Int) -> Void) -> Double {
        let ready = Atomic(0)
        let go = Atomic(false)
        let finished = DispatchGroup()
        for index in 0..<threads {
            finished.enter()
            let thread = Thread {
                ready.wrappingAdd(1, ordering: .acquiringAndReleasing)
                while !go.load(ordering: .acquiring) {}
                body(index)
                finished.leave()
            }
            thread.start()
        }
        while ready.load(ordering: .acquiring) < threads { sched_yield() }
        let start = ContinuousClock.now
        go.store(true, ordering: .releasing)
        finished.wait()
        return (ContinuousClock.now - start).seconds
    }
}

/// ThreadSanitizer's annotations that hide one thread's memory accesses from it, for the deliberate race of the
/// unsynchronised counter. They exist only in a ThreadSanitizer build, whose runtime exports them: they are looked up at
/// run time, and every other build runs `body` as it is.
enum ThreadSanitizerAnnotations {
    private typealias Annotation = @convention(c) (UnsafePointer<CChar>?, Int32) -> Void

    /// Runs `body` with the calling thread's reads and writes unseen by ThreadSanitizer (its locks, atomics and thread
    /// joins are still seen, so the accesses of other threads are checked as before).
    static func ignoringAccesses<T>(_ body: () -> T) -> T {
        guard ThreadSanitizer.isActive,
            let readsBegin = annotation("AnnotateIgnoreReadsBegin"), let readsEnd = annotation("AnnotateIgnoreReadsEnd"),
            let writesBegin = annotation("AnnotateIgnoreWritesBegin"),
            let writesEnd = annotation("AnnotateIgnoreWritesEnd")
        else { return body() }
        readsBegin(nil, 0)
        writesBegin(nil, 0)
        defer {
            writesEnd(nil, 0)
            readsEnd(nil, 0)
        }
        return body()
    }

    private static func annotation(_ name: String) -> Annotation? {
        // RTLD_DEFAULT (a null handle): the executable and every library it loaded.
        guard let symbol = dlsym(nil, name) else { return nil }
        return unsafeBitCast(symbol, to: Annotation.self)
    }
}
