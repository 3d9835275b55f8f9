import Offload
import OffloadSystem
import OffloadTestJobs
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension String {
    /// The whole content of `fd` (closed afterwards), decoded as UTF-8.
    init(contentsOfFileDescriptor fd: Int32) throws {
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = read(fd, &chunk, chunk.count)
            if count <= 0 { break }
            bytes += chunk[..<count]
        }
        self = String(decoding: bytes, as: UTF8.self)
    }
}

/// Leaks and orphans, checked in isolated processes (exit tests) so that other suites' pools do not disturb counts.
@Suite(.serialized, .timeLimit(.minutes(1)))
struct LeakTests {
    @Test("after shutdown: no leaked descriptors, no child processes, no zombies — even after crashes and timeouts")
    func noLeaksAfterShutdown() async {
        await #expect(processExitsWith: .success) {
            // Warm up once: the runtime and Dispatch open descriptors lazily on first use; they are not leaks.
            try await withProcessPool(configuration: TestWorker.configuration(workers: 1)) { pool in _ = try await pool.run(Square(1))
            }
            let descriptorsBefore = TestWorker.openDescriptorCount()
            for _ in 0..<3 {
                let configuration = TestWorker.configuration(workers: 2) { $0.taskTimeout = .milliseconds(500) }
                let pool = try ProcessPool(configuration: configuration)
                _ = try await pool.map((0..<100).map(Square.init))
                _ = try? await pool.run(Die(.sigsegv))
                _ = try? await pool.run(Sleep(milliseconds: 10_000))
                _ = try? await pool.run(BigOutput(bytes: 1 << 20, dieAfterWriting: 70_000))
                await pool.shutdown()
            }
            let descriptorsAfter = TestWorker.openDescriptorCount()
            guard descriptorsAfter == descriptorsBefore else {
                print("descriptors before \(descriptorsBefore), after \(descriptorsAfter)")
                system("ls -l /proc/\(getpid())/fd")
                exit(10)
            }
            guard TestWorker.childPIDs().isEmpty else { exit(11) }
            // Every worker's progress journal (a memfd mapping) is unmapped.
            let maps = try String(contentsOfFileDescriptor: open("/proc/self/maps", O_RDONLY))
            guard !maps.contains("offload-journal") else { exit(12) }
        }
    }

    @Test("a parent killed with SIGKILL leaves no worker behind")
    func parentSIGKILLKillsWorkers() throws {
        let parent = OrphanMaker(["parent"])
        #expect(parent.lines.first?.hasPrefix("pids ") == true && parent.workers.count == 2)
        #expect(parent.workers.allSatisfy { !TestWorker.isGone($0) })
        #expect(parent.killParentAndAwaitWorkers())
    }
}
