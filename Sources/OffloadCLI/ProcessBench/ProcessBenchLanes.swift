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
