import Testing

@testable import OffloadCLI

/// The race verdicts as pure functions of the counts, for an interpreter with a GIL and for a free-threaded one.
@Suite("Python race claims")
struct PythonRaceClaimsTests {
    static func variants(plain: [Int], withCall: [Int], locked: [Int]) -> [PythonRace.Variant] {
        [("counter += 1", plain), ("counter += one()", withCall), ("with lock: counter += 1", locked)].map { name, lost in
            PythonRace.Variant(variant: name, code: name, expected: 100, counts: lost.map { 100 - $0 },
                               lostUpdates: lost, seconds: lost.map { _ in 0.1 })
        }
    }

    @Test("with a GIL: the call trick alone losing updates still holds 'not atomic'; free threading is undecided")
    func withGIL() throws {
        let claims = PythonRace.claims(Self.variants(plain: [0, 0], withCall: [0, 7], locked: [0, 0]),
                                       version: "3.11.7", gil: true)
        #expect(claims.count == 3)
        #expect(claims[0].holds == true && claims[0].verdict.contains("only the trigger moved"))
        #expect(claims[1].holds == true)
        #expect(claims[2].holds == nil && claims[2].verdict.contains("--python-exe"))
    }

    @Test("free-threaded: the plain increment losing updates holds the free-threading claim, no call needed")
    func freeThreaded() throws {
        let claims = PythonRace.claims(Self.variants(plain: [12, 30], withCall: [5, 9], locked: [0, 0]),
                                       version: "3.13.0", gil: false)
        #expect(claims[0].holds == true && claims[0].verdict.contains("without a GIL"))
        #expect(claims[2].holds == true && claims[2].measured.contains("12, 30"))
    }

    @Test("a lock that loses updates is reported as the claim failing")
    func brokenLock() throws {
        let claims = PythonRace.claims(Self.variants(plain: [1], withCall: [1], locked: [3]), version: "3.13.0",
                                       gil: false)
        #expect(claims[1].holds == false)
    }
}
