import Foundation
import Offload
import OffloadBenchJobs

/// The lanes of `offload bench-processes`, each run by the ``Harness`` beside the baseline it is judged against.
enum ProcessBenchLanes {
    /// `count` raw pipe round trips with the calling thread pinned to CPU 0; the run's time is their median, and every
    /// round trip is kept for the percentiles.
    struct RawPipe: LaneSession {
        let child: RawPipeEcho.Child
        let count: Int

        func run() async throws -> LaneRun {
            let samples = try child.roundTrips(count, pinnedTo: 0)
            return LaneRun(checksum: "", seconds: Statistics.median(samples), samples: samples)
        }
    }

    /// `count` awaited one-job round trips on a warm pool; the run's time is their median, and every round trip is
    /// kept for the percentiles.
    struct PoolAwait: LaneSession {
        let pool: ProcessPool
        let count: Int

        func run() async throws -> LaneRun {
            var samples: [Double] = []
            samples.reserveCapacity(count)
            for iteration in 0..<count {
                let start = ContinuousClock.now
                _ = try await pool.run(TrivialJob(item: iteration))
                samples.append((ContinuousClock.now - start).seconds)
            }
            return LaneRun(checksum: "", seconds: Statistics.median(samples), samples: samples)
        }
    }

    /// `count` round trips waited for synchronously (``TaskHandle/wait(timeout:)``) on a dedicated thread.
    struct PoolBlockingWait: LaneSession {
        let pool: ProcessPool
        let count: Int

        func run() async throws -> LaneRun {
            let pool = self.pool
            let count = self.count
            let samples = try await BlockingThread.run { () throws -> [Double] in
                var samples: [Double] = []
                for iteration in 0..<count {
                    let start = ContinuousClock.now
                    _ = try pool.submit(TrivialJob(item: iteration)).wait()
                    samples.append((ContinuousClock.now - start).seconds)
                }
                return samples
            }
            return LaneRun(checksum: "", seconds: Statistics.median(samples), samples: samples)
        }
    }

    /// `ProcessPool.map` of the same jobs, with a fixed batch size (`nil`: automatic).
    struct PoolMap<J: Job>: LaneSession where J.Output == UInt64 {
        let pool: ProcessPool
        let jobs: [J]
        let chunkSize: Int?

        func run() async throws -> LaneRun {
            LaneRun(try await pool.map(jobs, chunkSize: chunkSize).reduce(0, &+))
        }
    }

    /// Pool creation to its first result (the pool is shut down after the clock stops).
    struct PoolStart: LaneSession {
        let configuration: ProcessPool.Configuration

        func run() async throws -> LaneRun {
            let start = ContinuousClock.now
            let pool = try ProcessPool(configuration: configuration)
            let value = try await pool.run(TrivialJob(item: 1))
            let seconds = (ContinuousClock.now - start).seconds
            await pool.shutdown()
            return LaneRun(checksum: String(value), seconds: seconds)
        }
    }

    /// Spawn of this executable to its first echo, no pool: the part of start-up owed to the executable itself.
    struct ExecutableStart: LaneSession {
        func run() async throws -> LaneRun {
            LaneRun(checksum: "", seconds: try RawPipeEcho.Child.startupSeconds())
        }
    }

    /// One job that samples a large input, handed over as `job`.
    struct Sample<J: Job>: LaneSession where J.Output == Double {
        let pool: ProcessPool
        let job: J

        func run() async throws -> LaneRun {
            LaneRun(checksum: String(try await pool.run(job)))
        }
    }

    /// Encode and decode `value` `iterations` times with JSONEncoder/JSONDecoder or with Offload's binary codec.
    struct Codec<T: Codable & Sendable>: LaneSession {
        let value: T
        let iterations: Int
        let json: Bool

        func run() async throws -> LaneRun {
            var bytes = 0
            if json {
                let encoder = JSONEncoder()
                let decoder = JSONDecoder()
                for _ in 0..<iterations {
                    let data = try encoder.encode(value)
                    bytes = data.count
                    _ = try decoder.decode(T.self, from: data)
                }
            } else {
                for _ in 0..<iterations {
                    let encoded = try JobCodec.encode(value)
                    bytes = encoded.count
                    _ = try JobCodec.decode(T.self, from: encoded)
                }
            }
            return LaneRun(checksum: String(bytes))
        }
    }
}

/// Runs blocking code (``TaskHandle/wait(timeout:)``) on a dedicated thread, off Swift's cooperative pool.
enum BlockingThread {
    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        let pool = try ThreadPool(workers: 1, name: "bench-wait")
        do {
            let value = try await pool.run(body)
            await pool.shutdown()
            return value
        } catch {
            await pool.shutdown()
            throw error
        }
    }
}

