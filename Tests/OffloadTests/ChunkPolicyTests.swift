import Testing

@testable import OffloadCore

@Suite struct ChunkPolicyTests {
    @Test("a given chunk size is kept whatever the measurements say")
    func fixedChunkSizeIsKept() throws {
        var policy = try ChunkPolicy(chunkSize: 7, count: 1_000_000, workers: 2)
        policy.record(items: 7, runDuration: .seconds(1))
        policy.record(items: 7, runDuration: .nanoseconds(1))
        #expect(policy.current == 7)
    }

    @Test("cheap items grow the chunk eightfold per step up to the cap")
    func cheapItemsGrowToTheCap() throws {
        var policy = try ChunkPolicy(chunkSize: nil, count: 0, workers: 2)
        #expect(policy.current == ChunkPolicy.initialChunkSize)
        var sizes: [Int] = []
        for _ in 0..<4 {
            policy.record(items: policy.current, runDuration: .nanoseconds(10 * policy.current))
            sizes.append(policy.current)
        }
        #expect(sizes == [128, 1_024, 8_192, 16_384])
        #expect(policy.cap == ChunkPolicy.maximumChunkSize)
    }

    @Test("expensive items shrink the chunk to about the target duration of work")
    func expensiveItemsShrinkTheChunk() throws {
        var policy = try ChunkPolicy(chunkSize: nil, count: 0, workers: 4)
        policy.record(items: 16, runDuration: .milliseconds(16))  // 1 ms per item, target 0.5 ms
        #expect(policy.current == 1)
        var medium = try ChunkPolicy(chunkSize: nil, count: 0, workers: 4)
        medium.record(items: 16, runDuration: .microseconds(160))  // 10 µs per item → 50 per chunk
        #expect(medium.current == 50)
    }

    @Test("a known input size caps chunks at a quarter of each worker's share")
    func knownCountCapsTheChunk() throws {
        var policy = try ChunkPolicy(chunkSize: nil, count: 1_000, workers: 2)
        #expect(policy.cap == 125 && policy.current == 125)  // a known size starts at the cap
        policy.record(items: 125, runDuration: .milliseconds(125))  // 1 ms per item: shrink to the target
        #expect(policy.current == 1)
        for _ in 0..<40 { policy.record(items: policy.current, runDuration: .nanoseconds(policy.current)) }
        #expect(policy.current == 125)  // cheap again: back to the cap, never beyond
    }

    @Test("an executor that reports no run time gets the cap")
    func unmeasuredChunksUseTheCap() throws {
        var policy = try ChunkPolicy(chunkSize: nil, count: 0, workers: 2)
        policy.record(items: 16, runDuration: nil)
        #expect(policy.current == policy.cap)
    }

    @Test("a chunk size below one is refused with invalidArgument", arguments: [0, -1])
    func badChunkSizeIsRefused(size: Int) {
        #expect(throws: OffloadError.self) { try ChunkPolicy(chunkSize: size, count: 10, workers: 1) }
    }

    @Test("a small fixed chunk size widens the window to a few hundred items per worker; automatic chunks keep it small")
    func windowHoldsEnoughItems() throws {
        let base = ChunkedMap.defaultWindow(workers: 2)
        #expect(try ChunkPolicy(chunkSize: nil, count: 0, workers: 2).window(workers: 2) == base)
        #expect(try ChunkPolicy(chunkSize: nil, count: 1_000_000, workers: 2).window(workers: 2) == base)
        let perWorker = ChunkPolicy.itemsInFlightPerWorker
        #expect(try ChunkPolicy(chunkSize: 1, count: 0, workers: 2).window(workers: 2) == 2 * perWorker)
        #expect(try ChunkPolicy(chunkSize: 4, count: 0, workers: 2).window(workers: 2) == 2 * perWorker / 4)
        #expect(try ChunkPolicy(chunkSize: 10_000, count: 0, workers: 2).window(workers: 2) == base)
        #expect(try ChunkPolicy(chunkSize: 1, count: 0, workers: 64).window(workers: 64) == ChunkPolicy.maximumWindow)
    }
}
