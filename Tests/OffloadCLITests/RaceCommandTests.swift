import Testing

/// `offload race` races on purpose. Under `swift test --sanitize=thread` the binary is instrumented too, and
/// ThreadSanitizer's reports of the intended race would fail the demonstration, so these runs turn reporting off.
private let raceOnPurpose = ["TSAN_OPTIONS": "report_bugs=0"]

@Suite("offload race", .timeLimit(.minutes(1)))
struct RaceCommandTests {
    @Test("--json reports every variant; the synchronised ones lose nothing and the counts add up")
    func synchronisedVariantsLoseNothing() throws {
        let result = try OffloadBinary.run(
            ["race", "--iterations", "20000", "--items", "500", "--trials", "2", "--json"], environment: raceOnPurpose)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let json = try result.json()
        let counters = json.objects("counters")
        #expect(counters.count == 4)
        #expect(counters.filter { $0.bool("synchronised") == false }.count == 1)
        for counter in counters {
            let expected = try #require(counter.int("expected"))
            #expect(expected == 2 * 20_000)
            #expect((counter.int("count") ?? -1) + (counter.int("lost_updates") ?? -1) == expected)
            #expect((counter["lost_updates_per_trial"] as? [Any])?.count == 2)
            if counter.bool("synchronised") == true {
                #expect(counter.int("lost_updates") == 0, "\(counter.string("variant") ?? "")")
            }
        }
        let checkThenAct = json.objects("check_then_act")
        #expect(checkThenAct.count == 2)
        let fixed = try #require(checkThenAct.first { ($0.string("variant") ?? "").hasPrefix("fixed") })
        #expect(fixed.int("duplicates") == 0)
        let buggy = try #require(checkThenAct.first { ($0.string("variant") ?? "").hasPrefix("buggy") })
        #expect((buggy.int("duplicates") ?? -1) >= 0)
    }

    @Test("the report says the unsynchronised variant is undefined behaviour shown on purpose")
    func saysItIsUndefinedBehaviour() throws {
        let result = try OffloadBinary.run(
            ["race", "--iterations", "1000", "--items", "100", "--trials", "1"], environment: raceOnPurpose)
        #expect(result.status == 0)
        #expect(result.stdout.contains("undefined behaviour"))
        #expect(result.stdout.contains("compile time"))
    }

    @Test("fewer than two threads is refused in one line")
    func oneThreadIsRefused() throws {
        try OffloadBinary.expectOneLineFailure(["race", "--threads", "1"], mentioning: "--threads")
    }

    @Test("--python reports what the installed interpreter actually did",
          .enabled(if: InstalledPython.available, "python3 is not installed"))
    func pythonRace() throws {
        let result = try OffloadBinary.run([
            "race", "--iterations", "20000", "--items", "100", "--trials", "1", "--python", "--json",
        ], environment: raceOnPurpose)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let python = try #require(try result.json()["python"] as? [String: Any])
        #expect(python.string("python_version")?.hasPrefix("3.") == true)
        #expect(python.string("verdict")?.isEmpty == false)
        let variants = python.objects("variants")
        #expect(variants.count == 3)
        for variant in variants {
            let expected = try #require(variant.int("expected"))
            let counts = (variant["counts"] as? [Int]) ?? []
            let lost = (variant["lost_updates"] as? [Int]) ?? []
            #expect(zip(counts, lost).allSatisfy { $0 + $1 == expected })
        }
        let locked = try #require(variants.first { ($0.string("variant") ?? "").hasPrefix("with lock") })
        #expect((locked["lost_updates"] as? [Int]) == [0])
    }
}
