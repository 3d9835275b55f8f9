import OffloadTestJobs
import Testing

@testable import Offload

#if canImport(Glibc)
    import Glibc
#endif

@Suite(.serialized, .timeLimit(.minutes(1)))
struct SharedBufferTests {
    /// Where `/proc/self/fd/<fd>` points, or `nil` when the descriptor is closed.
    static func descriptorTarget(_ fd: Int32) -> String? {
        var target = [UInt8](repeating: 0, count: 256)
        let length = readlink("/proc/self/fd/\(fd)", &target, target.count - 1)
        return length < 0 ? nil : String(decoding: target[..<length], as: UTF8.self)
    }

    static func segmentExists(_ name: String) -> Bool {
        access("/dev/shm" + name, F_OK) == 0
    }

    static func offloadSegments(of pid: Int32 = getpid()) -> Set<String> {
        guard let directory = opendir("/dev/shm") else { return [] }
        defer { closedir(directory) }
        var names: Set<String> = []
        let prefix = "offload-\(pid)-"
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name.hasPrefix(prefix) { names.insert(name) }
        }
        return names
    }

    @Test(
        "workers read what the parent wrote, through the handle, without copying it into the job",
        arguments: [SharedMemoryBacking.anonymousFile, .namedSegment]
    )
    func workersReadParentData(backing: SharedMemoryBacking) async throws {
        let buffer = try SharedBuffer<Double>(count: 100_000, backing: backing)
        #expect(buffer.segment.backing == backing)
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

    @Test(
        "writes and counter increments from many workers are all seen by the parent",
        arguments: [SharedMemoryBacking.anonymousFile, .namedSegment]
    )
    func workersWriteBack(backing: SharedMemoryBacking) async throws {
        let output = try SharedBuffer<Int>(count: 200, backing: backing)
        let counter = try SharedCounter(backing: backing)
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

    @Test("named segments are unlinked when released, also after a worker crashed while using them")
    func segmentsUnlinked() async throws {
        let before = Self.offloadSegments()
        var name = ""
        do {
            let buffer = try SharedBuffer<UInt8>(count: 4096, backing: .namedSegment)
            name = try #require(buffer.segment.name)
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
            let counter = try SharedCounter(3, backing: .namedSegment)
            #expect(Self.segmentExists(try #require(counter.handle.segment.name)))
        }
        #expect(Self.offloadSegments() == before)
    }

    @Test("anonymous buffers have no name in /dev/shm, and their descriptor closes when released")
    func anonymousBuffersLeaveNothingNamed() throws {
        let before = Self.offloadSegments()
        let descriptor: Int32
        let inode: UInt64
        do {
            let buffer = try SharedBuffer<Double>(count: 1_000)
            let counter = try SharedCounter(1)
            guard case .anonymousFile(let owner, let fd, _, let fileInode) = buffer.segment.location else {
                Issue.record("the default backing is not an anonymous file: \(buffer.segment)")
                return
            }
            descriptor = fd
            inode = fileInode
            #expect(owner == getpid())
            #expect(buffer.segment.name == nil && counter.handle.segment.name == nil)
            #expect(Self.offloadSegments() == before)
            #expect(Self.descriptorTarget(fd)?.hasPrefix("/memfd:offload-shared") == true)
        }
        // Released: the descriptor is closed (or already reused by something else: then it is another file).
        var info = stat()
        #expect(stat("/proc/self/fd/\(descriptor)", &info) != 0 || UInt64(info.st_ino) != inode)
    }

    @Test("a released anonymous buffer's handle fails, even when its descriptor number now names another buffer")
    func releasedAnonymousHandleNeverReadsAnotherBuffer() async throws {
        let stale: SharedBuffer<Double>.Handle
        do {
            let buffer = try SharedBuffer<Double>(count: 10)
            buffer.withUnsafeMutableBufferPointer { $0.initialize(repeating: 1) }
            stale = buffer.handle
        }
        // Most likely gets the same descriptor number (the lowest free one).
        let successor = try SharedBuffer<Double>(count: 10)
        successor.withUnsafeMutableBufferPointer { $0.initialize(repeating: 2) }
        try await withProcessPool(configuration: TestWorker.configuration(workers: 1)) { pool async throws in
            let error = await #expect(throws: OffloadError.self) { try await pool.run(SharedSum(input: stale)) }
            #expect(error?.code == .jobFailed)
            #expect(error?.message.contains("sharedMemoryFailed") == true)
            #expect(try await pool.run(SharedSum(input: successor.handle)) == 20)
        }
    }

    @Test("a parent killed with SIGKILL while its workers map its shared memory leaves no segment and no worker")
    func parentSIGKILLLeavesNoSegment() throws {
        // "pids <a> <b>\nnamed <name>\n", once both workers are inside a job that maps the buffer.
        let parent = OrphanMaker(["parent-holding-shared"], lines: 2)
        let (pid, lines, workers) = (parent.pid, parent.lines, parent.workers)
        #expect(lines.first?.hasPrefix("pids ") == true && workers.count == 2)
        // The workers really hold the parent's anonymous memory file, and the named control segment exists.
        for worker in workers {
            let maps = (try? String(contentsOfFileDescriptor: open("/proc/\(worker)/maps", O_RDONLY))) ?? ""
            #expect(maps.contains("memfd:offload-shared"))
        }
        #expect(lines.count == 2 && lines[1].hasPrefix("named /offload-\(pid)-"))
        #expect(Self.offloadSegments(of: pid).count == 1)

        #expect(parent.killParentAndAwaitWorkers())
        // Only the segment asked for by name survives its owner (and is removed here); the anonymous file and the
        // counter went with the last process that had them.
        let survivors = Self.offloadSegments(of: pid)
        #expect(survivors.count == 1)
        for name in survivors { shm_unlink("/" + name) }
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
