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
//   parent                 start a 2-worker pool of this executable, print "pids <a> <b>", then wait to be killed
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
if arguments.contains("--idle-without-entry") {
    while true { pause() }
}

// Spans of traced tasks (the parent sent a trace context) are children of the parent's; SpanContextSeen reports them.
OffloadTracing.bootstrap(tracer: InMemoryTracer())
ProcessPool.runWorkerIfRequested(registry: TestJobs.registry)

if arguments.count > 1, arguments[1] == "parent" {
    let pool = try ProcessPool(configuration: ProcessPool.Configuration(workers: 2))
    _ = try await pool.map([Square(1), Square(2), Square(3), Square(4)], chunkSize: 1)
    var line = "pids " + pool.workerPIDs.map(String.init).joined(separator: " ") + "\n"
    line.withUTF8 { _ = write(1, $0.baseAddress, $0.count) }
    while true { pause() }
}
print("OffloadTestWorker: run me through a ProcessPool (or with 'parent')")
