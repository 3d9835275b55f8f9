/// One claim of the Python texts, put to the test by a run: what the text says, what this machine measured, and the
/// verdict drawn from the measurement (never from the claim).
struct Claim: Codable, Sendable, Equatable {
    /// The claim, quoted or paraphrased from the texts.
    var claim: String
    /// The figures that test it.
    var measured: String
    /// What the figures say about the claim.
    var verdict: String
    /// Whether the claim held here; `nil` when the figures cannot decide (too few cores, a lane skipped, a Python
    /// with a GIL where the claim is about one without).
    var holds: Bool?

    /// The three lines of the human-readable report, indented by `indent`.
    func render(indent: String = "  ") -> [String] {
        ["\(indent)claim:    \(claim)", "\(indent)measured: \(measured)", "\(indent)verdict:  \(verdict)"]
    }
}
