import DequeModule
import Dispatch
import Testing

@testable import OffloadCore

/// An unordered map of cheap chunks resumes its consumer once per group of finished chunks, not once per chunk.
@Suite struct UnorderedGroupWaitTests {
    private typealias Inbox = CompletionInbox<Int, Int>

    /// `count` chunks of one item tracked by `inbox`, with the completions that finish them.
    private static func track(_ count: Int, in inbox: Inbox) -> [TaskCompletion<BatchResults<Int>>] {
        (0..<count).map { index in
            let completion = TaskCompletion<BatchResults<Int>>()
            inbox.track(TaskHandle(completion: completion, canceller: nil), start: index, chunk: [index])
            return completion
        }
    }

    private static func finish(_ completion: TaskCompletion<BatchResults<Int>>, _ value: Int) {
        completion.finish(.success(BatchResults(values: [value], runDuration: .microseconds(1))))
    }

    /// Waits until `inbox` has a suspended `take`: a condition observed, not a time guessed.
    private static func untilSuspended(_ inbox: Inbox) async {
        while !inbox.hasWaiter { await Task.yield() }
    }

    @Test("a take waiting for four chunks stays suspended through three arrivals and resumes once with four")
    func waitsForTheGroup() async throws {
        let inbox = Inbox(progress: nil)
        let completions = Self.track(8, in: inbox)
        for index in 0..<3 { Self.finish(completions[index], index) }
        let taker = Task { try await inbox.take(atLeast: 4).map(\.start) }
        await Self.untilSuspended(inbox)
        #expect(inbox.resumptions == 0, "three of four arrived: still waiting")
        Self.finish(completions[3], 3)
        #expect(try await taker.value == [0, 1, 2, 3])
        #expect(inbox.resumptions == 1)
        for index in 4..<8 { Self.finish(completions[index], index) }
    }

    @Test("a group shrinks to what is still in flight, and a chunk that failed as a whole ends the wait at once")
    func groupEndsEarly() async throws {
        let inbox = Inbox(progress: nil)
        let completions = Self.track(3, in: inbox)
        Self.finish(completions[0], 0)
        Self.finish(completions[1], 1)
        Self.finish(completions[2], 2)
        // Only three can ever arrive: asking for ten returns them without suspending.
        #expect(try await inbox.take(atLeast: 10).map(\.start) == [0, 1, 2])

        let failing = Self.track(4, in: inbox)
        let taker = Task { try await inbox.take(atLeast: 4).map(\.start) }
        await Self.untilSuspended(inbox)
        failing[2].finish(.failure(CancellationError()))
        #expect(try await taker.value == [2])
        for index in [0, 1, 3] { Self.finish(failing[index], index) }
    }

    @Test("one-job chunks measured under 50 µs are cheap; slow ones and unmeasured ones are not")
    func cheapChunksAreMeasured() throws {
        var fixed = try ChunkPolicy(chunkSize: 1, count: 1_000, workers: 2)
        #expect(!fixed.chunksAreCheap, "nothing measured yet")
        fixed.record(items: 1, runDuration: .microseconds(2))
        #expect(fixed.chunksAreCheap)
        #expect(fixed.current == 1, "a fixed size stays fixed")
        #expect(ChunkStream<[Int], Int>.groupSize(inFlight: 512, cheap: true) == 256)
        #expect(ChunkStream<[Int], Int>.groupSize(inFlight: 512, cheap: false) == 1)

        var slow = try ChunkPolicy(chunkSize: 1, count: 1_000, workers: 2)
        slow.record(items: 1, runDuration: .milliseconds(1))
        #expect(!slow.chunksAreCheap)
        var automatic = try ChunkPolicy(chunkSize: nil, count: 0, workers: 2)
        automatic.record(items: 16, runDuration: .microseconds(16))
        #expect(!automatic.chunksAreCheap, "automatic chunks grow to about 500 µs of work")
    }

    @Test("a stream of 2,000 cheap one-job chunks resumes its consumer far fewer times than it has chunks")
    func streamResumesPerGroup() async throws {
        // Chunks finish on another thread while the consumer waits, as in a pool.
        let finisher = BackgroundFinisher()
        let results = UnorderedResults<Range<Int>, Int>(
            base: 0..<2_000,
            policy: try ChunkPolicy(chunkSize: 1, count: 2_000, workers: 2),
            window: 64
        ) { chunk, _ in finisher.finishSoon(chunk[0]) }
        var iterator = results.makeAsyncIterator()
        var seen = Set<Int>()
        while let (index, value) = try await iterator.next() {
            #expect(value == index * 2)
            seen.insert(index)
        }
        #expect(seen.count == 2_000)
        let resumptions = iterator.stream.inbox.resumptions
        #expect(resumptions < 400, "resumed \(resumptions) times for 2,000 chunks")
    }
}

/// Finishes handles on a serial dispatch queue, in submission order, each reporting a 1 µs run time.
private struct BackgroundFinisher: Sendable {
    let queue = DispatchQueue(label: "unordered-group-wait-tests")

    func finishSoon(_ item: Int) -> TaskHandle<BatchResults<Int>> {
        let completion = TaskCompletion<BatchResults<Int>>()
        queue.async {
            // The producer is the slower side, as a pool's workers are for a consumer that only counts: 20 µs of
            // work per chunk, so a consumer resumed per chunk would be resumed for almost every one.
            let start = ContinuousClock.now
            while ContinuousClock.now - start < .microseconds(20) {}
            completion.finish(.success(BatchResults(values: [item * 2], runDuration: .microseconds(1))))
        }
        return TaskHandle(completion: completion, canceller: nil)
    }
}
