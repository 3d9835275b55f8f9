import ArgumentParser
import Foundation

/// Prints exactly one JSON object on stdout: the `--json` output of every subcommand.
enum JSONOutput {
    /// Encodes `value` (pretty-printed, keys sorted so diffs stay small) and prints it.
    /// - Throws: the encoder's error if `value` cannot be encoded.
    static func print(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        Swift.print(String(decoding: data, as: UTF8.self))
    }
}

/// The shared `--json` flag.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print one JSON object on stdout instead of the human-readable report.")
    var json = false

    /// With `--json`, no progress line is drawn, even on a terminal.
    func validate() throws {
        if json { ProgressLine.silenceForJSON() }
    }
}
