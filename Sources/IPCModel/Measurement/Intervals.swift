import Glibc
import IPCPlatform

/// An interval for the log of a ratio new/base. An end is infinite when the data cannot bound it
/// (too few trials for the level asked).
public struct LogInterval: Sendable, Equatable {
    public let low: Double
    public let high: Double

    public init(low: Double, high: Double) {
        self.low = low
        self.high = high
    }

    /// The ratio 1 (a change of 0%) lies outside the interval.
    public var excludesZero: Bool { low > 0 || high < 0 }
    public var isBounded: Bool { low.isFinite && high.isFinite }
    /// Half the interval's width as a change in %: the change these data find half of the time.
    public var detectablePercent: Double { (exp((high - low) / 2) - 1) * 100 }
}

/// Distribution-free interval for the shift of `y` against `x` (new minus base), found by inverting
/// the two-sided Mann-Whitney test (Hodges-Lehmann): [D(k), D(mn+1-k)] of the m·n pairwise
/// differences y_j - x_i in order. k comes from the exact distribution of U when both samples have
/// at most 30 values and there are no ties, else from the normal approximation (tie-corrected).
/// Unbounded when the samples are too small for the level; nil when one is empty.
/// `counts` gives the exact U distribution (pass a cache when calling often).
public func shiftInterval(_ x: [Double], _ y: [Double], alpha: Double,
                          counts: ((Int, Int) -> [Double])? = nil) -> LogInterval? {
    let m = x.count, n = y.count
    guard m > 0, n > 0 else { return nil }
    let pooled = (x + y).sorted()
    var tieTerm = 0.0
    var i = 0
    while i < pooled.count {
        var j = i
        while j + 1 < pooled.count && pooled[j + 1] == pooled[i] { j += 1 }
        let t = Double(j - i + 1)
        tieTerm += t * t * t - t
        i = j + 1
    }
    let mn = m * n
    var k = 0  // the number of differences cut off at each end
    if tieTerm == 0 && m <= 30 && n <= 30 {
        let distribution = counts?(m, n) ?? mannWhitneyCounts(m, n)
        let total = distribution.reduce(0, +)
        var below = 0.0  // P(U <= k - 1)
        while k < mn / 2 {
            let next = below + distribution[k] / total
            if 2 * next > alpha { break }
            below = next
            k += 1
        }
    } else {
        let nn = Double(m + n)
        let variance = Double(mn) / 12 * ((nn + 1) - tieTerm / (nn * (nn - 1)))
        let cut = (Double(mn) / 2 - normalQuantile(1 - alpha / 2) * variance.squareRoot()).rounded()
        k = cut >= 1 ? min(Int(cut), mn / 2) : 0
    }
    guard k >= 1 else { return LogInterval(low: -.infinity, high: .infinity) }
    if mn <= 1_000_000 {
        var differences: [Double] = []
        differences.reserveCapacity(mn)
        for a in x { for b in y { differences.append(b - a) } }
        differences.sort()
        return LogInterval(low: differences[k - 1], high: differences[mn - k])
    }
    return LogInterval(low: orderedDifference(k, x.sorted(), y.sorted()), high: orderedDifference(mn + 1 - k, x.sorted(), y.sorted()))
}

/// The r-th smallest (1-based) of the differences b - a over all pairs, without listing them: bisection
/// on the value, counting the differences at or below it in one pass over the sorted samples.
package func orderedDifference(_ r: Int, _ x: [Double], _ y: [Double]) -> Double {
    func atOrBelow(_ d: Double) -> Int {
        var count = 0, i = 0
        for b in y {
            while i < x.count && b - x[i] > d { i += 1 }
            count += x.count - i
        }
        return count
    }
    var low = y[0] - x[x.count - 1], high = y[y.count - 1] - x[0]
    for _ in 0..<200 where high - low > 1e-12 * Swift.max(abs(low), abs(high), 1e-300) {
        let middle = (low + high) / 2
        if atOrBelow(middle) >= r { high = middle } else { low = middle }
    }
    return high
}

