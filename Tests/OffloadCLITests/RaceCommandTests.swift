import Foundation
import Testing

/// `offload race` races on purpose. Under `swift test --sanitize=thread` the binary is instrumented too, and
/// ThreadSanitizer's reports of the intended race would fail the demonstration, so these runs turn reporting off.
private let raceOnPurpose = ["TSAN_OPTIONS": "report_bugs=0"]

@Suite("offload race", .timeLimit(.minutes(1)))
struct RaceCommandTests {
    @Test("--json reports every variant; the synchronised ones lose nothing and the counts add up")
    func synchronisedVariantsLoseNothing() async throws {
        let result = try await OffloadBinary.run(
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
    func saysItIsUndefinedBehaviour() async throws {
        let result = try await OffloadBinary.run(
            ["race", "--iterations", "1000", "--items", "100", "--trials", "1"], environment: raceOnPurpose)
        #expect(result.status == 0)
        #expect(result.stdout.contains("undefined behaviour"))
        #expect(result.stdout.contains("compile time"))
    }

    @Test("fewer than two threads is refused in one line")
    func oneThreadIsRefused() async throws {
        try await OffloadBinary.expectOneLineFailure(["race", "--threads", "1"], mentioning: "--threads")
    }

    @Test("--python reports what the installed interpreter actually did",
          .enabled(if: InstalledPython.available, "python3 is not installed"))
    func pythonRace() async throws {
        let result = try await OffloadBinary.run([
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
        // Claim → measured → verdict, judged from the counts.
        let claims = python.objects("claims")
        #expect(claims.count == 3)
        for claim in claims {
            #expect(claim.string("claim")?.isEmpty == false && claim.string("measured")?.isEmpty == false)
            #expect(claim.string("verdict")?.isEmpty == false)
        }
        let lock = try #require(claims.first { ($0.string("claim") ?? "").contains("threading.Lock") })
        #expect(lock.bool("holds") == true)
        let lost = variants.flatMap { ($0.string("variant") ?? "").hasPrefix("with lock") ? [] : (($0["lost_updates"] as? [Int]) ?? []) }
        let notAtomic = try #require(claims.first { ($0.string("claim") ?? "").contains("not atomic") })
        #expect(notAtomic.bool("holds") == (lost.reduce(0, +) > 0))
    }

    @Test("on a Python with a GIL the free-threading claim is left undecided and a one-line notice names the fix",
          .enabled(if: InstalledPython.available && !InstalledPython.freeThreaded, "needs a python3 with a GIL"))
    func pythonWithGIL() async throws {
        let result = try await OffloadBinary.run([
            "race", "--iterations", "2000", "--items", "100", "--trials", "1", "--python", "--json",
        ], environment: raceOnPurpose)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let json = try result.json()
        let python = try #require(json["python"] as? [String: Any])
        #expect(python.bool("gil_enabled") == true)
        let free = try #require(python.objects("claims").first { ($0.string("claim") ?? "").contains("Free-threaded") })
        #expect(free["holds"] == nil || free["holds"] is NSNull)
        #expect((free.string("verdict") ?? "").contains("--python-exe"))
        let notices = (json["notices"] as? [String]) ?? []
        #expect(notices.filter { $0.contains("free-threaded") }.count == 1)
        let text = try await OffloadBinary.run(["race", "--iterations", "2000", "--items", "100", "--trials", "1", "--python"],
                                         environment: raceOnPurpose)
        #expect(text.stdout.contains("claim:") && text.stdout.contains("verdict:"))
    }
}
