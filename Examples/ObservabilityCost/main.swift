// What watching costs: the same work with and without metrics and a progress consumer, for timing two runs of it
// side by side (`/usr/bin/time`, or any tool that alternates two commands). Compiled by every build.
//
//     ObservabilityCost <workload> [--metrics] [--progress] [--tasks N]
//
// workloads: submit    N tiny closures submitted one by one to a ThreadPool (the pool's peak task rate)
//            map       a ThreadPool map over N tiny items
//            jobs      a ProcessPool map over N tiny jobs (this executable is the worker)
// --metrics   bootstraps swift-prometheus as the swift-metrics backend and OffloadMetrics
// --progress  passes a ProgressMonitor to the map, read by a consuming task
import Metrics
import Offload
import OffloadMetrics
import Prometheus

struct Increment: Job {
    static var jobName: String { "Increment" }
    var value: Int
    func run() throws -> Int { value &+ 1 }
}

ProcessPool.runWorkerIfRequested(registry: JobRegistry(Increment.self))

let arguments = CommandLine.arguments
let workload = arguments.count > 1 ? arguments[1] : "submit"
let tasks = arguments.firstIndex(of: "--tasks").flatMap { Int(arguments[$0 + 1]) } ?? 1_000_000
if arguments.contains("--metrics") {
    MetricsSystem.bootstrap(PrometheusMetricsFactory())
    OffloadMetrics.bootstrap()
}
let progress = arguments.contains("--progress") ? ProgressMonitor() : nil
let consumer = progress.map { monitor in
    Task { () -> Int in
        var updates = 0
        for await _ in monitor.updates { updates += 1 }
        return updates
    }
}

let start = ContinuousClock.now
var checksum = 0
switch workload {
case "map":
    let pool = try ThreadPool(workers: 2, name: "cost")
    checksum = try await pool.map(0..<tasks, progress: progress) { $0 &* 3 }.reduce(0, &+)
    await pool.shutdown()
case "jobs":
    var configuration = ProcessPool.Configuration(workers: 2)
    configuration.name = "cost"
    let pool = try ProcessPool(configuration: configuration)
    checksum = try await pool.map((0..<tasks).map { Increment(value: $0) }, progress: progress).reduce(0, &+)
    await pool.shutdown()
default:
    let pool = try ThreadPool(workers: 2, name: "cost")
    var handles: [TaskHandle<Int>] = []
    handles.reserveCapacity(4_096)
    var left = tasks
    while left > 0 {
        for index in 0..<min(left, 4_096) { handles.append(try pool.submit { index &* 3 }) }
        left -= handles.count
        for handle in handles { checksum &+= try await handle.value }
        handles.removeAll(keepingCapacity: true)
    }
    await pool.shutdown()
}
let elapsed = start.duration(to: .now)
let updates = await consumer?.value ?? 0
print("\(workload): \(tasks) tasks in \(elapsed), checksum \(checksum), \(updates) progress updates")
