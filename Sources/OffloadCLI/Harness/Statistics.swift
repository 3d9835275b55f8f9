/// How the harness summarises a lane's runs: median, extremes, spread, noise, percentiles and paired ratios.
enum Statistics {
    /// The noise above which a baseline's runs are too unsteady to divide by: the report warns in one line.
    static let trustworthyNoise = 0.10

    /// The median of `values` (the mean of the middle two for an even count); 0 for none.
    static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// (max − min) / median: 0.1 means the runs spanned 10% of the median; 0 for fewer than two runs.
    static func spread(_ values: [Double]) -> Double {
        guard values.count >= 2, let low = values.min(), let high = values.max() else { return 0 }
        let middle = median(values)
        return middle > 0 ? (high - low) / middle : 0
    }

    /// The noise of `values`: 1.4826 × MAD / median, where MAD is the median of |value − median|.
    ///
    /// A robust coefficient of variation: for normally distributed runs it equals the standard deviation divided by
    /// the mean, but one outlying run (a burst of other work on the machine) cannot inflate it, as it inflates the
    /// spread. 0.05 means a typical run is within about 5% of the median; 0 for fewer than two runs.
    static func noise(_ values: [Double]) -> Double {
        guard values.count >= 2 else { return 0 }
        let middle = median(values)
        guard middle > 0 else { return 0 }
        return 1.4826 * median(values.map { abs($0 - middle) }) / middle
    }

    /// The `fraction` percentile of `values` by the nearest-rank method (0.5: the median run; 0.99: the run that 99%
    /// of runs do not exceed); 0 for none.
    static func percentile(_ values: [Double], _ fraction: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let rank = Int((fraction * Double(sorted.count)).rounded(.up))
        return sorted[min(sorted.count, max(1, rank)) - 1]
    }

    /// Per-round ratios `numerator / denominator` of two lanes, matched by the round each run belongs to (rounds are
    /// adjacent in time, so a drift of the machine's speed reaches both runs of a pair alike); rounds in which either
    /// lane did not run are left out.
    static func pairedRatios(_ numerator: LaneMeasurement, over denominator: LaneMeasurement) -> [Double] {
        var byRound: [Int: Double] = [:]
        for (round, seconds) in zip(denominator.rounds, denominator.runs) { byRound[round] = seconds }
        return zip(numerator.rounds, numerator.runs).compactMap { round, seconds in
            guard let other = byRound[round], other > 0 else { return nil }
            return seconds / other
        }
    }
}
