/// The one-line warning a report prints when a baseline's runs are too noisy to trust a ratio computed from them.
enum NoiseWarning {
    /// The warning for `baseline`, or `nil` when its noise is within ``Statistics/trustworthyNoise``.
    static func line(baseline: LaneMeasurement) -> String? {
        guard baseline.noise > Statistics.trustworthyNoise else { return nil }
        return "the baseline \(baseline.name) varied by \(Format.fixed(baseline.noise * 100, 0))% between runs "
            + "(noise above \(Format.fixed(Statistics.trustworthyNoise * 100, 0))%): ratios against it may be off by as "
            + "much; prefer the paired per-round ratios, or rerun on a quieter machine"
    }
}
