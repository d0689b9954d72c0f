import Glibc

/// Summary of one case's per-trial figures (for example MiB/s of each measured trial).
public struct Summary: Sendable, Equatable {
    public let count: Int
    public let median: Double
    /// A distribution-free 95% interval for the median: two order statistics of the trials chosen
    /// from the binomial distribution. With fewer than 6 trials no pair reaches 95%, and the
    /// interval is [min, max] (coverage 1 - 2^(1-n), 93.75% for 5 trials).
    public let ci95Low: Double
    public let ci95High: Double
    public let mean: Double
    public let standardDeviation: Double
    public let min: Double
    public let max: Double

    /// Sample standard deviation over the mean; 0 when there is one trial.
    public var coefficientOfVariation: Double { mean > 0 ? standardDeviation / mean : 0 }

    public init?(_ values: [Double]) {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let n = sorted.count
        count = n
        median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
        let mean = sorted.reduce(0, +) / Double(n)
        self.mean = mean
        if n > 1 {
            let squares = sorted.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
            standardDeviation = (squares / Double(n - 1)).squareRoot()
        } else {
            standardDeviation = 0
        }
        min = sorted[0]
        max = sorted[n - 1]
        let (low, high) = Summary.medianIntervalRanks(n)
        ci95Low = sorted[low]
        ci95High = sorted[high]
    }

    /// Zero-based ranks (j, n-1-j) with the largest j whose interval still covers the median with
    /// probability >= 95%: coverage = 1 - 2 * P(Binomial(n, 1/2) <= j).
    static func medianIntervalRanks(_ n: Int) -> (Int, Int) {
        var best = 0
        var cumulative = 0.0  // P(X <= j) for X ~ Binomial(n, 1/2)
        var j = 0
        while j <= (n - 1) / 2 {
            cumulative += binomialHalf(n, j)
            if 1 - 2 * cumulative >= 0.95 { best = j } else { break }
            j += 1
        }
        return (best, n - 1 - best)
    }

    static func binomialHalf(_ n: Int, _ k: Int) -> Double {
        // C(n, k) / 2^n, in logs so that large n does not overflow.
        exp(lgamma(Double(n + 1)) - lgamma(Double(k + 1)) - lgamma(Double(n - k + 1)) - Double(n) * log(2.0))
    }
}
