import Synchronization
import Testing

@testable import OffloadCore

/// Records the order in which a map's chunks are cancelled.
private final class CancelOrder: TaskCanceller {
    let order = Mutex<[ObjectIdentifier]>([])

    func cancelPending(_ task: any PendingTask) -> Bool {
        order.withLock { $0.append(ObjectIdentifier(task)) }
        return task.cancelIfPending(then: { _ in })
    }
}

@Suite struct InFlightHandlesTests {
    @Test("cancelling a map's chunks withdraws the newest first, so nothing queued moves onto a replaced worker")
    func cancelAllGoesNewestFirst() {
        let canceller = CancelOrder()
        let inFlight = InFlightHandles<Int>()
        let completions = (0..<5).map { _ in TaskCompletion<Int>() }
        for completion in completions { inFlight.append(TaskHandle(completion: completion, canceller: canceller)) }
        inFlight.removeOldest()  // the oldest chunk was consumed: not cancelled again
        inFlight.cancelAll()
        let expected = completions.dropFirst().reversed().map { ObjectIdentifier($0.cell) }
        #expect(canceller.order.withLock { $0 } == expected)
        #expect(completions.dropFirst().allSatisfy(\.isFinished) && !completions[0].isFinished)
    }
}
