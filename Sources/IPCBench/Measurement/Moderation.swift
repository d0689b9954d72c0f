import Glibc

/// One case's units (runs, boots, or round pairs) on the log scale: what its test is made of.
public struct UnitSample: Sendable {
    /// Log figure of each unit of the base side, and of the new side.
    public var base: [Double]
    public var new: [Double]
    /// Paired units (the same round or run gave both values): the test is on new[i] - base[i].
    public var paired: Bool
    /// The variance of the log trial values within a unit, pooled over every unit: the case's own
    /// noise level, which predicts its variance between units (the trend of the moderation).
    public var trialVariance: Double?

    public init(base: [Double], new: [Double], paired: Bool, trialVariance: Double? = nil) {
        self.base = base
        self.new = new
        self.paired = paired
        self.trialVariance = trialVariance
    }

    /// The difference of the means, the residual variance, its degrees of freedom, and the factor
    /// that turns the variance into the squared standard error of the difference.
    var estimate: (difference: Double, variance: Double, df: Double, scale: Double) {
        func sumOfSquares(_ v: [Double]) -> (mean: Double, ss: Double) {
            let mean = v.reduce(0, +) / Double(v.count)
            return (mean, v.reduce(0) { $0 + ($1 - mean) * ($1 - mean) })
        }
        if paired {
            let d = sumOfSquares(zip(base, new).map { $1 - $0 })
            let n = Double(min(base.count, new.count))
            return (d.mean, n > 1 ? d.ss / (n - 1) : 0, n - 1, 1 / n)
        }
        let a = sumOfSquares(base), b = sumOfSquares(new)
        let df = Double(base.count + new.count - 2)
        return (b.mean - a.mean, df > 0 ? (a.ss + b.ss) / df : 0, df, 1 / Double(base.count) + 1 / Double(new.count))
    }
}

/// A test of one case: the change on the log scale with its interval, p-value and the minimum
/// detectable effect at 80% power, all for the level `alpha`.
public struct CaseTest: Sendable, Equatable {
    public let difference: Double
    public let interval: LogInterval
    public let pValue: Double
    /// The smallest change (log ratio) found 80% of the time by the unadjusted test at this level.
    public let mde: Double
    /// Degrees of freedom of the moderated t (the case's own plus the prior's).
    public let df: Double
}

/// The empirical-Bayes prior of the variances (Smyth 2004): a scaled inverse chi-square with `df`
/// degrees of freedom around a variance that grows with the case's trial variance w as
/// scale·(offset + w): a part every case shares (the machine's drift between runs) plus a part
/// proportional to the case's own noise.
struct VariancePrior {
    let df: Double
    let logScale: Double
    /// nil: no trend, the same prior for every case.
    let offset: Double?
    /// The trial variances the fit saw: a case outside is held to their range.
    let range: ClosedRange<Double>

    func variance(_ trialVariance: Double?) -> Double {
        var center = logScale
        if let offset {
            let w = min(max(trialVariance ?? range.lowerBound, range.lowerBound), range.upperBound)
            center += log(offset + w)
        }
        return df.isInfinite ? exp(center) : exp(center + digamma(df / 2) - log(df / 2))
    }
}

/// The moderated t tests of limma (Smyth 2004) on cases that plausibly share a variance: each
/// case's variance between units is shrunk toward a prior fitted to all the cases, with a trend on
/// `trialVariance` where every case has one (limma-trend), so that few units a side test with the
/// prior's degrees of freedom added to their own. nil for a case with no degrees of freedom or a
/// zero standard error (identical values on both sides).
public func moderatedTests(_ samples: [UnitSample], alpha: Double) -> [CaseTest?] {
    let estimates = samples.map(\.estimate)
    let prior = fitVariancePrior(samples, estimates)
    let pooledDF = estimates.reduce(0) { $0 + max($1.df, 0) }
    return zip(samples, estimates).map { sample, e -> CaseTest? in
        guard e.df >= 1 || prior != nil else { return nil }
        var variance = e.variance, df = e.df
        if let prior {
            let priorVariance = prior.variance(sample.trialVariance)
            if prior.df.isInfinite {
                variance = priorVariance
            } else {
                variance = (prior.df * priorVariance + e.df * e.variance) / (prior.df + e.df)
            }
            df = min(e.df + prior.df, pooledDF)
        }
        let se = (variance * e.scale).squareRoot()
        guard se > 0, se.isFinite, df >= 1 else { return nil }
        let critical = studentTQuantile(1 - alpha / 2, degreesOfFreedom: df)
        let t = e.difference / se
        return CaseTest(difference: e.difference,
                        interval: LogInterval(low: e.difference - critical * se, high: e.difference + critical * se),
                        pValue: studentTTwoSidedP(t, degreesOfFreedom: df),
                        mde: (critical + studentTQuantile(0.8, degreesOfFreedom: df)) * se, df: df)
    }
}

