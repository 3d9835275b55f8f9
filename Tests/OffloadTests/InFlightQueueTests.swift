import Testing

@testable import Offload

/// The sums the prefetch rule reads from a worker's queue stay equal to what walking the queue would give.
@Suite struct InFlightQueueTests {
    private static func task(id: UInt64, estimate: Double?) -> PoolTask {
        var task = PoolTask(
            jobName: "Job",
            payload: [],
            itemCount: nil,
            isIdempotent: false,
            timeout: nil,
            sink: FakeSink(),
            describe: { _ in "Job" }
        )
        task.id = id
        task.sentEstimate = estimate
        return task
    }

    /// What the queue should report: the sum of the known estimates and the count of unknown ones.
    private static func walked(_ queue: InFlightQueue) -> (Double, Int) {
        (queue.compactMap(\.sentEstimate).reduce(0, +), queue.filter { $0.sentEstimate == nil }.count)
    }

    @Test("appending, removing the head and replacing a task keep the sums equal to a walk of the queue")
    func sumsFollowEveryChange() {
        var queue = InFlightQueue()
        var generator = SystemRandomNumberGenerator()
        var nextID: UInt64 = 1
        for step in 0..<1_000 {
            switch Int.random(in: 0..<4, using: &generator) {
            case 0, 1:
                let estimate: Double? = Bool.random(using: &generator) ? Double.random(in: 1..<1e6) : nil
                queue.append(Self.task(id: nextID, estimate: estimate))
                nextID += 1
            case 2:
                _ = queue.popFirst()
            default:
                guard !queue.isEmpty else { continue }
                let position = Int.random(in: 0..<queue.count, using: &generator)
                var replaced = queue[position]
                replaced.sentEstimate = Bool.random(using: &generator) ? Double.random(in: 1..<1e6) : nil
                replaced.cancelled = true
                queue[position] = replaced
            }
            let (sum, unknown) = Self.walked(queue)
            #expect(queue.unpredictable == unknown, "step \(step)")
            #expect(abs(queue.estimatedNanoseconds - sum) <= 1e-6 * max(1, sum), "step \(step)")
        }
    }

    @Test("an emptied queue reports nothing held, whatever rounding the additions left")
    func emptyQueueHoldsNothing() {
        var queue = InFlightQueue()
        for id in 1...100 { queue.append(Self.task(id: UInt64(id), estimate: 0.1 * Double(id))) }
        queue.append(Self.task(id: 101, estimate: nil))
        while queue.popFirst() != nil {}
        #expect(queue.estimatedNanoseconds == 0)
        #expect(queue.unpredictable == 0)

        queue.append(Self.task(id: 102, estimate: 3))
        queue.removeAll()
        #expect(queue.isEmpty && queue.estimatedNanoseconds == 0 && queue.unpredictable == 0)
    }

    @Test("tasks come out in the order they went in")
    func keepsOrder() {
        var queue = InFlightQueue()
        for id in 1...5 { queue.append(Self.task(id: UInt64(id), estimate: 1)) }
        #expect(queue.map(\.id) == [1, 2, 3, 4, 5])
        #expect(queue.removeFirst().id == 1)
        #expect(queue.first?.id == 2)
    }
}
