import Foundation
import Offload
import OffloadBenchJobs

/// `bench-processes --compare-start-methods`: how long a crashed worker takes to be replaced with each
/// ``ProcessPool/StartMethod``, measured in one run, interleaved (spawn, fork server, spawn, fork server, …).
///
/// One replacement: a one-worker pool runs ``CrashJob`` (its worker dies of SIGKILL); the sample is the time from the
/// moment the crash's error reaches the caller — the pool detected the exit on the worker's pidfd and asked for a
/// replacement in the same step — until a ``TrivialJob`` submitted then has returned: the replacement is started,
/// said hello and ran one job. It is an upper bound of "detected → ready" (it includes one round trip).
enum StartMethodComparison {
    struct Method: Codable {
        var startMethod: String
        var replacements: Int
        var medianMilliseconds: Double
        var p10Milliseconds: Double
        var p90Milliseconds: Double
        var minMilliseconds: Double
        var maxMilliseconds: Double
        /// 1.4826 × MAD / median.
        var noise: Double
        /// The whole cycle: the crashing job submitted → the trivial job on the replacement returned (an upper
        /// bound that a late wake-up of the caller cannot shrink), median and p10–p90.
        var cycleMedianMilliseconds: Double
        var cycleP10Milliseconds: Double
        var cycleP90Milliseconds: Double
        var workersForked: Int
        var fallbackReason: String?
        /// A new 2-worker pool → its first two results (median over the start-up rounds, interleaved too).
        var startupMedianMilliseconds: Double
        var startupMinMilliseconds: Double
        var startupMaxMilliseconds: Double
    }

    struct Report: Codable {
        var executable: String
        var cores: Int
        var spawn: Method
        var forkServer: Method
        /// spawn median / fork-server median.
        var speedup: Double
        /// The median of the pairwise ratios (spawn sample / the fork-server sample next to it).
        var pairedSpeedup: Double
    }

