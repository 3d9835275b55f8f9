import Testing

@Suite("offload hybrid", .timeLimit(.minutes(1)))
struct HybridCommandTests {
    @Test("fetches every document from the loopback server and processes each after it arrived")
    func loopbackRun() async throws {
        let result = try await OffloadBinary.run([
            "hybrid", "--documents", "6", "--concurrency", "3", "--size", "5000", "--latency", "20", "--passes", "2",
            "--workers", "2", "--json",
        ])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let json = try result.json()
        let entries = json.objects("entries")
        #expect(entries.count == 6)
        #expect(Set(entries.compactMap { $0.int("document") }) == Set(0..<6))
        let total = try #require(json.double("total_seconds"))
        var fetchSum = 0.0
        var processSum = 0.0
        for entry in entries {
            #expect(entry.int("bytes") == 5000)
            #expect((entry.int("words") ?? 0) > 0)
            let fetchStart = try #require(entry.double("fetch_start"))
            let fetchEnd = try #require(entry.double("fetch_end"))
            let processStart = try #require(entry.double("process_start"))
            let processEnd = try #require(entry.double("process_end"))
            #expect(fetchStart <= fetchEnd && fetchEnd <= processStart && processStart <= processEnd)
            #expect(processEnd <= total)
            fetchSum += fetchEnd - fetchStart
            processSum += processEnd - processStart
        }
        let sumOfParts = try #require(json.double("sum_of_parts_seconds"))
        #expect(abs(sumOfParts - (fetchSum + processSum)) < 1e-6)
        #expect((json.double("max_fetch_plus_max_process_seconds") ?? 0) > 0)
    }

    @Test("the text report draws one timeline row per document and the three totals")
    func timeline() async throws {
        let result = try await OffloadBinary.run([
            "hybrid", "--documents", "3", "--size", "1000", "--latency", "5", "--passes", "1",
        ])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout.split(separator: "\n").filter { $0.hasPrefix("doc ") }.count == 3)
        #expect(result.stdout.contains("sum of the parts"))
        #expect(result.stdout.contains("max(fetch) + max(process)"))
    }

    @Test(
        "bad input fails with one line",
        arguments: [
            (["hybrid", "--documents", "0"], "--documents"),
            (["hybrid", "--concurrency", "0"], "--concurrency"),
            (["hybrid", "--url", "ftp://example.com/x"], "--url"),
            (["hybrid", "--workers", "0"], "--workers"),
        ]
    )
    func badInput(arguments: [String], fragment: String) async throws {
        try await OffloadBinary.expectOneLineFailure(arguments, mentioning: fragment)
    }

    @Test("an unreachable --url is one line naming the URL and the cause, not Foundation's error dump",
          arguments: ["http://127.0.0.1:1/", "http://127.0.0.1:9/doc"])
    func unreachableURL(url: String) async throws {
        // Ports 1 and 9 on loopback: nothing listens there on a test machine.
        try await OffloadBinary.expectOneLineFailure(["hybrid", "--url", url], mentioning: "GET \(url) failed: ")
        let result = try await OffloadBinary.run(["hybrid", "--url", url])
        #expect(result.stderr.lowercased().contains("connect"), "stderr: \(result.stderr)")
        #expect(!result.stderr.contains("Error Domain"), "stderr: \(result.stderr)")
        #expect(!result.stderr.contains("UserInfo"), "stderr: \(result.stderr)")
    }
}
