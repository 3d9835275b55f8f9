import Foundation

/// The Python texts' race (`counter += 1` from threads), run on the installed interpreter, reported as measured.
enum PythonRace {
    struct Variant: Codable, Sendable {
        var variant: String
        var code: String
        var expected: Int
        var counts: [Int]
        var lostUpdates: [Int]
        var seconds: [Double]

        enum CodingKeys: String, CodingKey {
            case variant, code, expected, counts, seconds
            case lostUpdates = "lost_updates"
        }
    }

    struct Report: Codable, Sendable {
        var pythonVersion: String
        var executable: String
        var gilEnabled: Bool
        var switchInterval: Double
        var variants: [Variant]
        /// What the measurement shows, in words (every claim's verdict, one per line).
        var verdict: String
        /// The texts' claims about this race: claim → measured → verdict.
        var claims: [Claim]

        enum CodingKeys: String, CodingKey {
            case executable, variants, verdict, claims
            case pythonVersion = "python_version"
            case gilEnabled = "gil_enabled"
            case switchInterval = "switch_interval"
        }

        func render() -> [String] {
            var lines = ["Python \(pythonVersion) (\(executable)), "
                         + (gilEnabled ? "GIL enabled" : "free-threaded build, GIL disabled") + ", "
                         + "switch interval \(Format.fixed(switchInterval * 1000, 1)) ms — the texts' race, measured:"]
            for variant in variants {
                let lost = variant.lostUpdates.map { Format.grouped($0) }.joined(separator: ", ")
                lines.append("  \(Format.pad(variant.code, 58)) lost updates per trial: \(lost)")
            }
            for claim in claims { lines += claim.render() }
            return lines
        }
    }

    /// Runs the embedded race script.
    static func run(_ interpreter: PythonInterpreter, threads: Int, iterations: Int, trials: Int)
        -> Result<Report, PythonUnavailable>
    {
        let output: ProcessOutput
        do {
            output = try interpreter.runScript(
                PythonScripts.raceScriptName,
                files: [PythonScripts.raceScriptName: PythonScripts.raceScript],
                arguments: ["--threads", String(threads), "--iterations", String(iterations), "--trials", String(trials)]
            )
        } catch {
            return .failure(PythonUnavailable(notice: "Python race failed to start: \(error)"))
        }
        struct Raw: Decodable {
            let python_version: String
            let executable: String
            let gil_enabled: Bool
            let switch_interval: Double
            let variants: [Variant]
        }
        guard output.status == 0, let line = output.stdout.split(separator: "\n").last,
            let raw = try? JSONDecoder().decode(Raw.self, from: Data(line.utf8))
        else {
            let reason = output.stderr.split(separator: "\n").last.map(String.init) ?? "no output"
            return .failure(PythonUnavailable(notice: "Python race failed (exit status \(output.status)): \(reason)"))
        }
        let claims = claims(raw.variants, version: raw.python_version, gil: raw.gil_enabled)
        return .success(
            Report(pythonVersion: raw.python_version, executable: raw.executable, gilEnabled: raw.gil_enabled,
                   switchInterval: raw.switch_interval, variants: raw.variants,
                   verdict: claims.map(\.verdict).joined(separator: "\n"), claims: claims)
        )
    }

    /// The texts' claims about the race, judged from the counts — not from the texts.
    static func claims(_ variants: [Variant], version: String, gil: Bool) -> [Claim] {
        func lost(_ prefix: String) -> [Int] {
            variants.first { $0.variant.hasPrefix(prefix) }?.lostUpdates ?? []
        }
        let plain = lost("counter += 1")
        let withCall = lost("counter += one()")
        let locked = lost("with lock")
        func perTrial(_ counts: [Int]) -> String { counts.map { Format.grouped($0) }.joined(separator: ", ") }
        var claims: [Claim] = []

        let measured = "lost updates per trial: `counter += 1` \(perTrial(plain)); `counter += one()` \(perTrial(withCall))"
        let plainLost = plain.reduce(0, +)
        let callLost = withCall.reduce(0, +)
        let verdict: String
        let holds: Bool
        if plainLost > 0 {
            holds = true
            verdict = gil
                ? "holds: the GIL was handed over between the load and the store on Python \(version)"
                : "holds: without a GIL the threads ran at once and the plain increment lost updates"
        } else if callLost > 0 {
            holds = true
            verdict = "holds, with a twist: the plain increment lost nothing — since CPython 3.10 a thread gives up "
                + "the GIL only at eval-breaker checks (backward jumps, calls, function entry), never between "
                + "LOAD_GLOBAL and STORE_GLOBAL — but a call between the load and the store lost "
                + "\(Format.grouped(callLost)) updates: not atomic by contract, only the trigger moved"
        } else {
            holds = false
            verdict = "not seen in these trials: no variant lost an update (the threads did not overlap)"
        }
        claims.append(Claim(
            claim: "`counter += 1` from several threads is not atomic: updates get lost", measured: measured,
            verdict: verdict, holds: holds))

        let lockLost = locked.reduce(0, +)
        claims.append(Claim(
            claim: "threading.Lock around the increment makes it correct",
            measured: "`with lock: counter += 1` lost \(perTrial(locked))",
            verdict: lockLost == 0 ? "holds: no update was lost" : "does not hold: updates were lost under the lock",
            holds: lockLost == 0))

        let freeClaim = "Free-threaded Python (PEP 703) runs the threads in parallel and exposes the races the GIL "
            + "hid: `counter += 1` loses updates without any call in between"
        if gil {
            claims.append(Claim(
                claim: freeClaim, measured: "Python \(version) runs with the GIL",
                verdict: "cannot decide on this interpreter: run `offload race --python-exe` with a free-threaded "
                    + "build (python3.13t or later)",
                holds: nil))
        } else {
            claims.append(Claim(
                claim: freeClaim, measured: "without a GIL: `counter += 1` lost \(perTrial(plain))",
                verdict: plainLost > 0
                    ? "holds: the plain increment lost updates, no call trick needed"
                    : "not seen in these trials: the plain increment lost nothing",
                holds: plainLost > 0 ? true : nil))
        }
        return claims
    }
}