    static func run(replacements: Int, log: Bool) async throws -> Report {
        func pool(_ method: ProcessPool.StartMethod, workers: Int = 1) throws -> ProcessPool {
            var configuration = ProcessPool.Configuration(workers: workers)
            configuration.startMethod = method
            configuration.forwardWorkerStderr = false
            return try ProcessPool(configuration: configuration)
        }
        let methods: [ProcessPool.StartMethod] = [.spawn, .forkServer]
        // Start-up: a fresh 2-worker pool until both workers returned a result (the fork server's own start counts).
        var startups: [[Double]] = [[], []]
        for round in 0..<max(5, replacements / 10) {
            for index in round % 2 == 0 ? [0, 1] : [1, 0] {
                let start = ContinuousClock.now
                let fresh = try pool(methods[index], workers: 2)
                _ = try await fresh.map([TrivialJob(item: 1), TrivialJob(item: 2)], chunkSize: 1)
                startups[index].append((ContinuousClock.now - start).seconds * 1e3)
                await fresh.shutdown()
            }
        }
        let pools = try methods.map { try pool($0) }

        func replace(_ pool: ProcessPool) async throws -> (ready: Double, cycle: Double) {
            let submitted = ContinuousClock.now
            do {
                _ = try await pool.run(CrashJob())
                throw OffloadError(.protocolViolation, "CrashJob returned instead of crashing its worker")
            } catch let error as OffloadError where error.code == .workerCrashed {}
            let detected = ContinuousClock.now
            _ = try await pool.run(TrivialJob(item: 1))
            let done = ContinuousClock.now
            return ((done - detected).seconds * 1e3, (done - submitted).seconds * 1e3)
        }
        // Warm-up: both pools started, their code paths run, a few replacements each.
        for pool in pools {
            for item in 0..<20 { _ = try await pool.run(TrivialJob(item: item)) }
            for _ in 0..<3 { _ = try await replace(pool) }
        }
        var samples: [[Double]] = [[], []]
        var cycles: [[Double]] = [[], []]
        for round in 0..<replacements {
            // A B A B …, the order flipped every other pair so that neither always goes first.
            let order = round % 2 == 0 ? [0, 1] : [1, 0]
            for index in order {
                let sample = try await replace(pools[index])
                samples[index].append(sample.ready)
                cycles[index].append(sample.cycle)
            }
        }
        let figures = methods.indices.map { index in
            describe(methods[index], samples[index], cycles[index], startups[index], pools[index].startMethodStatus)
        }
        for pool in pools { await pool.shutdown() }
        let paired = zip(samples[0], samples[1]).map { $0 / $1 }.sorted()
        let report = Report(
            executable: CommandLine.arguments.first ?? "offload",
            cores: WorkerCount.available,
            spawn: figures[0],
            forkServer: figures[1],
            speedup: figures[0].medianMilliseconds / figures[1].medianMilliseconds,
            pairedSpeedup: paired[paired.count / 2]
        )
        if log {
            print("worker replacement after a crash, \(replacements) per start method, interleaved, "
                + "\(report.cores) cores available; executable \(report.executable)")
            for method in figures {
                print("  \(method.startMethod): median \(format(method.medianMilliseconds)) ms, "
                    + "p10-p90 \(format(method.p10Milliseconds))-\(format(method.p90Milliseconds)) ms, "
                    + "min-max \(format(method.minMilliseconds))-\(format(method.maxMilliseconds)) ms, "
                    + "noise \(format(method.noise * 100, 1))%, forked \(method.workersForked); "
                    + "whole cycle (crashing job submitted → next job done): median "
                    + "\(format(method.cycleMedianMilliseconds)) ms, p10-p90 \(format(method.cycleP10Milliseconds))-"
                    + "\(format(method.cycleP90Milliseconds)) ms; "
                    + "pool start → 2 results: median \(format(method.startupMedianMilliseconds)) ms "
                    + "(\(format(method.startupMinMilliseconds))-\(format(method.startupMaxMilliseconds)))"
                    + (method.fallbackReason.map { ", fell back: \($0)" } ?? ""))
            }
            print("  spawn/forkserver: \(format(report.speedup, 1))x (medians), "
                + "\(format(report.pairedSpeedup, 1))x (median of paired ratios)")
        }
        return report
    }

    private static func describe(
        _ method: ProcessPool.StartMethod,
        _ samples: [Double],
        _ cycles: [Double],
        _ startups: [Double],
        _ status: ProcessPool.StartMethodStatus
    ) -> Method {
        let startup = startups.sorted()
        let cycle = cycles.sorted()
        func cycleQuantile(_ q: Double) -> Double { cycle[min(cycle.count - 1, Int(Double(cycle.count) * q))] }
        let sorted = samples.sorted()
        func quantile(_ q: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))] }
        let median = quantile(0.5)
        let deviations = sorted.map { abs($0 - median) }.sorted()
        return Method(
            startMethod: method.description,
            replacements: samples.count,
            medianMilliseconds: median,
            p10Milliseconds: quantile(0.1),
            p90Milliseconds: quantile(0.9),
            minMilliseconds: sorted[0],
            maxMilliseconds: sorted[sorted.count - 1],
            noise: 1.4826 * deviations[deviations.count / 2] / median,
            cycleMedianMilliseconds: cycleQuantile(0.5),
            cycleP10Milliseconds: cycleQuantile(0.1),
            cycleP90Milliseconds: cycleQuantile(0.9),
            workersForked: status.workersForked,
            fallbackReason: status.fallbackReason,
            startupMedianMilliseconds: startup[startup.count / 2],
            startupMinMilliseconds: startup[0],
            startupMaxMilliseconds: startup[startup.count - 1]
        )
    }

    private static func format(_ value: Double, _ digits: Int = 2) -> String {
        String(format: "%.\(digits)f", value)
    }
}
