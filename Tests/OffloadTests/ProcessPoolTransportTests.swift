import Offload
import OffloadTestJobs
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The shared-memory transport end to end, with real worker processes. Small rings (4 KiB) make every frame of any
/// size cross the end of the ring and large ones go through in pieces.
@Suite(.serialized, .timeLimit(.minutes(1)))
struct ProcessPoolTransportTests {
    static func configuration(
        workers: Int = 1,
        ringBytes: Int = 4096,
        _ adjust: (inout ProcessPool.Configuration) -> Void = { _ in }
    ) -> ProcessPool.Configuration {
        TestWorker.configuration(workers: workers, transport: .sharedMemory) { configuration in
            configuration.sharedMemoryRingBytes = ringBytes
            adjust(&configuration)
        }
    }

    @Test("thousands of jobs through 4 KiB rings come back complete and in order (the rings wrap many times)")
    func orderingAcrossWrapAround() async throws {
        try await withProcessPool(configuration: Self.configuration(workers: 2)) { pool async throws in
            let handles = try (0..<1_000).map { try pool.submit(Square($0)) }
            for (index, handle) in handles.enumerated() { #expect(try await handle.value == index * index) }
            #expect(try await pool.map((0..<1_000).map(Square.init), chunkSize: 1) == (0..<1_000).map { $0 * $0 })
            #expect(try await pool.map((0..<20_000).map(Square.init)) == (0..<20_000).map { $0 * $0 })
            let stats = pool.stats
            #expect(stats.failed == 0 && stats.workersReplaced == 0 && stats.isConsistent)
            // The rings are there: each worker maps its journal file with the two rings behind it.
            for pid in pool.workerPIDs { #expect(Self.journalMappingBytes(pid) > Self.journalOnlyBytes) }
        }
    }

    /// The journal's size alone (4 KiB header + 1 MiB output area): what a worker on pipes maps.
    static let journalOnlyBytes = 4096 + (1 << 20)

    /// Bytes of `pid`'s mapping of its journal memory file (`/proc/<pid>/maps`), 0 if none.
    static func journalMappingBytes(_ pid: Int32) -> Int {
        let fd = open("/proc/\(pid)/maps", O_RDONLY)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        var text: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(fd, &chunk, chunk.count)
            guard count > 0 else { break }
            text += chunk[..<count]
        }
        for line in String(decoding: text, as: UTF8.self).split(separator: "\n") where line.contains("offload-journal") {
            let range = line.split(separator: " ")[0].split(separator: "-")
            if let start = Int(range[0], radix: 16), let end = Int(range[1], radix: 16) { return end - start }
        }
        return 0
    }

    @Test("a job and a result many times larger than a ring go through in pieces, intact")
    func payloadsLargerThanTheRing() async throws {
        try await withProcessPool(configuration: Self.configuration()) { pool async throws in
            let values = (0..<300_000).map { Double($0 % 1_000) }
            #expect(try await pool.run(InlineSum(values: values)) == values.reduce(0, +))
            let output = try await pool.run(BigOutput(bytes: 3 << 20))
            #expect(output.count == 3 << 20 && output.allSatisfy { $0 == 7 })
            #expect(try await pool.run(Square(5)) == 25)
        }
    }

    @Test("a worker killed halfway through writing a result into its ring is a crash of that task, not a hang")
    func workerKilledMidWrite() async throws {
        try await withProcessPool(configuration: Self.configuration(ringBytes: 1 << 16)) { pool async throws in
            let error = await #expect(throws: OffloadError.self) {
                try await pool.run(BigOutput(bytes: 1 << 20, dieAfterWriting: 100_000))
            }
            #expect(error?.code == .workerCrashed)
            #expect(error?.termination == .signaled(SIGKILL))
            // The replacement has a ring of its own: nothing the dead worker half-wrote reaches it.
            #expect(try await pool.run(Square(7)) == 49)
            #expect(pool.stats.workersReplaced == 1 && pool.stats.isConsistent)
        }
    }

