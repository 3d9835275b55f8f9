/// Numbers as the reports print them, without Foundation's locale-dependent formatters (`offload-worker` links no
/// Foundation).
public enum NumberText {
    /// An integer with thousands separators: 2000000 → "2,000,000".
    public static func grouped(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (index, character) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out += "," }
            out.append(character)
        }
        return (value < 0 ? "-" : "") + out
    }
}

/// Shorthand for the workloads' summaries.
func grouped(_ value: Int) -> String { NumberText.grouped(value) }
