import Glibc
import Offload

// ProcessPoolSemantics: the process pool's figures that unit tests must not time.
//   cost per crash (fatalError, SIGSEGV; replacement included), backtracer off (default) and on
//   cancel → return in stop mode (a handle; the task awaiting map)
//   mapResults vs map on 100,000 trivial jobs
// Lanes run interleaved (A B A B …) because this machine's CPU speed drifts; medians, spread and ratios are printed.
ProcessPool.runWorkerIfRequested(registry: registry)

// Usage: ProcessPoolSemantics [rounds] [crash|cancel|throughput …]   (default: 7 rounds, every lane)
let rounds = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 7
let lanes = Set(CommandLine.arguments.dropFirst(2))
func runs(_ lane: String) -> Bool { lanes.isEmpty || lanes.contains(lane) }

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

func time(_ body: () async throws -> Void) async rethrows -> Double {
    let start = ContinuousClock.now
    try await body()
    return seconds(ContinuousClock.now - start)
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1
        ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

func describe(_ values: [Double], scale: Double, unit: String) -> String {
    let scaled = values.map { $0 * scale }
    func fixed(_ value: Double) -> String {
        let rounded = (value * 100).rounded() / 100
        return "\(rounded)"
    }
    return
        "median \(fixed(median(scaled))) \(unit)  (min \(fixed(scaled.min() ?? 0)), max \(fixed(scaled.max() ?? 0)), n=\(scaled.count))"
}

/// A FIFO the benchmark reads: a job writes one byte when it starts.
final class StartSignal {
    let path = "/tmp/offload-bench-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    let fd: Int32
    init() {
        mkfifo(path, 0o600)
        fd = open(path, O_RDWR | O_CLOEXEC)
    }
    func wait() {
        var byte: UInt8 = 0
        while read(fd, &byte, 1) < 0 && errno == EINTR {}
    }
    deinit {
        close(fd)
        unlink(path)
    }
}

// MARK: Lanes

/// Per crash: a crashing job, then a trivial job that waits for the replacement worker; minus nothing (the trivial
/// round trip, ~0.1 ms, is included).
func crashCost(_ mode: Crash.Mode, fullBacktraces: Bool, crashes: Int) async throws -> Double {
    var configuration = ProcessPool.Configuration(workers: 1)
    configuration.forwardWorkerStderr = false
    configuration.fullBacktraces = fullBacktraces
    let pool = try ProcessPool(configuration: configuration)
    try await pool.waitUntilReady()
    _ = try await pool.run(Trivial(x: 0))
    let elapsed = try await time {
        for index in 0..<crashes {
            _ = try? await pool.run(Crash(mode: mode))
            _ = try await pool.run(Trivial(x: index))
        }
    }
    await pool.shutdown()
    precondition(pool.stats.workersReplaced == crashes, "every crash replaced its worker")
    return elapsed / Double(crashes)
}

/// Cancel → return of a handle whose job runs, in stop mode.
func cancelHandle() async throws -> (returned: Double, workerFree: Double) {
    var configuration = ProcessPool.Configuration(workers: 1)
    configuration.forwardWorkerStderr = false
    let pool = try ProcessPool(configuration: configuration)
    try await pool.waitUntilReady()
    let signal = StartSignal()
    let handle = try pool.submit(AnnounceThenSleep(path: signal.path, milliseconds: 30_000))
    signal.wait()
    let start = ContinuousClock.now
    handle.cancel(mode: .stopRunning)
    _ = try? await handle.value
    let returned = seconds(ContinuousClock.now - start)
    _ = try await pool.run(Trivial(x: 1))
    let free = seconds(ContinuousClock.now - start)
    await pool.shutdown()
    return (returned, free)
}

/// Cancel → return of the task awaiting `map` of long jobs (both workers busy), in stop mode.
func cancelMap() async throws -> Double {
    var configuration = ProcessPool.Configuration(workers: 2)
    configuration.forwardWorkerStderr = false
    configuration.cancellationMode = .stopRunning
    let pool = try ProcessPool(configuration: configuration)
    try await pool.waitUntilReady()
    let signal = StartSignal()
    let jobs = (0..<8).map { _ in AnnounceThenSleep(path: signal.path, milliseconds: 30_000) }
    let task = Task { try await pool.map(jobs, chunkSize: 1) }
    signal.wait()
    signal.wait()
    let start = ContinuousClock.now
    task.cancel()
    _ = try? await task.value
    let returned = seconds(ContinuousClock.now - start)
    await pool.shutdown()
    return returned
}

// MARK: Run

print("ProcessPoolSemantics: \(rounds) interleaved rounds, release build, pid \(getpid())")

var fatalCost: [Double] = []
var segvCost: [Double] = []
var fullCost: [Double] = []
if runs("crash") {
    for _ in 0..<rounds {
        fatalCost.append(try await crashCost(.fatalError, fullBacktraces: false, crashes: 20))
        segvCost.append(try await crashCost(.sigsegv, fullBacktraces: false, crashes: 20))
        fullCost.append(try await crashCost(.fatalError, fullBacktraces: true, crashes: 2))
    }
    print("cost per crash, replacement included (target ≤ 10 ms):")
    print("  fatalError, backtracer off (default)  " + describe(fatalCost, scale: 1e3, unit: "ms"))
    print("  SIGSEGV,    backtracer off (default)  " + describe(segvCost, scale: 1e3, unit: "ms"))
    print("  fatalError, fullBacktraces = true     " + describe(fullCost, scale: 1e3, unit: "ms"))
}

var handleReturn: [Double] = []
var handleFree: [Double] = []
var mapReturn: [Double] = []
if runs("cancel") {
    for _ in 0..<rounds {
        let (returned, free) = try await cancelHandle()
        handleReturn.append(returned)
        handleFree.append(free)
        mapReturn.append(try await cancelMap())
    }
    print("cancel → return in .stopRunning mode (target ≤ 20 ms):")
    print("  handle.cancel(mode:) → value throws   " + describe(handleReturn, scale: 1e3, unit: "ms"))
    print("  … → next job done on the replacement  " + describe(handleFree, scale: 1e3, unit: "ms"))
    print("  task awaiting map cancelled → returns " + describe(mapReturn, scale: 1e3, unit: "ms"))
}

if runs("throughput") {
    let count = 100_000
    let jobs = (0..<count).map { Trivial(x: $0) }
    var configuration = ProcessPool.Configuration(workers: 2)
    configuration.forwardWorkerStderr = false
    let pool = try ProcessPool(configuration: configuration)
    try await pool.waitUntilReady()
    _ = try await pool.map(jobs.prefix(10_000))
    var mapRates: [Double] = []
    var resultRates: [Double] = []
    var ratios: [Double] = []
    for _ in 0..<rounds {
        let a = try await time { _ = try await pool.map(jobs) }
        let b = try await time { _ = try await pool.mapResults(jobs) }
        mapRates.append(Double(count) / a)
        resultRates.append(Double(count) / b)
        ratios.append(a / b)
    }
    await pool.shutdown()
    print("throughput, \(count) trivial jobs, 2 workers, automatic chunks (target mapResults ≥ 0.9 × map):")
    print("  map         " + describe(mapRates, scale: 1e-3, unit: "k jobs/s"))
    print("  mapResults  " + describe(resultRates, scale: 1e-3, unit: "k jobs/s"))
    print("  ratio mapResults / map (per round)  " + describe(ratios, scale: 1, unit: "×"))
}