    @Test("commands queued behind a busy worker fill its ring; the rest follows as it reads again")
    func stalledReaderCatchesUp() async throws {
        try await withProcessPool(configuration: Self.configuration()) { pool async throws in
            // Teach the pool that both job types are short, so a task is prefetched behind a running one.
            for _ in 0..<5 {
                _ = try await pool.run(Sleep(milliseconds: 1))
                _ = try await pool.run(InlineSum(values: [1, 2]))
            }
            let values = (0..<200_000).map(Double.init)
            let sleeper = try pool.submit(Sleep(milliseconds: 300))
            let queued = try pool.submit(InlineSum(values: values))
            let more = try (0..<200).map { try pool.submit(Square($0)) }
            _ = try await sleeper.value
            #expect(try await queued.value == values.reduce(0, +))
            for (index, handle) in more.enumerated() { #expect(try await handle.value == index * index) }
            #expect(pool.stats.failed == 0 && pool.stats.isConsistent)
        }
    }

    @Test("shutdown with work queued in the rings drains it, then every worker exits")
    func shutdownDrainsAndCleansUp() async throws {
        let pool = try ProcessPool(configuration: Self.configuration(workers: 2))
        let handles = try (0..<500).map { try pool.submit(Square($0)) }
        let pids = pool.workerPIDs
        await pool.shutdown()
        for (index, handle) in handles.enumerated() { #expect(try await handle.value == index * index) }
        for pid in pids { #expect(await TestWorker.waitUntilGone(pid)) }
        #expect(pool.stats.completed == 500 && pool.stats.isConsistent)
    }

    @Test("an idle worker asleep on its ring's futex takes the next job and the shutdown")
    func sleepingWorkerWakes() async throws {
        let pool = try ProcessPool(configuration: Self.configuration())
        #expect(try await pool.run(Square(2)) == 4)
        let pid = try #require(pool.workerPIDs.first)
        // Wait (bounded) until the worker's spin budget ran out and it sleeps in the kernel on the futex.
        let deadline = ContinuousClock.now + .seconds(10)
        while !Self.isAsleepOnFutex(pid), ContinuousClock.now < deadline { await Task.yield() }
        #expect(Self.isAsleepOnFutex(pid))
        #expect(try await pool.run(Square(3)) == 9)
        await pool.shutdown()
        #expect(await TestWorker.waitUntilGone(pid))
    }

    /// Whether `pid`'s only thread is blocked in the kernel's futex wait (`/proc/<pid>/wchan`).
    static func isAsleepOnFutex(_ pid: Int32) -> Bool {
        let fd = open("/proc/\(pid)/wchan", O_RDONLY)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 128)
        let count = read(fd, &bytes, bytes.count)
        return count > 0 && String(decoding: bytes[..<count], as: UTF8.self).contains("futex")
    }

    @Test("transport .pipes and too small or uneven ring sizes: pipes work, bad sizes are rejected up front")
    func configurationIsChecked() async throws {
        try await withProcessPool(configuration: TestWorker.configuration(workers: 1, transport: .pipes)) { pool async throws in
            #expect(try await pool.run(Square(4)) == 16)
            for pid in pool.workerPIDs { #expect(Self.journalMappingBytes(pid) == Self.journalOnlyBytes) }
        }
        for bytes in [1024, 5000, 1 << 27] {
            let error = #expect(throws: OffloadError.self) {
                _ = try ProcessPool(configuration: Self.configuration(ringBytes: bytes))
            }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.contains("sharedMemoryRingBytes") == true)
        }
    }
}

/// A parent process killed with SIGKILL (a pool in the fixture's `parent` mode) on each transport, also while it is
/// halfway through writing a large job into a full command ring.
@Suite(.serialized, .timeLimit(.minutes(1)))
struct ProcessPoolTransportParentDeathTests {
    @Test(
        "a parent killed with SIGKILL leaves no worker behind, on each transport and in the middle of a ring write",
        arguments: [["pipes"], ["sharedMemory"], ["sharedMemory", "mid-write"]]
    )
    func parentKilledLeavesNoWorker(arguments: [String]) throws {
        let parent = OrphanMaker(["parent"] + arguments)
        #expect(parent.lines.first?.hasPrefix("pids ") == true && parent.workers.count == 2)
        #expect(parent.workers.allSatisfy { !TestWorker.isGone($0) })
        #expect(parent.killParentAndAwaitWorkers())
    }
}
