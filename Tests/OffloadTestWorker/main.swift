import InMemoryTracing
import Offload
import OffloadTestJobs
import OffloadTracing

#if canImport(Glibc)
    import Glibc
#endif

// The process pool's test fixture. As a worker it serves TestJobs.registry. Extra modes:
//   --skip-entry           (worker argument) forget the entry point and create a pool: must refuse, exit 78
//   --idle-without-entry   (worker argument) forget the entry point and never create a pool: start-up deadline
//   --garbage-before-hello (worker argument) write bytes that are not a frame to the result pipe, then serve
//   --crash-before-hello   (worker argument) crash with SIGSEGV before reaching the entry point
//   --fork-server-dies-after-clone (worker argument) as a fork server, die right after the first fork, unanswered
//   --forked-worker-announces-late=<fifo> (worker argument) as a fork server's worker, announce the PID only once
//                          the pool stopped waiting for it, after writing it to <fifo>
//   parent                 start a 2-worker pool of this executable, print "pids <a> <b>", then wait to be killed
//                          (optionally: parent pipes|sharedMemory [mid-write] [forkserver|spawn]); without a start
//                          method argument, OFFLOAD_TEST_START_METHOD chooses one, and a fork server's PID is
//                          added to the line as "server=<pid>"
//   parent-holding-shared  as parent, with both workers inside a job that maps a SharedBuffer and a SharedCounter
//                          of the default backing, and one named SharedBuffer, when "pids" is printed
let arguments = CommandLine.arguments
if arguments.contains("--skip-entry") {
    _ = try? ProcessPool(configuration: ProcessPool.Configuration(workers: 1))
    exit(0)
}
if arguments.contains("--garbage-before-hello") {
    let junk: [UInt8] = Array("hello from main\n".utf8)
    _ = junk.withUnsafeBytes { write(4, $0.baseAddress, $0.count) }
}
if arguments.contains("--crash-before-hello") {
    UnsafeMutablePointer<Int>(bitPattern: 8)?.pointee = 1
}
if arguments.contains("--thread-before-entry") {
    // A thread started before the entry point: a fork server must refuse to fork (the pool then spawns workers).
    var thread = pthread_t()
    _ = pthread_create(&thread, nil, idleForever, nil)
}
if arguments.contains("--mutex-before-entry") {
    // A Mutex locked on the main thread before the entry point: a fork server's workers must not inherit its owner id.
    lockEntryMutexOnce()
}
if arguments.contains("--fork-server-dies-after-clone") {
    // As a fork server: die (SIGKILL) right after forking the first worker, before replying to the pool.
    ProcessPool.testHookForkServerDiesAfterNextClone()
}
if let late = arguments.first(where: { $0.hasPrefix("--forked-worker-announces-late=") }) {
    // As a fork server: each forked worker announces itself only after the pool stopped waiting for its PID, and
    // first tells the test its PID through the FIFO named.
    ProcessPool.testHookForkedWorkerAnnouncesLate(fifo: String(late.dropFirst("--forked-worker-announces-late=".count)))
}
if arguments.contains("--idle-without-entry") {
    while true { pause() }
}

// Spans of traced tasks (the parent sent a trace context) are children of the parent's; SpanContextSeen reports them.
OffloadTracing.bootstrap(tracer: InMemoryTracer())
ProcessPool.runWorkerIfRequested(registry: TestJobs.registry)

