import Foundation
import Synchronization

/// The counter experiments of `offload race`: N threads each increment one shared counter `iterations` times.
enum RaceExperiments {
    /// One variant's outcome.
    struct Outcome: Codable, Sendable {
        var variant: String
        var expected: Int
        var count: Int
        var lostUpdates: Int
        var seconds: Double
        /// Seconds per increment, in nanoseconds.
        var nsPerIncrement: Double
        /// Extra time relative to the unsynchronised variant (the cost of the fix); nil for that variant itself.
        var costVsUnsynchronised: Double?
        var synchronised: Bool

        enum CodingKeys: String, CodingKey {
            case variant, expected, count, seconds, synchronised
            case lostUpdates = "lost_updates"
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
    /// of the other thread in one go, or none, depending on timing — not the per-increment race the seeds describe).
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

    /// Runs every variant with `threads` threads × `iterations` increments.
    static func runAll(threads: Int, iterations: Int, progress: ProgressLine) async -> [Outcome] {
        let expected = threads * iterations
        var outcomes: [Outcome] = []

        progress.update("race: unsynchronised")
        let unsafeCounter = UnsafeSharedCounter(pointer: .allocate(capacity: 1))
        unsafeCounter.pointer.initialize(to: 0)
        let racy = ThreadRunner.run(threads: threads) { _ in
            for _ in 0..<iterations { racyIncrement(unsafeCounter.pointer) }
        }
        let racyCount = unsafeCounter.pointer.pointee
        unsafeCounter.pointer.deallocate()
        outcomes.append(outcome("unsynchronised (UnsafeMutablePointer, UB on purpose)", expected, racyCount, racy,
                                synchronised: false))

        progress.update("race: Mutex")
        let mutex = Mutex(0)
        let locked = ThreadRunner.run(threads: threads) { _ in
            for _ in 0..<iterations { mutex.withLock { $0 += 1 } }
        }
        outcomes.append(outcome("Mutex<Int>", expected, mutex.withLock { $0 }, locked, synchronised: true))

        progress.update("race: Atomic")
        let atomic = Atomic(0)
        let atomicTime = ThreadRunner.run(threads: threads) { _ in
            for _ in 0..<iterations { atomic.wrappingAdd(1, ordering: .relaxed) }
        }
        outcomes.append(outcome("Atomic<Int> (relaxed wrappingAdd)", expected, atomic.load(ordering: .relaxed),
                                atomicTime, synchronised: true))

        progress.update("race: actor")
        let counter = CounterActor()
        let (_, actorTime) = await Measurement.time {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<threads {
                    group.addTask {
                        for _ in 0..<iterations { await counter.increment() }
                    }
                }
            }
        }
        outcomes.append(outcome("actor (one hop per increment)", expected, await counter.value, actorTime,
                                synchronised: true))

        let baseline = outcomes[0].seconds
        for index in outcomes.indices.dropFirst() {
            outcomes[index].costVsUnsynchronised = outcomes[index].seconds - baseline
        }
        return outcomes
    }

    private static func outcome(_ name: String, _ expected: Int, _ count: Int, _ seconds: Double, synchronised: Bool)
        -> Outcome
    {
        Outcome(variant: name, expected: expected, count: count, lostUpdates: expected - count, seconds: seconds,
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
