import Testing

/// Serialized: the `--measure` runs time real work on every core, and run at once they would time each other. Two
/// minutes: one such run is a fixed-size sample (4 × 20,000,000 sum of squares, sequential and on a ThreadPool, in
/// warm-up plus three rounds), which takes about 25 s alone in a ThreadSanitizer build on 2 cores.
@Suite("offload advise", .serialized, .timeLimit(.minutes(2)))
struct AdviseCommandTests {
    @Test(
        "recommends the pool that fits the flags",
        arguments: [
            (["--io-bound"], "io"),
            (["--cpu-bound"], "threads"),
            (["--cpu-bound", "--shared-state"], "threads"),
            (["--cpu-bound", "--thread-unsafe-library"], "isolated"),
            (["--cpu-bound", "--needs-crash-isolation"], "processes"),
            (["--io-bound", "--needs-crash-isolation"], "processes"),
            (["--cpu-bound", "--vectorisable"], "vectorise"),
            (["--cpu-bound", "--vectorisable", "--thread-unsafe-library"], "isolated"),
            (["--cpu-bound", "--vectorisable", "--needs-crash-isolation"], "processes"),
        ]
    )
    func recommendation(flags: [String], expected: String) async throws {
        let result = try await OffloadBinary.run(["advise"] + flags + ["--json"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let json = try result.json()
        let advice = try #require(json["advice"] as? [String: Any])
        #expect(advice.string("recommendation") == expected)
        #expect(((advice["reasons"] as? [String]) ?? []).isEmpty == false)
        #expect(advice.string("call")?.isEmpty == false)
        #expect(advice.string("python_equivalent")?.isEmpty == false)
    }

    @Test("without --cpu-bound/--io-bound and no terminal to ask on, it fails in one line")
    func missingBoundWithoutTerminal() async throws {
        try await OffloadBinary.expectOneLineFailure(["advise"], mentioning: "--cpu-bound")
    }

    @Test("--measure backs CPU advice with a sequential-vs-threads sample")
    func measureCPU() async throws {
        let result = try await OffloadBinary.run(["advise", "--cpu-bound", "--measure", "--json"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let measurement = try #require(try result.json()["measurement"] as? [String: Any])
        #expect((measurement.double("sequential_seconds") ?? 0) > 0)
        #expect((measurement.double("threads_seconds") ?? 0) > 0)
        #expect((measurement.double("threads_speedup") ?? 0) > 0)
    }

    @Test("--measure backs the vectorise advice with scalar, SIMD and SIMD-on-a-pool times that add up")
    func measureVectorise() async throws {
        let result = try await OffloadBinary.run(["advise", "--cpu-bound", "--vectorisable", "--measure", "--json"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let json = try result.json()
        #expect((json["advice"] as? [String: Any])?.string("recommendation") == "vectorise")
        let measurement = try #require(json["measurement"] as? [String: Any])
        let scalar = try #require(measurement.double("scalar_seconds"))
        let simd = try #require(measurement.double("simd_seconds"))
        let pooled = try #require(measurement.double("simd_threads_seconds"))
        #expect(scalar > 0 && simd > 0 && pooled > 0)
        // The multipliers are the ratios of the times, not numbers from somewhere else.
        #expect(abs((measurement.double("vector_speedup") ?? 0) - scalar / simd) < 1e-9 * max(1, scalar / simd))
        #expect(abs((measurement.double("cores_speedup") ?? 0) - simd / pooled) < 1e-9 * max(1, simd / pooled))
        let profile = try #require(json["profile"] as? [String: Any])
        #expect(profile.bool("vectorisable") == true)
    }

    @Test("--measure adds the process start-up cost when processes are recommended")
    func measureProcesses() async throws {
        let result = try await OffloadBinary.run(["advise", "--cpu-bound", "--needs-crash-isolation", "--measure", "--json"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let measurement = try #require(try result.json()["measurement"] as? [String: Any])
        #expect((measurement.double("process_spawn_seconds") ?? 0) > 0)
    }

    @Test("--input-size 0 is refused in one line")
    func badInputSize() async throws {
        try await OffloadBinary.expectOneLineFailure(["advise", "--cpu-bound", "--input-size", "0"], mentioning: "--input-size")
    }
}
