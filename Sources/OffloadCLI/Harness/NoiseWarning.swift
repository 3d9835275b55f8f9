/// The one-line warning a report prints when a baseline's runs are too noisy to trust a ratio computed from them.
enum NoiseWarning {
    /// The warning for `baseline`, or `nil` when its noise is within ``Statistics/trustworthyNoise``.
    static func line(baseline: LaneMeasurement) -> String? {
        guard baseline.noise > Statistics.trustworthyNoise else { return nil }
        return "baseline \(baseline.name) has a noise of \(Format.fixed(baseline.noise * 100, 0))% "
            + "(over \(Format.fixed(Statistics.trustworthyNoise * 100, 0))%): ratios to it may be off as much; "
            + "trust paired ones"
    }
}
