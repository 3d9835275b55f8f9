import Testing

@Suite("The offload root command", .timeLimit(.minutes(1)))
struct OffloadCommandTests {
    @Test("--help lists the five subcommands")
    func helpListsSubcommands() async throws {
        let result = try await OffloadBinary.run(["--help"])
        #expect(result.status == 0)
        for name in ["bench", "bench-processes", "race", "hybrid", "advise"] {
            #expect(result.stdout.contains("  \(name) "), "missing \(name) in: \(result.stdout)")
        }
    }

    @Test("every subcommand answers --help with its usage and exit status 0", arguments: ["bench", "bench-processes", "race", "hybrid", "advise"])
    func subcommandHelp(name: String) async throws {
        let result = try await OffloadBinary.run([name, "--help"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("USAGE: offload \(name)"))
        #expect(result.stdout.contains("--json"))
    }

    @Test("an unknown subcommand fails with one line")
    func unknownSubcommand() async throws {
        try await OffloadBinary.expectOneLineFailure(["frobnicate"], mentioning: "frobnicate")
    }

    @Test("--version prints the version")
    func version() async throws {
        let result = try await OffloadBinary.run(["--version"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("0."))
    }
}
