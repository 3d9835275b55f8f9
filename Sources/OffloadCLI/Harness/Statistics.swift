/// Median and spread: how the harness summarises a lane's runs.
enum Statistics {
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
}
