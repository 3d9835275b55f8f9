/// A failure of the `offload` command itself (not of Offload's pools, whose errors are ``OffloadError``s): printed as
/// one line by ``CommandFailure``.
struct CLIError: Error, CustomStringConvertible, Sendable {
    let message: String

    init(_ message: String) {
        self.message = message
    }

    var description: String { message }
}