/// Welch's t test for mean(b) - mean(a), with the Welch-Satterthwaite degrees of freedom. When
/// one side has a single value, its variance is unknown and the other side's is used for both
/// (df = that side's n - 1). nil when neither side has two values, and when the standard error is
/// zero (identical values: a tie is no evidence of a change).
public func welchTest(_ a: [Double], _ b: [Double], alpha: Double) -> CaseTest? {
    let na = Double(a.count), nb = Double(b.count)
    guard a.count >= 1, b.count >= 1, a.count + b.count >= 3 else { return nil }
    func meanAndVariance(_ v: [Double]) -> (Double, Double) {
        let mean = v.reduce(0, +) / Double(v.count)
        guard v.count > 1 else { return (mean, 0) }
        return (mean, v.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(v.count - 1))
    }
    let (ma, va) = meanAndVariance(a), (mb, vb) = meanAndVariance(b)
    let difference = mb - ma
    var se2: Double, df: Double
    if a.count == 1 {
        se2 = vb * (1 / na + 1 / nb); df = nb - 1
    } else if b.count == 1 {
        se2 = va * (1 / na + 1 / nb); df = na - 1
    } else {
        let ea = va / na, eb = vb / nb
        se2 = ea + eb
        let denominator = ea * ea / (na - 1) + eb * eb / (nb - 1)
        df = denominator > 0 ? se2 * se2 / denominator : na + nb - 2
    }
    guard se2 > 0, se2.isFinite else { return nil }
    return CaseTest(difference: difference, se: se2.squareRoot(), df: df, alpha: alpha)
}

/// Welch's interval for log(mean b / mean a) from summary figures (one run a side, no trials file) (mean, sample standard
/// deviation, count), by the delta method: the log of a mean has standard error sd / (mean·√n).
public func summaryWelchInterval(base: (mean: Double, sd: Double, n: Double), new: (mean: Double, sd: Double, n: Double),
                                 alpha: Double) -> LogInterval? {
    guard base.n >= 2, new.n >= 2, base.mean > 0, new.mean > 0 else { return nil }
    let ea = pow(base.sd / base.mean, 2) / base.n, eb = pow(new.sd / new.mean, 2) / new.n
    let difference = log(new.mean) - log(base.mean)
    let se2 = ea + eb
    guard se2 > 0, se2.isFinite else { return nil }
    let df = se2 * se2 / (ea * ea / (base.n - 1) + eb * eb / (new.n - 1))
    let half = studentTQuantile(1 - alpha / 2, degreesOfFreedom: df) * se2.squareRoot()
    return LogInterval(low: difference - half, high: difference + half)
}

/// The median (the mean of the middle two for an even count). The values must not be empty.
package func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    let n = sorted.count
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
}

/// The p-quantile of Student's t distribution, by bisection on its tail
/// P(|T| > t) = I_{df/(df+t²)}(df/2, 1/2).
public func studentTQuantile(_ p: Double, degreesOfFreedom df: Double) -> Double {
    guard p > 0, p < 1, df > 0 else { return .nan }
    if p == 0.5 { return 0 }
    let twoSidedTail = 2 * Swift.min(p, 1 - p)
    func tail(_ t: Double) -> Double { regularizedIncompleteBeta(df / 2, 0.5, df / (df + t * t)) }
    var low = 0.0, high = 1.0
    while tail(high) > twoSidedTail && high < 1e12 { low = high; high *= 2 }
    for _ in 0..<200 {
        let middle = (low + high) / 2
        if tail(middle) > twoSidedTail { low = middle } else { high = middle }
        if high - low <= 1e-12 * high { break }
    }
    let t = (low + high) / 2
    return p > 0.5 ? t : -t
}

/// The p-quantile of the standard normal distribution, by bisection on erfc.
public func normalQuantile(_ p: Double) -> Double {
    guard p > 0, p < 1 else { return .nan }
    var low = -40.0, high = 40.0
    for _ in 0..<200 {
        let middle = (low + high) / 2
        if erfc(-middle / 2.0.squareRoot()) / 2 < p { low = middle } else { high = middle }
    }
    return (low + high) / 2
}

