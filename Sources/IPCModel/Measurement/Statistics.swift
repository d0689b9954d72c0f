import Glibc
import IPCPlatform

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
    package static func medianIntervalRanks(_ n: Int) -> (Int, Int) {
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

    package static func binomialHalf(_ n: Int, _ k: Int) -> Double {
        // C(n, k) / 2^n, in logs so that large n does not overflow.
        exp(lgamma(Double(n + 1)) - lgamma(Double(k + 1)) - lgamma(Double(n - k + 1)) - Double(n) * log(2.0))
    }
}

/// A figure a ratio can use: finite, positive, at most `largestFigure`.
package func positiveFigure(_ text: String) -> Double? {
    guard let v = Double(text), v.isFinite, v > 0, v <= largestFigure else { return nil }
    return v
}

/// The trials of several runs of one boot as one sample (one boot a side: the within-run interval).
package func pooled(_ runs: [RunFigures]) -> RunFigures {
    guard runs.count > 1 else { return runs[0] }
    var all: [(value: Double, round: Int?)] = []
    for run in runs {
        guard case .trials(let t) = run else { return runs[0] }
        all += t
    }
    return .trials(all)
}

/// The sample standard deviation; nil for fewer than two values.
package func standardDeviation(_ v: [Double]) -> Double? {
    guard v.count > 1 else { return nil }
    let mean = v.reduce(0, +) / Double(v.count)
    return (v.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(v.count - 1)).squareRoot()
}

/// The variance of the log trials within each run, pooled over the runs; nil unless every run has
/// at least two trials.
package func pooledTrialVariance(_ runs: [RunFigures]) -> Double? {
    var ss = 0.0, df = 0.0
    for run in runs {
        guard let logs = run.logTrials, logs.count >= 2 else { return nil }
        let mean = logs.reduce(0, +) / Double(logs.count)
        ss += logs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
        df += Double(logs.count - 1)
    }
    return ss / df
}

/// `robustTrialVariance` of every other run and of the rest (a run: its figures, one or two cases'):
/// two estimates whose difference says how noisy the trial spread is as a covariate.
package func trialVarianceHalves(_ runs: [[RunFigures]]) -> (Double, Double)? {
    let halves = [0, 1].map { h in runs.enumerated().filter { $0.offset % 2 == h }.flatMap(\.element) }
    guard let first = robustTrialVariance(halves[0]), let second = robustTrialVariance(halves[1]) else { return nil }
    return (first, second)
}

/// Largest figure compare accepts; anything bigger is a broken file, not a measurement.
package let largestFigure = 1e15

/// The figures of one run for one case and metric.
package enum RunFigures {
    /// The trials, with their rounds.
    case trials([(value: Double, round: Int?)])
    /// No trials: the case row's median, and (mean, sd, count) for the summary Welch interval when available.
    case summary(median: Double, welch: (mean: Double, sd: Double, n: Double)?)

    package var center: Double {
        switch self {
        case .trials(let values): return median(values.map(\.value))
        case .summary(let m, _): return m
        }
    }

    package var logTrials: [Double]? {
        if case .trials(let values) = self { return values.map { log($0.value) } }
        return nil
    }
}

/// The trials' spread within each run as a variance, from their mean absolute deviation from the
/// run's median, pooled over the runs (×π/2: the variance for normal noise). It predicts a case's
/// variance between runs (the moderation's trend); unlike the trials' variance, a heavy tail in
/// five trials does not swamp it. nil unless every run has at least two trials.
package func robustTrialVariance(_ runs: [RunFigures]) -> Double? {
    var sum = 0.0, count = 0.0
    for run in runs {
        guard let logs = run.logTrials, logs.count >= 2 else { return nil }
        let middle = median(logs)
        sum += logs.reduce(0) { $0 + abs($1 - middle) }
        count += Double(logs.count - 1)
    }
    return Double.pi / 2 * pow(sum / count, 2)
}
