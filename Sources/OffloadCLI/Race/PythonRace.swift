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
        /// What the measurement shows, in words.
        var verdict: String

        enum CodingKeys: String, CodingKey {
            case executable, variants, verdict
            case pythonVersion = "python_version"
            case gilEnabled = "gil_enabled"
            case switchInterval = "switch_interval"
        }

        func render() -> [String] {
            var lines = ["Python \(pythonVersion) (\(executable)), GIL \(gilEnabled ? "enabled" : "disabled"), "
                         + "switch interval \(Format.fixed(switchInterval * 1000, 1)) ms — the texts' race, measured:"]
            for variant in variants {
                let lost = variant.lostUpdates.map { Format.grouped($0) }.joined(separator: ", ")
                lines.append("  \(Format.pad(variant.code, 58)) lost updates per trial: \(lost)")
            }
            lines.append(contentsOf: verdict.split(separator: "\n").map { "  " + $0 })
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
        return .success(
            Report(pythonVersion: raw.python_version, executable: raw.executable, gilEnabled: raw.gil_enabled,
                   switchInterval: raw.switch_interval, variants: raw.variants,
                   verdict: verdict(raw.variants, version: raw.python_version, gil: raw.gil_enabled))
        )
    }

    /// Explains what the counts show, from the counts — not from the texts' claim.
    static func verdict(_ variants: [Variant], version: String, gil: Bool) -> String {
        let plainLost = variants.first { $0.variant == "counter += 1" }?.lostUpdates.reduce(0, +) ?? 0
        let callLost = variants.first { $0.variant == "counter += one()" }?.lostUpdates.reduce(0, +) ?? 0
        let lockLost = variants.first { $0.variant.hasPrefix("with lock") }?.lostUpdates.reduce(0, +) ?? 0
        var text: [String] = []
        if !gil {
            text.append("This build runs without a GIL: the threads truly run in parallel, so the plain increment")
            text.append("loses updates whenever they overlap, exactly like the unsynchronised Swift variant.")
        } else if plainLost == 0 {
            text.append("`counter += 1` lost NO updates here, contrary to the text's claim. Since CPython 3.10 a thread")
            text.append("only gives up the GIL at 'eval breaker' checks (backward jumps, calls, function entry), not between")
            text.append("LOAD_GLOBAL and STORE_GLOBAL, so this loop's read-modify-write is never split. It is still not")
            text.append("atomic by contract:")
        } else {
            text.append("`counter += 1` lost updates on Python \(version): the GIL was handed over between the load and")
            text.append("the store, as the text says.")
        }
        if callLost > 0 {
            text.append("`counter += one()` puts a call (an eval-breaker check) between the load and the store and lost")
            text.append("\(Format.grouped(callLost)) updates in total — the race the text describes is real; only its trigger moved.")
        } else {
            text.append("`counter += one()` also lost none in these trials (the switch interval did not expire inside it).")
        }
        text.append(lockLost == 0 ? "With threading.Lock no update was lost." : "Even with the lock, updates were lost: a bug!")
        return text.joined(separator: "\n")
    }
}