/// `offload bench-processes --compare-transports`: ProcessPool's transports side by side, lanes interleaved in every
/// round (A B A B …), medians with min–max over the rounds, and per-round ratios against pipes.
///
/// - round trip: one worker, a steady stream of awaited one-job round trips (p50 and p99 of each round's samples);
/// - unbatched: `map(chunkSize: 1)` of trivial jobs on `workers` workers (jobs/s);
/// - oversubscribed: the same with twice as many workers as cores (shared memory then spins not at all);
/// - idle: the workers' CPU time (from /proc) over a few idle seconds after a burst, per transport.
enum TransportComparison {
    static func run(workers: Int, rounds: Int, quick: Bool) async throws -> [String] {
        var lines: [String] = []
        func say(_ line: String) {
            print(line)
            lines.append(line)
        }
        let cores = WorkerCount.available
        say("transports, \(rounds) interleaved rounds, \(cores) cores available (medians, min-max over rounds)")

        // Round trip.
        let roundTrips = quick ? 500 : 2_000
        var pools: [ProcessPool.Transport: ProcessPool] = [:]
        for transport in [ProcessPool.Transport.pipes, .sharedMemory] {
            pools[transport] = try pool(transport, workers: 1)
        }
        var p50: [ProcessPool.Transport: [Double]] = [:]
        var p99: [ProcessPool.Transport: [Double]] = [:]
        for (_, pool) in pools { for item in 0..<200 { _ = try await pool.run(TrivialJob(item: item)) } }
        for _ in 0..<rounds {
            for transport in [ProcessPool.Transport.pipes, .sharedMemory] {
                var samples: [Double] = []
                samples.reserveCapacity(roundTrips)
                for item in 0..<roundTrips {
                    let start = ContinuousClock.now
                    _ = try await pools[transport]!.run(TrivialJob(item: item))
                    samples.append((ContinuousClock.now - start).seconds * 1e6)
                }
                samples.sort()
                p50[transport, default: []].append(samples[samples.count / 2])
                p99[transport, default: []].append(samples[samples.count * 99 / 100])
            }
        }
        for (_, pool) in pools { await pool.shutdown() }
        for transport in [ProcessPool.Transport.pipes, .sharedMemory] {
            say(
                "round trip, 1 worker, \(transport): p50 \(summary(p50[transport]!)) us, "
                    + "p99 \(summary(p99[transport]!)) us"
            )
        }
        say("round trip p50 sharedMemory/pipes: \(ratios(p50[.sharedMemory]!, p50[.pipes]!))")

        // Unbatched throughput, then more workers than cores.
        let count = quick ? 20_000 : 100_000
        for (shape, lanes) in [
            (workers, [ProcessPool.Transport.pipes, .sharedMemory]), (2 * cores, [.pipes, .sharedMemory]),
        ] {
            let rates = try await throughput(workers: shape, lanes: lanes, count: count, rounds: rounds)
            for transport in lanes {
                say("unbatched, \(shape) workers, \(transport): \(summary(rates[transport]!, digits: 0)) jobs/s")
            }
            say("unbatched, \(shape) workers, \(lanes[1])/\(lanes[0]): \(ratios(rates[lanes[1]]!, rates[lanes[0]]!))")
        }

        // Idle cost.
        for transport in [ProcessPool.Transport.pipes, .sharedMemory] {
            let pool = try pool(transport, workers: workers)
            _ = try await pool.map((0..<count).map { TrivialJob(item: $0) }, chunkSize: 1)
            let pids = pool.workerPIDs
            let before = pids.map(cpuSeconds).reduce(0, +)
            let start = ContinuousClock.now
            try await Task.sleep(for: .seconds(quick ? 2 : 5))
            let seconds = (ContinuousClock.now - start).seconds
            let used = pids.map(cpuSeconds).reduce(0, +) - before
            say(
                "idle, \(workers) workers, \(transport): workers' CPU \(format(used * 1000, 1)) ms in "
                    + "\(format(seconds, 1)) s = \(format(used / seconds * 100, 2)) % of a core"
            )
            await pool.shutdown()
        }
        return lines
    }

    private static func pool(_ transport: ProcessPool.Transport, workers: Int) throws -> ProcessPool {
        var configuration = ProcessPool.Configuration(workers: workers)
        configuration.transport = transport
        return try ProcessPool(configuration: configuration)
    }

    private static func throughput(
        workers: Int,
        lanes: [ProcessPool.Transport],
        count: Int,
        rounds: Int
    ) async throws -> [ProcessPool.Transport: [Double]] {
        var pools: [ProcessPool.Transport: ProcessPool] = [:]
        for transport in lanes { pools[transport] = try pool(transport, workers: workers) }
        let jobs = (0..<count).map { TrivialJob(item: $0) }
        for transport in lanes { _ = try await pools[transport]!.map(Array(jobs.prefix(10_000)), chunkSize: 1) }
        var rates: [ProcessPool.Transport: [Double]] = [:]
        for _ in 0..<rounds {
            for transport in lanes {
                let start = ContinuousClock.now
                let outputs = try await pools[transport]!.map(jobs, chunkSize: 1)
                precondition(outputs.count == count)
                rates[transport, default: []].append(Double(count) / (ContinuousClock.now - start).seconds)
            }
        }
        for (_, pool) in pools { await pool.shutdown() }
        return rates
    }

    /// utime + stime of `pid` in seconds (`/proc/<pid>/stat` fields 14 and 15).
    private static func cpuSeconds(_ pid: Int32) -> Double {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let paren = text.lastIndex(of: ")")
        else { return 0 }
        let fields = text[text.index(after: paren)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / 100  // USER_HZ is 100 on Linux
    }

    private static func summary(_ values: [Double], digits: Int = 1) -> String {
        let sorted = values.sorted()
        return "\(format(sorted[sorted.count / 2], digits)) (\(format(sorted[0], digits))-\(format(sorted.last!, digits)))"
    }

    private static func ratios(_ numerator: [Double], _ denominator: [Double]) -> String {
        let each = zip(numerator, denominator).map { $0 / $1 }
        return "median \(format(each.sorted()[each.count / 2], 2))x, rounds "
            + each.map { format($0, 2) }.joined(separator: " ")
    }

    private static func format(_ value: Double, _ digits: Int) -> String {
        String(format: "%.\(digits)f", value)
    }
}
