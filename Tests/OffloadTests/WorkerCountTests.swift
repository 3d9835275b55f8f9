import Offload
import Testing

@Suite struct WorkerCountTests {
    @Test("the available worker count is at least one")
    func availableIsPositive() {
        #expect(WorkerCount.available >= 1)
    }
}