/// Fits the prior to the cases' variances (limma's fitFDist): log variances corrected for their
/// chi-square bias; where every case has a trial variance w, the trend log(scale·(offset + w)) with
/// the offset found by a search on a log grid and the scale by least squares; the prior's degrees
/// of freedom from the spread left over. nil with fewer than three cases.
func fitVariancePrior(_ samples: [UnitSample], _ estimates: [(difference: Double, variance: Double, df: Double, scale: Double)]) -> VariancePrior? {
    let usable = estimates.indices.filter { estimates[$0].df >= 1 }
    guard usable.count >= 3 else { return nil }
    // Quantized figures give exact zeros; limma floors them at a small share of the median.
    let middle = median(usable.map { estimates[$0].variance })
    guard middle > 0 else { return nil }
    let e = usable.map { i -> Double in
        let d = estimates[i].df
        return log(max(estimates[i].variance, 1e-5 * middle)) - digamma(d / 2) + log(d / 2)
    }
    let w = usable.map { samples[$0].trialVariance.flatMap { $0 > 0 && $0.isFinite ? $0 : nil } }
    func fit(_ offset: Double?) -> (logScale: Double, squares: Double) {
        let trend = w.map { v in offset.map { log($0 + v!) } ?? 0 }
        let logScale = zip(e, trend).reduce(0) { $0 + $1.0 - $1.1 } / Double(e.count)
        return (logScale, zip(e, trend).reduce(0) { $0 + pow($1.0 - $1.1 - logScale, 2) })
    }
    var offset: Double? = nil
    var best = fit(nil)
    var coefficients = 1.0
    if usable.count >= 5, w.allSatisfy({ $0 != nil }) {
        // 0, then 10^-3 to 10^2.9 times the typical trial variance, in tenths of a decade.
        let typical = median(w.map { $0! })
        let candidates = [0.0] + (1...60).map { typical * pow(10, Double($0 - 31) / 10) }
        (offset, best) = candidates.map { ($0, fit($0)) }.min { $0.1.squares < $1.1.squares }!
        coefficients = 2
    }
    let spread = best.squares / (Double(usable.count) - coefficients)
    let excess = spread - usable.reduce(0) { $0 + trigamma(estimates[$1].df / 2) } / Double(usable.count)
    let present = w.compactMap { $0 }
    return VariancePrior(df: excess > 0 ? 2 * trigammaInverse(excess) : .infinity, logScale: best.logScale, offset: offset,
                         range: (present.min() ?? 1)...(present.max() ?? 1))
}

/// Two-sided p-value of Student's t: P(|T| > |t|) = I_{df/(df+t²)}(df/2, 1/2).
public func studentTTwoSidedP(_ t: Double, degreesOfFreedom df: Double) -> Double {
    guard t.isFinite else { return t.isNaN ? .nan : 0 }
    return regularizedIncompleteBeta(df / 2, 0.5, df / (df + t * t))
}

/// Benjamini-Hochberg adjusted p-values (q-values), in the order given; nil stays nil and is not
/// counted in the family.
public func benjaminiHochberg(_ p: [Double?]) -> [Double?] {
    let present = p.indices.filter { p[$0] != nil }.sorted { p[$0]! < p[$1]! }
    var q = [Double?](repeating: nil, count: p.count)
    var running = 1.0
    let m = Double(present.count)
    for (rank, index) in present.enumerated().reversed() {
        running = min(running, p[index]! * m / Double(rank + 1))
        q[index] = running
    }
    return q
}

/// ψ(x), by recurrence up to 10 and the asymptotic series beyond.
func digamma(_ x: Double) -> Double {
    var x = x, result = 0.0
    while x < 10 { result -= 1 / x; x += 1 }
    let f = 1 / (x * x)
    return result + log(x) - 0.5 / x - f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f / 132))))
}

/// ψ'(x).
func trigamma(_ x: Double) -> Double {
    var x = x, result = 0.0
    while x < 10 { result += 1 / (x * x); x += 1 }
    let f = 1 / (x * x)
    return result + 1 / x + f / 2 + f / x * (1.0 / 6 - f * (1.0 / 30 - f * (1.0 / 42 - f / 30)))
}

/// ψ''(x).
func tetragamma(_ x: Double) -> Double {
    var x = x, result = 0.0
    while x < 10 { result -= 2 / (x * x * x); x += 1 }
    let f = 1 / (x * x)
    return result - f - f / x - f * f * (0.5 - f * (1.0 / 6 - f * (1.0 / 6 - f * 3 / 10)))
}

/// The y with ψ'(y) = x, by Newton's method as in limma.
func trigammaInverse(_ x: Double) -> Double {
    if x > 1e7 { return 1 / x.squareRoot() }
    if x < 1e-6 { return 1 / x }
    var y = 0.5 + 1 / x
    for _ in 0..<50 {
        let tri = trigamma(y)
        let step = tri * (1 - tri / x) / tetragamma(y)
        y += step
        if -step / y < 1e-8 { break }
    }
    return y
}
