import Testing

@Suite("offload bench-processes", .serialized, .timeLimit(.minutes(2)))
struct ProcessBenchCommandTests {
    @Test("--json keeps the section fields and lists every lane the harness ran, interleaved")
    func jsonContract() async throws {
        let result = try await OffloadBinary.run([
            "bench-processes", "--quick", "--no-python", "--workers", "2", "--sections", "codec,roundtrip", "--seed", "7",
            "--json",
        ])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let json = try result.json()
        #expect(json.int("workers") == 2)
        #expect(json.bool("quick") == true)
        #expect(json.string("schedule") == "interleaved")
        let codec = json.objects("codec")
        #expect(codec.count == 3)
        for figures in codec {
            #expect((figures.double("jsonMicroseconds") ?? 0) > 0)
            #expect((figures.double("binaryMicroseconds") ?? 0) > 0)
            #expect((figures.int("binaryBytes") ?? 0) > 0 && (figures.int("jsonBytes") ?? 0) > 0)
        }
        let roundTrip = try #require(json["roundTrip"] as? [String: Any])
        for key in ["rawPipeMicroseconds", "rawPipeSameCPUMicroseconds", "poolAwaitMicroseconds",
                    "poolBlockingWaitMicroseconds", "ratio"]
        {
            #expect((roundTrip.double(key) ?? 0) > 0, "\(key)")
        }
        let lanes = json.objects("lanes")
        #expect(lanes.filter { $0.string("section") == "codec" }.count == 6)
        let roundTripLanes = lanes.filter { $0.string("section") == "roundtrip" }
        #expect(roundTripLanes.count == 4)
        // Five measured blocks per lane after the warm-up round.
        #expect(roundTripLanes.allSatisfy { ($0["runs"] as? [Any])?.count == 5 })
        #expect(json.int("seed") == 7)
        #expect(json["warnings"] is [Any])
        for lane in lanes {
            let median = try #require(lane.double("medianSeconds"))
            #expect((lane.double("minSeconds") ?? .infinity) <= median && median <= (lane.double("maxSeconds") ?? 0))
            #expect((lane.double("noise") ?? -1) >= 0)
            #expect(lane.int("rounds") == (lane["runs"] as? [Any])?.count)
        }
        // Round trips: p50 and p99 over every single round trip of the five blocks (2,000 / 5 per block).
        for lane in roundTripLanes {
            #expect(lane.int("samples") == 2_000)
            let p50 = try #require(lane.double("p50Seconds"))
            #expect(p50 > 0 && p50 <= (lane.double("p99Seconds") ?? 0))
        }
        for key in ["rawPipeP50Microseconds", "rawPipeP99Microseconds", "poolAwaitP50Microseconds",
                    "poolAwaitP99Microseconds", "poolBlockingWaitP50Microseconds", "poolBlockingWaitP99Microseconds",
                    "pairedRatio"]
        {
            #expect((roundTrip.double(key) ?? 0) > 0, "\(key)")
        }
        #expect((roundTrip.double("poolAwaitP50Microseconds") ?? .infinity) <= (roundTrip.double("poolAwaitP99Microseconds") ?? 0))
        #expect(json["sumOfSquares"] == nil && json["startup"] == nil)
    }

    @Test("Python's ProcessPoolExecutor takes its turn in the throughput section's interleaved rounds",
          .enabled(if: InstalledPython.available, "python3 is not installed"))
    func pythonThroughputIsInterleaved() async throws {
        let result = try await OffloadBinary.run([
            "bench-processes", "--quick", "--workers", "2", "--sections", "throughput", "--seed", "3", "--json",
        ])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let json = try result.json()
        let throughput = try #require(json["throughput"] as? [String: Any])
        #expect(throughput.bool("pythonInterleaved") == true)
        // --quick runs a fifth of the full section's 100,000 jobs.
        #expect(throughput.int("jobs") == 20_000)
        let lanes = json.objects("lanes").filter { $0.string("section") == "throughput" }
        #expect(lanes.compactMap { $0.string("lane") } == [
            "unbatched", "auto-batched", "python unbatched", "python batched",
        ])
        #expect(lanes.allSatisfy { ($0["runs"] as? [Any])?.count == 3 })
        // Python's rates are its lanes' medians, not a separate run's.
        let python = try #require(throughput["python"] as? [String: Any])
        let batched = try #require(lanes.last?.double("medianSeconds"))
        let jobs = try #require(python.double("batchedJobs"))
        #expect(abs((python.double("batchedJobsPerSecond") ?? 0) - jobs / batched) < 1e-6 * jobs / batched)
    }

    @Test("an unknown --sections name is refused in one line")
    func unknownSection() async throws {
        try await OffloadBinary.expectOneLineFailure(["bench-processes", "--sections", "gpu"], mentioning: "gpu")
    }
}
