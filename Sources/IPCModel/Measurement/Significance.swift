import Glibc
import IPCPlatform

/// How many arrangements of m and n values give each Mann-Whitney U from 0 to m*n (as Doubles: they
/// get large). The exact null distribution of U when there are no ties.
package func mannWhitneyCounts(_ m: Int, _ n: Int) -> [Double] {
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

/// I_x(a, b) by its continued fraction (modified Lentz), using the symmetry for fast convergence.
package func regularizedIncompleteBeta(_ a: Double, _ b: Double, _ x: Double) -> Double {
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
