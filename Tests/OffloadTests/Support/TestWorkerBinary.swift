import Offload
import OffloadSystem
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Locates the OffloadTestWorker executable (built next to the test bundle) and builds pool configurations for it.
enum TestWorker {
    static var path: String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let exe = String(decoding: buffer[..<max(0, count)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var directory = exe
        if let slash = directory.lastIndex(of: "/") { directory = String(directory[..<slash]) }
        // swift test runs <...>/debug/OffloadPackageTests.xctest; the fixture sits in the same directory.
        return directory + "/OffloadTestWorker"
    }

    /// The transports every process-pool behaviour is tested on.
    static let transports: [ProcessPool.Transport] = [.pipes, .sharedMemory]

    /// A transport and a start method: what the failure matrix runs on.
    struct Variant: Sendable, CustomTestStringConvertible {
        var transport: ProcessPool.Transport
        var startMethod: ProcessPool.StartMethod
        var testDescription: String { "\(transport), \(startMethod)" }
    }

    /// Whether the fork-server variants run: always, unless `OFFLOAD_TEST_FORK_SERVER=0`. (They were opt-in while
    /// two of about fifteen full runs hung in a fork-server pool left with no worker — a worker reaped during another
    /// thread's write to it was never replaced, whatever the start method; see ProcessPoolReplacementAfterWriteTests.
    /// After the fix, 26 full runs in a row passed with them.)
    static let forkServerTestsEnabled = Syscalls.environmentValue("OFFLOAD_TEST_FORK_SERVER") != "0"

    /// Each transport spawned, and (see ``forkServerTestsEnabled``) the fork server on the automatic transport.
    static let variants: [Variant] =
        transports.map { Variant(transport: $0, startMethod: .spawn) }
        + (forkServerTestsEnabled ? [Variant(transport: .automatic, startMethod: .forkServer)] : [])

    /// The start method of every test pool unless a test sets one: the configuration's default, or
    /// `OFFLOAD_TEST_START_METHOD=spawn` / `forkserver` to run the whole suite on one.
    static let defaultStartMethod: ProcessPool.StartMethod =
        switch Syscalls.environmentValue("OFFLOAD_TEST_START_METHOD") {
        case "spawn": .spawn
        case "forkserver": .forkServer
        default: ProcessPool.Configuration().startMethod
        }

    static func configuration(
        workers: Int = 2,
        transport: ProcessPool.Transport = .automatic,
        _ adjust: (inout ProcessPool.Configuration) -> Void = { _ in }
    )
        -> ProcessPool.Configuration
    {
        var configuration = ProcessPool.Configuration(workers: workers, executable: path)
        configuration.transport = transport
        configuration.startMethod = defaultStartMethod
        configuration.forwardWorkerStderr = false
        configuration.shutdownGracePeriod = .seconds(1)
        adjust(&configuration)
        return configuration
    }

    /// Whether this test run is instrumented by ThreadSanitizer, whose runtime (also in the worker fixture) turns a
    /// SIGSEGV into exit status 66.
    static let underThreadSanitizer: Bool = dlsym(nil, "__tsan_init") != nil

    /// How a worker that dereferenced a bad pointer ends.
    static var segfaultTermination: OffloadError.Termination {
        underThreadSanitizer && !tsanLeavesSegfaultsAlone ? .exited(66) : .signaled(SIGSEGV)
    }

    /// `TSAN_OPTIONS=handle_segv=0`: ThreadSanitizer's handler stays out, so a crashing worker dies of the signal.
    static var tsanLeavesSegfaultsAlone: Bool {
        guard let options = getenv("TSAN_OPTIONS").map({ String(cString: $0) }) else { return false }
        return options.split(whereSeparator: { $0 == " " || $0 == ":" || $0 == "," }).contains("handle_segv=0")
    }

    /// Descriptors open in this process.
    static func openDescriptorCount() -> Int {
        guard let directory = opendir("/proc/self/fd") else { return -1 }
        defer { closedir(directory) }
        var count = 0
        while readdir(directory) != nil { count += 1 }
        return count - 3  // ".", ".." and the directory's own descriptor
    }

    /// Whether `pid` is gone (no such process, or a zombie nobody reaps, e.g. re-parented to a PID 1 that does not).
    static func isGone(_ pid: Int32) -> Bool {
        if kill(pid, 0) != 0 { return errno == ESRCH }
        let fd = open("/proc/\(pid)/stat", O_RDONLY)
        guard fd >= 0 else { return true }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 512)
        let count = read(fd, &bytes, bytes.count)
        guard count > 0 else { return true }
        let text = String(decoding: bytes[..<count], as: UTF8.self)
        guard let close = text.lastIndex(of: ")") else { return false }
        let state = text[text.index(close, offsetBy: 2)]
        return state == "Z" || state == "X"
    }

    /// Waits, without polling, until `pid` has exited (its pidfd becomes readable), for at most `timeout`. Returns
    /// whether it exited. A PID that no longer exists counts as exited.
    @discardableResult
    static func waitUntilExited(_ pid: Int32, timeout: Duration = .seconds(10)) -> Bool {
        let pidfd = Syscalls.pidfdOpen(pid)
        guard pidfd >= 0 else { return errno == ESRCH }
        defer { Syscalls.close(pidfd) }
        var entry = [pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)]
        let milliseconds = Int32(clamping: timeout.components.seconds * 1_000 + 1)
        return Syscalls.poll(&entry, timeoutMilliseconds: milliseconds) == 1
    }

    /// Async form of ``waitUntilExited(_:timeout:)``: the blocking wait runs on a thread of its own.
    @discardableResult
    static func waitUntilGone(_ pid: Int32, timeout: Duration = .seconds(10)) async -> Bool {
        await Task.detached { waitUntilExited(pid, timeout: timeout) }.value
    }

    /// Our own children that are still around (live or zombie), from /proc/*/stat.
    static func childPIDs() -> [Int32] {
        let me = getpid()
        guard let directory = opendir("/proc") else { return [] }
        defer { closedir(directory) }
        var children: [Int32] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard let pid = Int32(name) else { continue }
            let fd = open("/proc/\(pid)/stat", O_RDONLY)
            guard fd >= 0 else { continue }
            var bytes = [UInt8](repeating: 0, count: 512)
            let count = read(fd, &bytes, bytes.count)
            close(fd)
            guard count > 0 else { continue }
            let text = String(decoding: bytes[..<count], as: UTF8.self)
            guard let paren = text.lastIndex(of: ")") else { continue }
            let fields = text[text.index(after: paren)...].split(separator: " ")
            if fields.count > 1, Int32(fields[1]) == me { children.append(pid) }
        }
        return children
    }
}
