import XCTest
@testable import IPCPlatform
@testable import IPCModel
@testable import IPCRun
@testable import IPCAnalysis
@testable import IPCLab

/// The intervals on synthetic trials with known truth: value = truth × exp(run effect + trial noise).
/// Seeded, so every run of the test sees the same numbers.
final class CompareSimulationTests: XCTestCase {
    let alpha = 0.05
    let trialSD = 0.02
    let trials = 10

    /// The log medians of `runs` runs of `trials` trials each.
    func runLogMedians(_ g: inout Normals, runs: Int, runSD: Double, truth: Double) -> [Double] {
        (0..<runs).map { _ in
            let runEffect = runSD * g.next()
            return log(median((0..<trials).map { _ in truth * exp(runEffect + trialSD * g.next()) }))
        }
    }

    /// One run a side, trials independent (what interleaved rounds give): the shift interval is
    /// exact, so its false-alarm rate is its attained level 2·P(U <= k-1), just under alpha.
    func testOneRunPerSideAAFalseAlarmsMatchTheExactLevel() {
        var g = Normals(seed: 20261124)
        let n = 2000
        var alarms = 0
        for _ in 0..<n {
            let x = (0..<trials).map { _ in log(100 * exp(trialSD * g.next())) }
            let y = (0..<trials).map { _ in log(100 * exp(trialSD * g.next())) }
            if shiftInterval(x, y, alpha: alpha)!.excludesZero { alarms += 1 }
        }
        let counts = mannWhitneyCounts(trials, trials)
        let total = counts.reduce(0, +)
        let attained = 2 * counts[0...23].reduce(0, +) / total  // 10 against 10: U <= 23 rejects, k = 24
        XCTAssertEqual(attained, 0.0433, accuracy: 0.0005)
        let rate = Double(alarms) / Double(n)
        print("one run a side, A/A: \(alarms) of \(n) false alarms (rate \(rate), attained level \(attained))")
        XCTAssertLessThanOrEqual(rate, alpha + binomialTolerance(alpha, n))
        XCTAssertEqual(rate, attained, accuracy: binomialTolerance(attained, n))
    }

    /// Three runs a side with a run effect of sd 5%: Welch over the runs' log medians holds its level.
    func testThreeRunsPerSideAAFalseAlarms() {
        var g = Normals(seed: 7)
        let n = 2000
        var alarms = 0
        for _ in 0..<n {
            let a = runLogMedians(&g, runs: 3, runSD: 0.05, truth: 100)
            let b = runLogMedians(&g, runs: 3, runSD: 0.05, truth: 100)
            if welchTest(a, b, alpha: alpha)!.interval.excludesZero { alarms += 1 }
        }
        let rate = Double(alarms) / Double(n)
        print("three runs a side, run sd 5%, A/A: \(alarms) of \(n) false alarms (rate \(rate))")
        XCTAssertLessThanOrEqual(rate, alpha + binomialTolerance(alpha, n))
        // Welch with 3 + 3 runs is a little conservative (its df are estimated), not absurdly so.
        XCTAssertGreaterThanOrEqual(rate, 0.02)
    }

    /// The same, but where trials are pooled as if independent (the old method): drift between runs
    /// shows as an effect. This is what the run as the unit prevents.
    func testTrialsAsTheUnitRaiseFalseAlarmsUnderRunEffects() {
        var g = Normals(seed: 11)
        let n = 500
        var alarms = 0
        for _ in 0..<n {
            let a = (0..<trials).map { _ in 0.05 * g.next() }
            let b = (0..<trials).map { _ in 0.05 * g.next() }
            let x = (0..<trials).map { _ in a[0] + trialSD * g.next() }
            let y = (0..<trials).map { _ in b[0] + trialSD * g.next() }
            if shiftInterval(x, y, alpha: alpha)!.excludesZero { alarms += 1 }
        }
        XCTAssertGreaterThan(Double(alarms) / Double(n), 0.3)
    }

    /// A true 20% throughput gain with three runs a side and a run effect of sd 5% is found at
    /// least 80% of the time, and the interval covers the truth.
    func testThreeRunsPerSideFindATwentyPercentChange() {
        var g = Normals(seed: 3)
        let n = 1000
        var found = 0, covered = 0
        for _ in 0..<n {
            let a = runLogMedians(&g, runs: 3, runSD: 0.05, truth: 100)
            let b = runLogMedians(&g, runs: 3, runSD: 0.05, truth: 120)
            let i = welchTest(a, b, alpha: alpha)!.interval
            if i.low > 0 { found += 1 }
            if i.low <= log(1.2) && log(1.2) <= i.high { covered += 1 }
        }
        let power = Double(found) / Double(n), coverage = Double(covered) / Double(n)
        print("three runs a side, run sd 5%, true +20%: found \(found) of \(n) (power \(power)), interval covered the truth \(covered) times")
        XCTAssertGreaterThanOrEqual(power, 0.8)
        XCTAssertGreaterThanOrEqual(coverage, 1 - alpha - binomialTolerance(alpha, n))
    }
}
