import Glibc
import IPCPlatform

/// One case's units (runs, boots, or round pairs) on the log scale: what its test is made of.
/// Every case of one comparison has the same units in the same order; nil marks a unit the case lacks.
public struct UnitSample: Sendable {
    /// Log figure of each unit of the base side, and of the new side.
    public var base: [Double?]
    public var new: [Double?]
    /// Paired units (the same round or run gave both values): the test is on new[i] - base[i].
    public var paired: Bool
    /// The variance of the log trial values within a unit, pooled over every unit: the case's own
    /// noise level, which predicts its variance between units (the trend of the moderation).
    public var trialVariance: Double?
    /// The same from two halves of the units: how precisely the trial variance is known.
    public var trialVarianceHalves: (Double, Double)?

    public init(base: [Double?], new: [Double?], paired: Bool, trialVariance: Double? = nil, trialVarianceHalves: (Double, Double)? = nil) {
        self.base = base
        self.new = new
        self.paired = paired
        self.trialVariance = trialVariance
        self.trialVarianceHalves = trialVarianceHalves
    }

    /// The groups whose units vary around a mean of their own: base and new, or the paired differences.
    package var groups: [[Double?]] {
        if paired {
            let differences: [Double?] = zip(base, new).map { b, n in
                guard let b, let n else { return nil }
                return n - b
            }
            return [differences]
        }
        return [base, new]
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
    /// Degrees of freedom of the t (for a case: its own, the prior's and the shared effect's, combined;
    /// for a mixture, its components' weighted by their weights).
    public let df: Double

    /// The t test of `difference` with standard error `se` on `df` degrees of freedom; nil when the
    /// error is zero (identical values: a tie is no evidence of a change) or the df are under 1.
    package init?(difference: Double, se: Double, df: Double, alpha: Double) {
        self.init(difference: difference, components: [(1, se, df)], alpha: alpha)
    }

    /// The test of `difference` against a mixture of scaled t distributions (weight, standard error,
    /// df): a case that may be an outlier is judged by both its moderated and its own variance, each
    /// in proportion to how likely it is. p, the interval and the MDE all come from the one mixture,
    /// so the interval leaves out 0 exactly when p < alpha.
    package init?(difference: Double, components: [(weight: Double, se: Double, df: Double)], alpha: Double) {
        let used = components.filter { $0.weight > 0 }
        guard !used.isEmpty, used.allSatisfy({ $0.se > 0 && $0.se.isFinite && $0.df >= 1 }) else { return nil }
        let z = brokenMethod == .zForT
        /// P(|X| > x) under the mixture.
        func beyond(_ x: Double) -> Double {
            used.reduce(0) { sum, c in
                sum + c.weight * (z ? erfc(x / c.se / 2.0.squareRoot()) : studentTTwoSidedP(x / c.se, degreesOfFreedom: c.df))
            }
        }
        /// The x with P(|X| > x) = share: one component's quantile, or a bisection between the components'.
        func quantile(_ share: Double) -> Double {
            let each = used.map { c in
                c.se * (z ? normalQuantile(1 - share / 2) : studentTQuantile(1 - share / 2, degreesOfFreedom: c.df))
            }
            guard used.count > 1 else { return each[0] }
            var low = each.min()!, high = each.max()!
            for _ in 0..<60 {
                let middle = (low + high) / 2
                if beyond(middle) > share { low = middle } else { high = middle }
            }
            return (low + high) / 2
        }
        let critical = quantile(alpha)
        self.difference = difference
        interval = LogInterval(low: difference - critical, high: difference + critical)
        pValue = beyond(abs(difference))
        // The 80% power point: one-sided P(X > x) = 0.2.
        mde = critical + quantile(0.4)
        self.df = used.reduce(0) { $0 + $1.weight * $1.df }
    }
}

/// A metric's cases pool their variances only from this many cases up; fewer, and each case is
/// tested on its own runs alone (a prior fitted to a handful of variances is a guess).
public let casesToPool = 10

/// A part of the method that a test switch takes out (the environment variable
/// IPCBENCH_TEST_BROKEN_METHOD), so that the simulation tests can prove they catch its loss.
package enum BrokenMethod: String {
    case priorDFInfinite = "prior-df-infinite", zForT = "z-for-t", noBH = "no-bh", noBiasCorrection = "no-bias-correction",
         noTrend = "no-trend", noSharedEffect = "no-shared-effect"
}

package let brokenMethod: BrokenMethod? = environmentValue("IPCBENCH_TEST_BROKEN_METHOD").flatMap { BrokenMethod(rawValue: $0) }

/// What every case of a metric shares in each unit: each unit's offset (the mean over the cases
/// of their deviation from their own mean in that group), the variance of those offsets, and its
/// degrees of freedom, which come from the number of units, never from the number of cases.
package struct SharedEffect {
    package let offsets: [[Double]]
    package let variance: Double
    package let df: Double
}

/// One case's units split into its groups' deviations from their means, with its change.
private struct CaseUnits {
    var deviations: [[Double?]]
    let difference: Double
    /// Turns a unit variance into the squared standard error of the difference.
    let scale: Double
    /// Σ (units in a group − 1).
    let df: Double