if arguments.count > 1, arguments[1] == "parent" {
    // parent [pipes | sharedMemory] [mid-write]: mid-write leaves each worker's 4 KiB command ring full, with a
    // large job half written into it behind a long-running one, when the parent is killed.
    var configuration = ProcessPool.Configuration(workers: 2)
    configuration.startMethod = startMethodFromEnvironment ?? configuration.startMethod
    if arguments.count > 2 { configuration.transport = arguments[2] == "pipes" ? .pipes : .sharedMemory }
    // "forkserver" names the start method and adds the server's PID to the line; "spawn" names the other.
    let namedForkServer = arguments.contains("forkserver")
    if namedForkServer { configuration.startMethod = .forkServer }
    if arguments.contains("spawn") { configuration.startMethod = .spawn }
    let midWrite = arguments.contains("mid-write")
    if midWrite { configuration.sharedMemoryRingBytes = 4096 }
    let pool = try ProcessPool(configuration: configuration)
    _ = try await pool.map([Square(1), Square(2), Square(3), Square(4)], chunkSize: 1)
    if midWrite {
        // Both job types measured short, so the large job is prefetched behind the sleeping one.
        for _ in 0..<5 {
            _ = try await pool.map([Sleep(milliseconds: 1), Sleep(milliseconds: 1)], chunkSize: 1)
            _ = try await pool.map([InlineSum(values: [1]), InlineSum(values: [2])], chunkSize: 1)
        }
        for _ in 0..<2 { _ = try pool.submit(Sleep(milliseconds: 60_000)) }
        for _ in 0..<2 { _ = try pool.submit(InlineSum(values: [Double](repeating: 1, count: 100_000))) }
    }
    // With a fork server its PID comes last: it must not outlive this process either.
    let everyPID = pool.workerPIDs + (namedForkServer ? pool.forkServerPID.map { [$0] } ?? [] : [])
    var line = "pids " + everyPID.map(String.init).joined(separator: " ")
    if !namedForkServer, let server = pool.forkServerPID { line += " server=\(server)" }
    line += "\n"
    line.withUTF8 { _ = write(1, $0.baseAddress, $0.count) }
    while true { pause() }
}
/// Both workers inside a job that maps an anonymous SharedBuffer and SharedCounter, plus one named buffer; prints
/// "pids <a> <b>" and "named <name>", then waits to be killed. (In a function: as top-level variables of this async
/// main, the noncopyable buffers were destroyed early by Swift 6.3.1 — their descriptors closed twice.)
func parentHoldingShared() async throws {
    var configuration = ProcessPool.Configuration(workers: 2)
    configuration.startMethod = startMethodFromEnvironment ?? configuration.startMethod
    let pool = try ProcessPool(configuration: configuration)
    let buffer = try SharedBuffer<UInt8>(count: 1 << 20)
    let mapped = try SharedCounter()
    let named = try SharedBuffer<UInt8>(count: 4096, backing: .namedSegment)
    let bufferHandle = buffer.handle
    let mappedHandle = mapped.handle
    let holds = try (0..<2).map { _ in try pool.submit(HoldSharedBuffer(input: bufferHandle, mapped: mappedHandle)) }
    // A job that ends instead of holding the mapping is a broken fixture: say why and stop.
    for hold in holds {
        Task {
            var line = "hold ended: "
            do { line += "returned \(try await hold.value)\n" } catch { line += "\(error)\n" }
            line.utf8CString.withUnsafeBufferPointer { _ = write(2, $0.baseAddress, $0.count - 1) }
            exit(2)
        }
    }
    // A fixture, not a test: poll the workers' shared announcement (they never finish their jobs).
    while mapped.load() < 2 { try await Task.sleep(for: .milliseconds(1)) }
    var line = "pids " + pool.workerPIDs.map(String.init).joined(separator: " ") + "\n"
    line += "named \(named.segment.name ?? "")\n"
    line.withUTF8 { _ = write(1, $0.baseAddress, $0.count) }
    // Everything stays alive until the test kills this process.
    while mapped.load() >= 0 { try await Task.sleep(for: .seconds(1)) }
    _ = (buffer.count, named.count)
}
if arguments.count > 1, arguments[1] == "parent-holding-shared" {
    try await parentHoldingShared()
}
print("OffloadTestWorker: run me through a ProcessPool (or with 'parent')")

/// `OFFLOAD_TEST_START_METHOD` (`spawn` or `forkserver`), which runs the whole suite on one start method: it reaches
/// the pools this fixture makes as a parent through the environment the test process passes on.
nonisolated var startMethodFromEnvironment: ProcessPool.StartMethod? {
    switch getenv("OFFLOAD_TEST_START_METHOD").map({ String(cString: $0) }) {
    case "spawn": .spawn
    case "forkserver": .forkServer
    default: nil
    }
}

/// A thread body that never returns (`--thread-before-entry`); a function, so that it is not main-actor isolated.
func idleForever(_: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    while true { pause() }
}
