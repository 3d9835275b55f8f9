import ArgumentParser
import Foundation
import Offload

/// Turns any error that reaches `main` into the single line the CLI promises: never a stack trace, never a page of
/// usage text.
enum CommandFailure {
    /// The names of the subcommands, to point the user at the right `--help`.
    private static let subcommands = ["bench", "bench-processes", "race", "hybrid", "advise"]

    /// The one line printed for `error`, e.g. `offload bench: error: --workers needs positive counts, got 0 (see
    /// 'offload bench --help')`.
    static func line(for error: any Error, arguments: [String]) -> String {
        let command = (["offload"] + arguments.prefix(1).filter { subcommands.contains($0) }).joined(separator: " ")
        let message: String
        if let error = error as? CLIError {
            message = error.message
        } else if let error = error as? OffloadError {
            message = error.message
        } else if String(describing: error).hasPrefix("Error Domain=") {
            // A Foundation error that no command worded: its own message, not the dump of its userInfo.
            message = (error as NSError).localizedDescription
        } else {
            let full = OffloadCommand.message(for: error)
            let firstLine = full.split(separator: "\n", omittingEmptySubsequences: true).first.map(String.init) ?? ""
            message = firstLine.isEmpty ? String(describing: error) : firstLine
        }
        var trimmed = message
        for prefix in ["Error: ", "error: "] where trimmed.hasPrefix(prefix) {
            trimmed.removeFirst(prefix.count)
        }
        return "\(command): error: \(trimmed) (see '\(command) --help')"
    }

    /// Writes ``line(for:arguments:)`` to stderr.
    static func report(_ error: any Error, arguments: [String]) {
        StandardError.write(line(for: error, arguments: arguments) + "\n")
    }
}
