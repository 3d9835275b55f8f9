import OffloadBenchJobs

/// Timing helpers shared by the subcommands.
enum Measurement {
    /// Runs `body` and returns its result and wall time.
    static func time<T>(_ body: () throws -> T) rethrows -> (value: T, seconds: Double) {
        let start = ContinuousClock.now
        let value = try body()
        return (value, (ContinuousClock.now - start).seconds)
    }

    /// Runs async `body` and returns its result and wall time.
    static func time<T>(_ body: () async throws -> T) async rethrows -> (value: T, seconds: Double) {
        let start = ContinuousClock.now
        let value = try await body()
        return (value, (ContinuousClock.now - start).seconds)
    }
}

extension Duration {
    /// The duration in seconds as a `Double`.
    var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}

/// Fixed-point formatting without Foundation's locale-dependent formatters.
enum Format {
    /// `value` with `digits` decimals, e.g. `fixed(1.23456, 3)` → "1.235".
    static func fixed(_ value: Double, _ digits: Int) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : (value > 0 ? "inf" : "-inf") }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let rounded = (abs(value) * scale).rounded()
        let integer = Int(rounded / scale)
        let fraction = Int(rounded - Double(integer) * scale)
        var text = (value < 0 && rounded != 0 ? "-" : "") + String(integer)
        if digits > 0 {
            let fractionText = String(fraction)
            text += "." + String(repeating: "0", count: digits - fractionText.count) + fractionText
        }
        return text
    }

    /// A duration in seconds, in the unit that reads best: "1.234 s", "12.3 ms", "456 µs", "78 ns".
    static func seconds(_ value: Double) -> String {
        if value >= 1 { return fixed(value, 3) + " s" }
        if value >= 1e-3 { return fixed(value * 1e3, 1) + " ms" }
        if value >= 1e-6 { return fixed(value * 1e6, 1) + " µs" }
        return fixed(value * 1e9, 0) + " ns"
    }

    /// An integer with thousands separators: 2000000 → "2,000,000".
    static func grouped(_ value: Int) -> String { NumberText.grouped(value) }

    /// `text` padded with spaces to `width` (left-aligned), or right-aligned when `right` is true.
    static func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
        let padding = String(repeating: " ", count: max(0, width - text.count))
        return right ? padding + text : text + padding
    }
}
