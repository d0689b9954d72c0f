import Glibc

/// Two-sided Mann-Whitney U test: the p-value that samples `a` and `b` come from one distribution.
/// Exact (by counting every arrangement of ranks) when both samples have at most 30 values and there
/// are no ties; otherwise the normal approximation with tie correction. nil when a sample is empty.
public func mannWhitneyP(_ a: [Double], _ b: [Double]) -> Double? {
    let m = a.count, n = b.count
    guard m > 0, n > 0 else { return nil }
    // Midranks of the pooled sample.
    let pooled = (a.map { ($0, 0) } + b.map { ($0, 1) }).sorted { $0.0 < $1.0 }
    var ranks = [Double](repeating: 0, count: pooled.count)
    var tieTerm = 0.0
    var i = 0
    while i < pooled.count {
        var j = i
        while j + 1 < pooled.count && pooled[j + 1].0 == pooled[i].0 { j += 1 }
        let midrank = Double(i + j + 2) / 2
        for k in i...j { ranks[k] = midrank }
        let t = Double(j - i + 1)
        tieTerm += t * t * t - t
        i = j + 1
    }
    let rankSumA = zip(pooled, ranks).filter { $0.0.1 == 0 }.reduce(0) { $0 + $1.1 }
    let u = rankSumA - Double(m * (m + 1)) / 2
    if tieTerm == 0 && m <= 30 && n <= 30 {
        let counts = mannWhitneyCounts(m, n)
        let total = counts.reduce(0, +)
        let k = Int(u.rounded())
        let lower = counts[0...k].reduce(0, +) / total
        let upper = counts[k...].reduce(0, +) / total
        return min(1, 2 * min(lower, upper))
    }
    let mean = Double(m * n) / 2
    let nn = Double(m + n)
    let variance = Double(m * n) / 12 * ((nn + 1) - tieTerm / (nn * (nn - 1)))
    guard variance > 0 else { return 1 }
    let z = (abs(u - mean) - 0.5) / variance.squareRoot()  // continuity correction
    return min(1, erfc(max(z, 0) / 2.0.squareRoot()))
}

/// How many arrangements of m and n values give each U from 0 to m*n (as Doubles: they get large).
func mannWhitneyCounts(_ m: Int, _ n: Int) -> [Double] {
    // f[i][j] is the distribution for samples of i and j; f(i, j, u) = f(i-1, j, u-j) + f(i, j-1, u).
    var previousRow = [[Double]](repeating: [1], count: n + 1)  // i = 0: only U = 0
    for i in 1...m {
        var row: [[Double]] = [[1]]  // j = 0: only U = 0
        for j in 1...n {
            var dist = [Double](repeating: 0, count: i * j + 1)
            for (u, c) in previousRow[j].enumerated() where u + j < dist.count { dist[u + j] += c }
            for (u, c) in row[j - 1].enumerated() { dist[u] += c }
            row.append(dist)
        }
        previousRow = row
    }
    return previousRow[n]
}

/// Two-sided Welch t-test from summary figures (mean, sample standard deviation, count).
public func welchP(mean1: Double, sd1: Double, n1: Int, mean2: Double, sd2: Double, n2: Int) -> Double? {
    guard n1 > 1, n2 > 1 else { return nil }
    let v1 = sd1 * sd1 / Double(n1), v2 = sd2 * sd2 / Double(n2)
    guard v1 + v2 > 0 else { return mean1 == mean2 ? 1 : 0 }
    let t = abs(mean1 - mean2) / (v1 + v2).squareRoot()
    let df = (v1 + v2) * (v1 + v2) / (v1 * v1 / Double(n1 - 1) + v2 * v2 / Double(n2 - 1))
    // P(|T| > t) for Student's t with df degrees of freedom = I_{df/(df+t²)}(df/2, 1/2).
    return regularizedIncompleteBeta(df / 2, 0.5, df / (df + t * t))
}

/// I_x(a, b) by its continued fraction (modified Lentz), using the symmetry for fast convergence.
func regularizedIncompleteBeta(_ a: Double, _ b: Double, _ x: Double) -> Double {
    if x <= 0 { return 0 }
    if x >= 1 { return 1 }
    let front = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log(1 - x))
    if x > (a + 1) / (a + b + 2) { return 1 - regularizedIncompleteBeta(b, a, 1 - x) }
    let tiny = 1e-300
    var c = 1.0, d = 1 - (a + b) * x / (a + 1)
    if abs(d) < tiny { d = tiny }
    d = 1 / d
    var result = d
    for step in 1...300 {
        let m = Double(step)
        let even = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
        d = 1 + even * d; if abs(d) < tiny { d = tiny }
        c = 1 + even / c; if abs(c) < tiny { c = tiny }
        d = 1 / d
        result *= d * c
        let odd = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
        d = 1 + odd * d; if abs(d) < tiny { d = tiny }
        c = 1 + odd / c; if abs(c) < tiny { c = tiny }
        d = 1 / d
        let delta = d * c
        result *= delta
        if abs(delta - 1) < 1e-12 { break }
    }
    return front * result / a
}
