import Offload
import OffloadTestJobs
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite(.serialized, .timeLimit(.minutes(1)))
struct SharedBufferTests {
    static func segmentExists(_ name: String) -> Bool {
        access("/dev/shm" + name, F_OK) == 0
    }

    static func offloadSegments() -> Set<String> {
        guard let directory = opendir("/dev/shm") else { return [] }
        defer { closedir(directory) }
        var names: Set<String> = []
        let prefix = "offload-\(getpid())-"
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name.hasPrefix(prefix) { names.insert(name) }
        }
        return names
    }

    @Test("workers read what the parent wrote, through the handle, without copying it into the job")
    func workersReadParentData() async throws {
        let buffer = try SharedBuffer<Double>(count: 100_000)
        buffer.withUnsafeMutableBufferPointer { values in
            for index in values.indices { values[index] = Double(index) }
        }
        try await withProcessPool(configuration: TestWorker.configuration()) { pool async throws in
            let sum = try await pool.run(SharedSum(input: buffer.handle))
            #expect(sum == Double(99_999 * 100_000 / 2))
            let sampled = try await pool.run(SharedSum(input: buffer.handle, stride: 1_000))
            #expect(sampled == (0..<100).reduce(0.0) { $0 + Double($1 * 1_000) })
        }
    }

    @Test("writes and counter increments from many workers are all seen by the parent")
    func workersWriteBack() async throws {
        let output = try SharedBuffer<Int>(count: 200)
        let counter = try SharedCounter()
        try await withProcessPool(configuration: TestWorker.configuration()) { pool async throws in
            let jobs = (0..<200).map { SharedWrite(output: output.handle, counter: counter.handle, index: $0) }
            let counts = try await pool.map(jobs, chunkSize: 1)
            #expect(Set(counts) == Set(1...200))
        }
        #expect(counter.load() == 200)
        output.withUnsafeBufferPointer { values in
            #expect(values.enumerated().allSatisfy { $0.element == $0.offset * 10 })
        }
        #expect(counter.add(5) == 205)
    }

    @Test("segments are unlinked when released, also after a worker crashed while using them")
    func segmentsUnlinked() async throws {
        let before = Self.offloadSegments()
        var name = ""
        do {
            let buffer = try SharedBuffer<UInt8>(count: 4096)
            name = buffer.segmentName
            #expect(Self.segmentExists(name))
            try await withProcessPool(configuration: TestWorker.configuration(workers: 1)) { pool async throws in
                await #expect(throws: OffloadError.self) { try await pool.run(Die(.sigkill)) }
                #expect(try await pool.run(Square(2)) == 4)
            }
            #expect(Self.segmentExists(name))
            buffer.release()
        }
        #expect(!Self.segmentExists(name))
        do {
            let counter = try SharedCounter(3)
            #expect(Self.segmentExists(counter.handle.name))
        }
        #expect(Self.offloadSegments() == before)
    }

    @Test("a handle whose buffer was released fails with sharedMemoryFailed in the worker")
    func releasedHandleFails() async throws {
        let handle: SharedBuffer<Double>.Handle
        do {
            let buffer = try SharedBuffer<Double>(count: 10)
            handle = buffer.handle
        }
        try await withProcessPool(configuration: TestWorker.configuration(workers: 1)) { pool async throws in
            let error = await #expect(throws: OffloadError.self) { try await pool.run(SharedSum(input: handle)) }
            #expect(error?.code == .jobFailed)
            #expect(error?.message.contains("sharedMemoryFailed") == true)
        }
    }

    @Test("invalid sizes are rejected")
    func invalidSizes() {
        #expect(throws: OffloadError.self) { _ = try SharedBuffer<Int>(count: 0) }
        #expect(throws: OffloadError.self) { _ = try SharedBuffer<Int>(count: Int.max) }
    }
}
