import Testing

@Suite("offload advise", .timeLimit(.minutes(1)))
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
        ]
    )
    func recommendation(flags: [String], expected: String) throws {
        let result = try OffloadBinary.run(["advise"] + flags + ["--json"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let json = try result.json()
        let advice = try #require(json["advice"] as? [String: Any])
        #expect(advice.string("recommendation") == expected)
        #expect(((advice["reasons"] as? [String]) ?? []).isEmpty == false)
        #expect(advice.string("call")?.isEmpty == false)
        #expect(advice.string("python_equivalent")?.isEmpty == false)
    }

    @Test("without --cpu-bound/--io-bound and no terminal to ask on, it fails in one line")
    func missingBoundWithoutTerminal() throws {
        try OffloadBinary.expectOneLineFailure(["advise"], mentioning: "--cpu-bound")
    }

    @Test("--measure backs CPU advice with a sequential-vs-threads sample")
    func measureCPU() throws {
        let result = try OffloadBinary.run(["advise", "--cpu-bound", "--measure", "--json"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let measurement = try #require(try result.json()["measurement"] as? [String: Any])
        #expect((measurement.double("sequential_seconds") ?? 0) > 0)
        #expect((measurement.double("threads_seconds") ?? 0) > 0)
        #expect((measurement.double("threads_speedup") ?? 0) > 0)
    }

    @Test("--measure adds the process start-up cost when processes are recommended")
    func measureProcesses() throws {
        let result = try OffloadBinary.run(["advise", "--cpu-bound", "--needs-crash-isolation", "--measure", "--json"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let measurement = try #require(try result.json()["measurement"] as? [String: Any])
        #expect((measurement.double("process_spawn_seconds") ?? 0) > 0)
    }

    @Test("--input-size 0 is refused in one line")
    func badInputSize() throws {
        try OffloadBinary.expectOneLineFailure(["advise", "--cpu-bound", "--input-size", "0"], mentioning: "--input-size")
    }
}
