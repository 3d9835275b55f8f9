import Offload
import Synchronization

/// The check-then-act bug of the Python texts (`if item not in seen: … seen.add(item)`): every access to `seen` is locked,
/// so there is no data race and Swift 6 compiles it happily — but the check and the insert are two critical sections,
/// and two threads can both pass the check before either inserts. The fix makes check-and-insert one critical section.
enum CheckThenAct {
    struct Outcome: Codable, Sendable {
        var variant: String
        var items: Int
        /// Items processed more than once (should be 0).
        var duplicates: Int
        var seconds: Double
    }

    /// Runs the buggy and the fixed version: `threads` threads walk the same `items` ids.
    static func run(threads: Int, items: Int) -> [Outcome] {
        [runVariant(fixed: false, threads: threads, items: items), runVariant(fixed: true, threads: threads, items: items)]
    }

    private static func runVariant(fixed: Bool, threads: Int, items: Int) -> Outcome {
        let seen = Mutex(Set<Int>())
        let owner = MutexOwner()
        let processed = Atomic(0)
        let seconds = ThreadRunner.run(threads: threads) { _ in
            for item in 0..<items {
                if fixed {
                    // One critical section: check and insert together.
                    guard seen.withLock(owner, { $0.insert(item).inserted }) else { continue }
                    expensiveWork(item)
                    processed.wrappingAdd(1, ordering: .relaxed)
                } else {
                    // Check … (lock released) … act: another thread can pass the same check in between.
                    guard !seen.withLock(owner, { $0.contains(item) }) else { continue }
                    expensiveWork(item)
                    processed.wrappingAdd(1, ordering: .relaxed)
                    seen.withLock(owner) { _ = $0.insert(item) }
                }
            }
        }
        return Outcome(
            variant: fixed ? "fixed: check-and-insert under one lock" : "buggy: check, work, then insert",
            items: items,
            duplicates: processed.load(ordering: .relaxed) - items,
            seconds: seconds
        )
    }

    /// A little CPU work, so the window between check and insert is realistic.
    @inline(never)
    static func expensiveWork(_ item: Int) {
        var x = UInt64(item) | 1
        for _ in 0..<200 { x = x &* 6_364_136_223_846_793_005 &+ 1 }
        sink.store(x, ordering: .relaxed)
    }

    private static let sink = Atomic<UInt64>(0)
}