    init?(_ sample: UnitSample) {
        let groups = sample.groups
        var means: [Double] = [], scale = 0.0, df = 0.0
        for g in groups {
            let present = g.compactMap { $0 }
            guard !present.isEmpty else { return nil }
            means.append(present.reduce(0, +) / Double(present.count))
            scale += 1 / Double(present.count)
            df += Double(present.count - 1)
        }
        deviations = zip(groups, means).map { g, m in g.map { $0.map { $0 - m } } }
        difference = groups.count == 1 ? means[0] : means[1] - means[0]
        self.scale = sample.paired ? 1 / Double(groups[0].compactMap { $0 }.count) : scale
        self.df = df
    }

    var sumOfSquares: Double { deviations.joined().reduce(0) { $0 + ($1.map { $0 * $0 } ?? 0) } }
}

/// The tests of the cases of one metric (limma's moderated t, Smyth 2004, with the run as the unit),
/// and of the shift they all share. The model: a case's log figure in a unit is its level on that
/// side, plus an offset every case of the unit shares (a boot, a noisy neighbour for a run), plus the
/// case's own noise. From `casesToPool` cases up, the shared offsets are estimated and taken out of
/// each case's residuals, the cases' own variances are pooled (a prior with a trend on the trial
/// variance, robust to cases noisier than the prior, Phipson et al. 2016), and each case's test adds
/// the shared variance back, with its own degrees of freedom (Satterthwaite). With fewer cases each
/// case is tested on its own units, whose variance already holds the shared part. `common` tests
/// the shift every case shares (`commonShift`); `sharedVariance` is the variance of the shared
/// offsets beyond the cases' own noise in them (nil with fewer than two cases).
package func testCases(_ samples: [UnitSample], alpha: Double) -> (cases: [CaseTest?], common: CaseTest?, sharedVariance: Double?, pooled: Bool) {
    let units = samples.map(CaseUnits.init)
    let present = units.compactMap { $0 }
    let shape = samples.first.map { s in s.groups.map(\.count) }
    let aligned = samples.allSatisfy { $0.groups.map(\.count) == shape && $0.paired == samples[0].paired }
    let pooling = present.count >= casesToPool
    let meanOffsets = aligned && present.count >= 2 ? sharedEffect(present.map(\.deviations)) : nil
    let normalise = pooling && brokenMethod != .noSharedEffect
    // The cases' own variances. Where the shared offsets are modelled, they are taken out with the
    // mean over the cases (whose own noise then enters every residual by 1/N: taken back out), and
    // the shared variance is what the offsets vary by beyond the cases' noise in them.
    var own: [(variance: Double, df: Double)?] = units.map { u in
        guard let u, u.df >= 1 else { return nil }
        return (u.sumOfSquares / u.df, u.df)
    }
    var sharedVariance = 0.0, sharedDF = 1.0
    var residualVariances: [(variance: Double, df: Double)?] = own
    if let mean = meanOffsets, present.count >= 3 {
        let n = Double(present.count)
        let residual: [(variance: Double, df: Double)?] = units.map { u in
            guard let u, u.df >= 1 else { return nil }
            var ss = 0.0
            for (g, deviations) in u.deviations.enumerated() {
                let residuals = deviations.enumerated().compactMap { j, d in d.map { $0 - mean.offsets[g][j] } }
                let m = residuals.reduce(0, +) / Double(residuals.count)
                ss += residuals.reduce(0) { $0 + ($1 - m) * ($1 - m) }
            }
            return (ss / u.df, u.df * (n - 1) / n)
        }
        // E[residual variance] = σ²(1 − 2/N) + σ̄²/N, and the mean of the residual variances is σ̄²(1 − 1/N).
        let known = residual.compactMap { $0?.variance }
        let average = known.reduce(0, +) / Double(known.count) / (1 - 1 / n)
        residualVariances = residual.map { r in r.map { (max((($0.variance - average / n) / (1 - 2 / n)), $0.variance / 2), $0.df) } }
        sharedVariance = max(0, mean.variance - average / n)
        // A difference of two estimates is known to fewer degrees of freedom than its first term.
        sharedDF = mean.df * pow(sharedVariance / mean.variance, 2)
    }
    let measuredShared = meanOffsets == nil ? nil : sharedVariance
    if normalise { own = residualVariances } else { sharedVariance = 0 }
    let prior = pooling ? fitVariancePrior(own, samples.map(\.trialVariance), halves: samples.map(\.trialVarianceHalves)) : nil
    let pooledDF = own.reduce(0) { $0 + ($1?.df ?? 0) }
    /// A case variance with the shared variance added: its standard error and df (Satterthwaite:
    /// the sum of two variances known to their own degrees of freedom).
    func withShared(_ variance: Double, _ df: Double, _ scale: Double) -> (se: Double, df: Double) {
        guard sharedVariance > 0 else { return ((variance * scale).squareRoot(), df) }
        let total = variance + sharedVariance
        return ((total * scale).squareRoot(),
                max(1, total * total / (variance * variance / df + sharedVariance * sharedVariance / sharedDF)))
    }
    let cases = units.indices.map { i -> CaseTest? in
        guard let u = units[i], let (variance, df) = own[i] else { return nil }
        var caseVariance = variance, caseDF = df, noOutlier = 1.0
        if let prior {
            let (priorVariance, priorDF) = prior.moderation(i, samples[i].trialVariance)
            caseVariance = priorDF.isInfinite ? priorVariance : (priorDF * priorVariance + df * variance) / (priorDF + df)
            caseDF = min(df + priorDF, pooledDF)
            noOutlier = i < prior.noOutlier.count ? prior.noOutlier[i] : 1
        }
        guard caseVariance > 0 else { return nil }
        let moderated = withShared(caseVariance, caseDF, u.scale)
        // A case that may be an outlier is also judged by its own variance, as likely as it is one.
        guard noOutlier < 1, variance > 0, df >= 1 else {
            return CaseTest(difference: u.difference, se: moderated.se, df: moderated.df, alpha: alpha)
        }
        let ownTest = withShared(variance, df, u.scale)
        return CaseTest(difference: u.difference, components: [(noOutlier, moderated.se, moderated.df), (1 - noOutlier, ownTest.se, ownTest.df)],
                        alpha: alpha)
    }
    return (cases, aligned && present.count >= 2 ? commonShift(samples.filter { CaseUnits($0) != nil }, alpha: alpha) : nil, measuredShared,
            prior != nil)
}

/// The shift every case shares. Each unit's level is the median over the cases of the unit's figure
/// against the case's own mean (so that a few cases that changed do not move it); the shift is the
/// difference of the sides' mean levels, tested with Student's t on the units (a one-sample t on
/// the paired units' levels): its degrees of freedom are the units', whatever the number of cases.
private func commonShift(_ samples: [UnitSample], alpha: Double) -> CaseTest? {
    let groups = samples.map(\.groups)
    guard let shape = groups.first.map({ $0.map(\.count) }) else { return nil }
    let centers = groups.map { g -> Double in
        let values = g.joined().compactMap { $0 }
        return samples[0].paired ? 0 : values.reduce(0, +) / Double(max(values.count, 1))
    }
    let levels = shape.enumerated().map { g, count in
        (0..<count).compactMap { j -> Double? in
            let values = groups.indices.compactMap { i in groups[i][g][j].map { $0 - centers[i] } }
            return values.isEmpty ? nil : median(values)
        }
    }
    guard levels.allSatisfy({ !$0.isEmpty }) else { return nil }
    let means = levels.map { $0.reduce(0, +) / Double($0.count) }
    let ss = zip(levels, means).reduce(0.0) { sum, pair in sum + pair.0.reduce(0) { $0 + ($1 - pair.1) * ($1 - pair.1) } }
    let df = Double(levels.reduce(0) { $0 + $1.count - 1 })
    guard df >= 1 else { return nil }
    let scale = levels.reduce(0.0) { $0 + 1 / Double($1.count) }
    return CaseTest(difference: means.count == 1 ? means[0] : means[1] - means[0], se: (ss / df * scale).squareRoot(), df: df, alpha: alpha)
}

/// The shared offset of each unit: the mean over the cases of their deviations in it, centred
/// within its group; its variance over the units. nil without a degree of freedom.
package func sharedEffect(_ deviations: [[[Double?]]]) -> SharedEffect? {
    guard let shape = deviations.first.map({ $0.map(\.count) }) else { return nil }
    var offsets: [[Double]] = []
    var ss = 0.0, df = 0.0
    for (g, count) in shape.enumerated() {
        var group = (0..<count).map { j -> Double? in
            let values = deviations.compactMap { $0[g][j] }
            return values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
        }
        let known = group.compactMap { $0 }
        guard !known.isEmpty else { offsets.append([Double](repeating: 0, count: count)); continue }
        let mean = known.reduce(0, +) / Double(known.count)
        group = group.map { $0.map { $0 - mean } }
        ss += group.reduce(0) { $0 + ($1.map { $0 * $0 } ?? 0) }
        df += Double(known.count - 1)
        offsets.append(group.map { $0 ?? 0 })
    }
    guard df >= 1 else { return nil }
    return SharedEffect(offsets: offsets, variance: ss / df, df: df)
}


/// The empirical-Bayes prior of the variances (Smyth 2004): a scaled inverse chi-square with `df`
/// degrees of freedom around a variance that follows the case's trial variance w as a power law,
/// log s0² = intercept + slope·log w (limma-trend, with the trial spread as the covariate). A case
/// whose variance lies far above the prior keeps fewer of the prior's degrees of freedom
/// (`caseDF`), so that its own runs speak for it (after limma's robust eBayes, Phipson et al. 2016,
/// simplified: the outliers are tested against the prior fitted to every case, not a winsorized fit).
package struct VariancePrior {
    package let df: Double
    package let intercept: Double
    /// 0: no trend, the same prior for every case.
    package let slope: Double
    /// The trial variances the fit saw: a case outside is held to their range.
    package let range: ClosedRange<Double>
    /// Per case, the prior's degrees of freedom after the outlier check (df where it is no outlier).
    package var caseDF: [Double] = []
    /// Per case, the probability that it is no outlier (1 where it is none).
    package var noOutlier: [Double] = []

    package func variance(_ trialVariance: Double?) -> Double {
        var center = intercept
        if slope != 0 {
            center += slope * log(min(max(trialVariance ?? range.lowerBound, range.lowerBound), range.upperBound))
        }
        return df.isInfinite || brokenMethod == .noBiasCorrection ? exp(center) : exp(center + digamma(df / 2) - log(df / 2))
    }

    /// Case i's prior variance and degrees of freedom.
    package func moderation(_ i: Int, _ trialVariance: Double?) -> (variance: Double, df: Double) {
        (variance(trialVariance), i < caseDF.count ? caseDF[i] : df)
    }
}

/// Fits the prior to the cases' variances (limma's fitFDist, then its robust step): log variances
/// corrected for their chi-square bias; where every case has a trial variance w, the line through
/// (log w, log variance) by least squares; the prior's degrees of freedom from the spread left
/// over. Then each case's variance is set against the prior (its upper tail probability under the
/// F distribution the prior implies, against its rank among the cases) and an outlier keeps its own
/// variance in proportion. nil with fewer than three cases.
package func fitVariancePrior(_ own: [(variance: Double, df: Double)?], _ trialVariances: [Double?],
                      halves: [(Double, Double)?] = []) -> VariancePrior? {
    let usable = own.indices.filter { own[$0] != nil }
    guard usable.count >= 3 else { return nil }
    // Quantized figures give exact zeros; limma floors them at a small share of the median.
    let middle = median(usable.map { own[$0]!.variance })
    guard middle > 0 else { return nil }
    let e = usable.map { i -> Double in
        let (v, d) = (max(own[i]!.variance, 1e-5 * middle), own[i]!.df)
        return brokenMethod == .noBiasCorrection ? log(v) : log(v) - digamma(d / 2) + log(d / 2)
    }
    // A trial spread of 0 (quantized trials all equal to their run's median) is floored as the
    // variances are, so that one such case does not turn the trend off for the whole metric.
    let spreads = usable.compactMap { trialVariances[$0].flatMap { $0 > 0 && $0.isFinite ? $0 : nil } }
    let typicalSpread = spreads.isEmpty ? 0 : median(spreads)
    let w = usable.map { i -> Double? in
        guard let v = trialVariances[i], v.isFinite, v >= 0, typicalSpread > 0 else { return nil }
        return max(v, 1e-5 * typicalSpread)
    }
    let n = Double(e.count)
    var intercept = e.reduce(0, +) / n, slope = 0.0, coefficients = 1.0
    if usable.count >= 5, w.allSatisfy({ $0 != nil }), brokenMethod != .noTrend {
        let x = w.map { log($0!) }
        let mx = x.reduce(0, +) / n
        let sxx = x.reduce(0) { $0 + ($1 - mx) * ($1 - mx) }
        if sxx > 0 {
            slope = zip(x, e).reduce(0) { $0 + ($1.0 - mx) * ($1.1 - intercept) } / sxx
            // A trial variance from few trials is a noisy covariate, which flattens the fitted slope
            // by the share of its spread that is noise (regression dilution); the two halves of the
            // units measure that noise: var(log w) ≈ var(log w1 − log w2)/4.
            let floor = 1e-5 * typicalSpread
            let pairs = usable.compactMap { i in i < halves.count ? halves[i].map { log(max($0.0, floor)) - log(max($0.1, floor)) } : nil }
            if pairs.count == usable.count, brokenMethod != .noTrend {
                let noise = pairs.reduce(0) { $0 + $1 * $1 } / Double(pairs.count) / 4
                let reliability = min(1, max(0.5, 1 - noise / (sxx / (n - 1))))
                slope /= reliability
            }
            intercept -= slope * mx
            coefficients = 2
        }
    }
    let squares = zip(usable.indices, e).reduce(0.0) { sum, pair in
        let fitted = intercept + (slope != 0 ? slope * log(w[pair.0]!) : 0)
        return sum + (pair.1 - fitted) * (pair.1 - fitted)
    }
    let spread = squares / (n - coefficients)
    let excess = spread - usable.reduce(0) { $0 + trigamma(own[$1]!.df / 2) } / n
    let present = w.compactMap { $0 }
    // A prior is worth no more degrees of freedom than all the cases' variances that informed it
    // hold together: the moment estimate from a few dozen variances is often infinite (when their
    // spread falls under what their own df explain), and an overconfident prior makes p too small.
    let informed = usable.reduce(0) { $0 + own[$1]!.df }
    let df = brokenMethod == .priorDFInfinite ? .infinity : excess > 0 ? min(2 * trigammaInverse(excess), informed) : informed
    var prior = VariancePrior(df: df, intercept: intercept, slope: slope, range: (present.min() ?? 1)...(present.max() ?? 1))
    if brokenMethod != .priorDFInfinite {
        (prior.caseDF, prior.noOutlier) = robustPriorDF(prior, own, trialVariances)
    }
    return prior
}

/// limma's robust step: the prior degrees of freedom each case keeps. A case's variance ratio to
/// the prior has an upper tail probability p under F(its df, prior df); against the share of cases
/// at least as extreme ((n − rank + 0.5)/n), p/share below 1 is the probability it is no outlier.
/// An outlier's prior df fall toward the df that make the largest ratio the median of its F
/// distribution; the result is made to grow with p, so that a less extreme case never keeps fewer.
package func robustPriorDF(_ prior: VariancePrior, _ own: [(variance: Double, df: Double)?], _ trialVariances: [Double?]) -> (df: [Double], noOutlier: [Double]) {
    let usable = own.indices.filter { own[$0] != nil }
    let n = Double(usable.count)
    let pooled = usable.reduce(0) { $0 + own[$1]!.df }
    var result = [Double](repeating: prior.df, count: own.count)
    let ratio = usable.map { own[$0]!.variance / prior.variance(trialVariances[$0]) }
    let tail = zip(usable, ratio).map { i, f in fTail(f, own[i]!.df, prior.df) }
    let rank = ratio.indices.map { i in Double(ratio.indices.filter { ratio[$0] < ratio[i] }.count + 1) }
    let notOutlier = tail.indices.map { min(1, tail[$0] / ((n - rank[$0] + 0.5) / n)) }
    var probability = [Double](repeating: 1, count: own.count)
    let noOutlier = noOutlierProbabilities(ratio, usable.map { own[$0]!.df }, prior.df)
    for (k, i) in usable.enumerated() { probability[i] = noOutlier[k] }
    guard notOutlier.contains(where: { $0 < 1 }) else { return (result, probability) }
    var shrunk: [Double]
    if prior.df.isInfinite {
        shrunk = notOutlier.map { $0 * pooled }
    } else {
        // The df for which the largest ratio is the median of F(df1, d): found by bisection on log d.
        let largest = ratio.indices.max { ratio[$0] < ratio[$1] }!
        let df1 = own[usable[largest]]!.df
        var low = log(1e-3), high = log(prior.df)
        for _ in 0..<60 {
            let middle = (low + high) / 2
            if fTail(ratio[largest], df1, exp(middle)) > 0.5 { low = middle } else { high = middle }
        }
        let outlierDF = min(exp(low), prior.df)
        shrunk = notOutlier.map { $0 * prior.df + (1 - $0) * outlierDF }
    }
    // Monotone in the tail probability: a case less extreme keeps at least what a more extreme one does.
    var running = 0.0
    for k in tail.indices.sorted(by: { tail[$0] < tail[$1] }) {
        running = max(running, shrunk[k])
        shrunk[k] = running
    }
    for (k, i) in usable.enumerated() { result[i] = min(shrunk[k], prior.df) }
    return (result, probability)
}

/// The probability that each case is no outlier, from a two-group model of the ratios of the
/// cases' variances to the prior: a case's ratio follows F(its df, the prior's df), an outlier's k
/// times that. The outliers' share π (at most ½) and their scale k (1.5 to 100) are fitted by EM.
/// Where no case strays π falls toward 0 and every case keeps the moderated test; the rank rule of
/// the robust df (below) would call about half of the most extreme cases possible outliers even
/// then, and judging them partly by their own few df costs power for nothing.
func noOutlierProbabilities(_ ratio: [Double], _ df1: [Double], _ df2: Double) -> [Double] {
    let scales = (0..<40).map { exp(log(1.5) + Double($0) / 39 * (log(100) - log(1.5))) }
    var share = 0.05, scale = 5.0
    func posterior() -> [Double] {
        ratio.indices.map { i in
            let plain = (1 - share) * exp(logFDensity(ratio[i], df1[i], df2))
            let outlier = share * exp(logFDensity(ratio[i] / scale, df1[i], df2)) / scale
            return plain + outlier > 0 ? plain / (plain + outlier) : 1
        }
    }
    for _ in 0..<30 {
        let w = posterior()
        share = min(0.5, max(1e-6, w.reduce(0) { $0 + (1 - $1) } / Double(w.count)))
        let likelihood = scales.map { k in ratio.indices.reduce(0.0) { $0 + (1 - w[$1]) * (logFDensity(ratio[$1] / k, df1[$1], df2) - log(k)) } }
        scale = scales[likelihood.indices.max { likelihood[$0] < likelihood[$1] }!]
    }
    return posterior()
}

/// log of the density of F(df1, df2) at f (df2 may be infinite: df1·F is then chi-square with df1).
func logFDensity(_ f: Double, _ df1: Double, _ df2: Double) -> Double {
    guard f > 0 else { return -.infinity }
    let a = df1 / 2
    if df2.isInfinite || df2 > 1e6 {
        let y = df1 * f
        return log(df1) + (a - 1) * log(y) - y / 2 - a * log(2) - lgamma(a)
    }
    let b = df2 / 2
    return lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(df1 / df2) + (a - 1) * log(f) - (a + b) * log1p(df1 * f / df2)
}

/// P(F > f) for F with df1 and df2 degrees of freedom (df2 may be infinite: the chi-square limit).
package func fTail(_ f: Double, _ df1: Double, _ df2: Double) -> Double {
    guard f > 0 else { return 1 }
    if df2.isInfinite || df2 > 1e6 { return regularizedGammaQ(df1 / 2, df1 * f / 2) }
    return regularizedIncompleteBeta(df2 / 2, df1 / 2, df2 / (df2 + df1 * f))
}

/// Q(a, x) = Γ(a, x)/Γ(a): the series below a + 1, the continued fraction above (modified Lentz).
package func regularizedGammaQ(_ a: Double, _ x: Double) -> Double {
    if x <= 0 { return 1 }
    let front = exp(-x + a * log(x) - lgamma(a))
    if x < a + 1 {
        var term = 1 / a, sum = term, n = a
        for _ in 0..<500 {
            n += 1
            term *= x / n
            sum += term
            if abs(term) < abs(sum) * 1e-15 { break }
        }
        return max(0, 1 - sum * front)
    }
    let tiny = 1e-300
    var b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d
    for i in 1...500 {
        let an = -Double(i) * (Double(i) - a)
        b += 2
        d = an * d + b; if abs(d) < tiny { d = tiny }
        c = b + an / c; if abs(c) < tiny { c = tiny }
        d = 1 / d
        let delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-15 { break }
    }
    return front * h
}

/// Two-sided p-value of Student's t: P(|T| > |t|) = I_{df/(df+t²)}(df/2, 1/2).
public func studentTTwoSidedP(_ t: Double, degreesOfFreedom df: Double) -> Double {
    guard t.isFinite else { return t.isNaN ? .nan : 0 }
    if df.isInfinite { return erfc(abs(t) / 2.0.squareRoot()) }
    return regularizedIncompleteBeta(df / 2, 0.5, df / (df + t * t))
}

/// Benjamini-Hochberg adjusted p-values (q-values), in the order given; nil stays nil and is not
/// counted in the family.
public func benjaminiHochberg(_ p: [Double?]) -> [Double?] {
    if brokenMethod == .noBH { return p }
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
package func digamma(_ x: Double) -> Double {
    var x = x, result = 0.0
    while x < 10 { result -= 1 / x; x += 1 }
    let f = 1 / (x * x)
    return result + log(x) - 0.5 / x - f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f / 132))))
}

/// ψ'(x).
package func trigamma(_ x: Double) -> Double {
    var x = x, result = 0.0
    while x < 10 { result += 1 / (x * x); x += 1 }
    let f = 1 / (x * x)
    return result + 1 / x + f / 2 + f / x * (1.0 / 6 - f * (1.0 / 30 - f * (1.0 / 42 - f / 30)))
}

/// ψ''(x).
package func tetragamma(_ x: Double) -> Double {
    var x = x, result = 0.0
    while x < 10 { result -= 2 / (x * x * x); x += 1 }
    let f = 1 / (x * x)
    return result - f - f / x - f * f * (0.5 - f * (1.0 / 6 - f * (1.0 / 6 - f * 3 / 10)))
}

/// The y with ψ'(y) = x, by Newton's method as in limma.
package func trigammaInverse(_ x: Double) -> Double {
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
