import ArgumentParser
import Foundation
import Offload

/// `offload advise`: which pool to use, why, and the one line to write.
struct AdviseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "advise",
        abstract: "Recommend io, threads, vectorising, isolated workers or processes for a workload, with reasons.",
        discussion: """
            Describe the workload with flags; on a terminal, missing answers are asked for. --measure backs the \
            advice with a short measurement on this machine.
            """
    )

    enum BoundFlag: String, EnumerableFlag {
        case cpuBound, ioBound

        static func help(for value: BoundFlag) -> ArgumentHelp? {
            switch value {
            case .cpuBound: return "The work mostly computes (parsing, hashing, numerics)."
            case .ioBound: return "The work mostly waits (network, disk, database)."
            }
        }
    }

    @Flag var bound: BoundFlag?

    @Flag(inversion: .prefixedNo, help: "The work reads and writes state shared between items.")
    var sharedState: Bool?

    @Flag(inversion: .prefixedNo, help: "The work calls a library that is not thread-safe.")
    var threadUnsafeLibrary: Bool?

    @Flag(inversion: .prefixedNo, help: "A crash in the work must not take the program down.")
    var needsCrashIsolation: Bool?

    @Flag(
        inversion: .prefixedNo,
        help: "The work is numeric and vectorisable: the same arithmetic over arrays of numbers.")
    var vectorisable: Bool?

    @Option(name: .long, help: "How many items the work has.")
    var inputSize: Int?

    @Flag(name: .long, help: "Back the advice with a short measurement on this machine.")
    var measure = false

    @OptionGroup var output: OutputOptions

    func validate() throws {
        if let inputSize, inputSize < 1 {
            throw ValidationError("--input-size needs at least 1 item, got \(inputSize)")
        }
        if bound == nil && !Terminal.stdinIsTerminal {
            throw ValidationError("say --cpu-bound or --io-bound (stdin is not a terminal, so I cannot ask)")
        }
    }

    func run() async throws {
        let profile = try resolveProfile()
        let advice = Advisor.advise(profile)
        var measurement: AdviceMeasurement?
        if measure {
            let progress = ProgressLine()
            measurement = try await AdviceMeasurement.measure(for: advice.recommendation, progress: progress)
            progress.finish()
        }
        let report = AdviceReport(profile: profile, advice: advice, measurement: measurement)
        if output.json {
            try JSONOutput.print(report)
        } else {
            print(report.render())
        }
    }

    /// The profile from the flags, asking on the terminal for what is missing.
    private func resolveProfile() throws -> Advisor.Profile {
        let interactive = Terminal.stdinIsTerminal
        let bound: Advisor.Bound
        switch self.bound {
        case .cpuBound: bound = .cpu
        case .ioBound: bound = .io
        case nil:
            bound = try Prompt.choose("Does the work mostly compute (c) or mostly wait for I/O (i)?",
                                      options: ["c": .cpu, "i": .io])
        }
        func answer(_ flag: Bool?, _ question: String) throws -> Bool {
            if let flag { return flag }
            return interactive ? try Prompt.yesNo(question) : false
        }
        let shared = try answer(sharedState, "Does it read and write state shared between items?")
        let unsafe = try answer(threadUnsafeLibrary, "Does it call a library that is not thread-safe?")
        let crash = try answer(needsCrashIsolation, "Must a crash in the work leave the program running?")
        let vector = bound == .cpu
            ? try answer(vectorisable, "Is it numeric and vectorisable (the same arithmetic over arrays of numbers)?")
            : (vectorisable ?? false)
        var size = inputSize
        if size == nil && interactive {
            size = try Prompt.number("How many items (Enter to skip)?")
        }
        return Advisor.Profile(bound: bound, sharedState: shared, threadUnsafeLibrary: unsafe,
                               needsCrashIsolation: crash, vectorisable: vector, inputSize: size)
    }
}

/// Questions on the terminal (stderr, so stdout stays the answer).
enum Prompt {
    static func ask(_ question: String) throws -> String {
        StandardError.write(question + " ")
        guard let line = readLine() else { throw ValidationError("no answer (end of input)") }
        return line.trimmingCharacters(in: .whitespaces).lowercased()
    }

    static func yesNo(_ question: String) throws -> Bool {
        while true {
            let answer = try ask(question + " [y/n]")
            if ["y", "yes"].contains(answer) { return true }
            if ["n", "no", ""].contains(answer) { return false }
        }
    }

    static func choose<T>(_ question: String, options: [String: T]) throws -> T {
        while true {
            if let value = options[try ask(question)] { return value }
        }
    }

    static func number(_ question: String) throws -> Int? {
        while true {
            let answer = try ask(question)
            if answer.isEmpty { return nil }
            if let value = Int(answer.replacingOccurrences(of: "_", with: "")), value >= 1 { return value }
        }
    }
}

/// `offload advise --json`.
struct AdviceReport: Codable, Sendable {
    var profile: Advisor.Profile
    var advice: Advisor.Advice
    var measurement: AdviceMeasurement?

    func render() -> String {
        var lines = ["offload advise — recommendation: \(advice.recommendation.rawValue)", "", "why:"]
        lines += advice.reasons.map { "  - \($0)" }
        lines += ["", "write:", "  \(advice.call)", "", "coming from Python: \(advice.pythonEquivalent)"]
        if let measurement {
            lines += ["", "measured on this machine (\(measurement.cores) cores, \(measurement.build) build):"]
            lines += measurement.lines.map { "  \($0)" }
        }
        return lines.joined(separator: "\n")
    }
}
