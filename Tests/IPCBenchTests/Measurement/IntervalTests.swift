import XCTest
@testable import IPCPlatform
@testable import IPCModel
@testable import IPCRun
@testable import IPCAnalysis
@testable import IPCLab

/// The interval functions against reference values (scipy.stats, R's wilcox.test with conf.int).
final class IntervalTests: XCTestCase {
    func testStudentTQuantile() {
        XCTAssertEqual(studentTQuantile(0.975, degreesOfFreedom: 1), 12.706204736174694, accuracy: 1e-8)
        XCTAssertEqual(studentTQuantile(0.975, degreesOfFreedom: 4), 2.7764451051977934, accuracy: 1e-9)
        XCTAssertEqual(studentTQuantile(0.975, degreesOfFreedom: 4.5), 2.6589123472044034, accuracy: 1e-9)
        XCTAssertEqual(studentTQuantile(0.025, degreesOfFreedom: 4), -2.7764451051977934, accuracy: 1e-9)
        XCTAssertEqual(studentTQuantile(0.5, degreesOfFreedom: 3), 0)
        XCTAssertEqual(studentTQuantile(0.975, degreesOfFreedom: 1e7), 1.959963984540054, accuracy: 1e-5)
        XCTAssertEqual(normalQuantile(0.975), 1.959963984540054, accuracy: 1e-9)
        XCTAssertTrue(studentTQuantile(1, degreesOfFreedom: 3).isNaN)
    }

    func testWelchTest() throws {
        let test = try XCTUnwrap(welchTest([1, 2, 3], [4, 5, 6, 7], alpha: 0.05))
        XCTAssertEqual(test.interval.low, 1.2682885186612123, accuracy: 1e-8)
        XCTAssertEqual(test.interval.high, 5.731711481338788, accuracy: 1e-8)
        XCTAssertEqual(test.pValue, 0.01007694334798886, accuracy: 1e-9)  // scipy.stats.ttest_ind(equal_var=False)
        // One value on a side: the other side's variance for both, df = 2.
        let single = try XCTUnwrap(welchTest([0], [1, 2, 3], alpha: 0.05)).interval
        let half = 4.302652729911275 * (1.0 * (1 + 1.0 / 3)).squareRoot()
        XCTAssertEqual(single.low, 2 - half, accuracy: 1e-8)
        XCTAssertEqual(single.high, 2 + half, accuracy: 1e-8)
        XCTAssertNil(welchTest([1], [2], alpha: 0.05))
        // A tie is no evidence of a change: no zero-width interval that excludes 0.
        XCTAssertNil(welchTest([1, 1], [2, 2], alpha: 0.05))
    }

    func testShiftInterval() throws {
        // m = n = 5: k = 3 (coverage 1 - 2·4/252 = 0.968), so [D(3), D(23)] of the 25 differences 1...9.
        let exact = try XCTUnwrap(shiftInterval([1, 2, 3, 4, 5], [6, 7, 8, 9, 10], alpha: 0.05))
        XCTAssertEqual(exact, LogInterval(low: 2, high: 8))
        XCTAssertTrue(exact.excludesZero)
        // Too few trials for 95%: 2 against 2 cannot reach it, so the interval is unbounded.
        let tiny = try XCTUnwrap(shiftInterval([1, 2], [3, 4], alpha: 0.05))
        XCTAssertFalse(tiny.isBounded)
        XCTAssertFalse(tiny.excludesZero)
        XCTAssertNil(shiftInterval([], [1], alpha: 0.05))
        // Ties: the normal approximation, k = round(mn/2 - 1.96·sd).
        let tied = try XCTUnwrap(shiftInterval([1, 2, 2, 3, 4, 5, 6, 7, 8, 9], [2, 3, 4, 5, 6, 7, 8, 9, 10, 11], alpha: 0.05))
        XCTAssertLessThan(tied.low, 0)
        XCTAssertGreaterThan(tied.high, 0)
    }

    func testShiftIntervalKMatchesTables() {
        // The critical values of the two-sided 5% Mann-Whitney test (U <= c rejects): n = 5 → 2, 8 → 13, 10 → 23.
        for (n, critical) in [(5, 2), (8, 13), (10, 23)] {
            let x = (0..<n).map { Double($0) }
            let y = (0..<n).map { Double($0) + 0.5 }
            let i = shiftInterval(x, y, alpha: 0.05)!
            var differences: [Double] = []
            for a in x { for b in y { differences.append(b - a) } }
            differences.sort()
            XCTAssertEqual(i.low, differences[critical], "n = \(n)")
            XCTAssertEqual(i.high, differences[n * n - 1 - critical], "n = \(n)")
        }
    }

    func testPlainDecimalNeverTraps() {
        XCTAssertEqual(formatDecimal(1e19, places: 2), "10000000000000000000.00")
        XCTAssertEqual(formatDecimal(-1e16, places: 0), "-10000000000000000")
        XCTAssertEqual(formatDecimal(1.5, places: 1), "1.5")
        XCTAssertEqual(formatDecimal(.infinity, places: 1), "")
        XCTAssertFalse(formatDecimal(1e300, places: 3).contains("e"))
    }
}

/// The large-sample path (more than a million pairs) gives the same ends as listing the differences.
final class LargeShiftIntervalTests: XCTestCase {
    func testOrderedDifferenceMatchesTheList() {
        var random = SeededGenerator(seed: 42)
        let x = (0..<300).map { _ in random.unit() }
        let y = (0..<200).map { _ in random.unit() + 0.1 }
        var differences: [Double] = []
        for a in x { for b in y { differences.append(b - a) } }
        differences.sort()
        for r in [1, 17, 30000, 59999, 60000] {
            XCTAssertEqual(orderedDifference(r, x.sorted(), y.sorted()), differences[r - 1], accuracy: 1e-9, "r = \(r)")
        }
        let big = (0..<1200).map { _ in random.unit() }
        let bigger = (0..<1000).map { _ in random.unit() + 0.2 }
        let i = shiftInterval(big, bigger, alpha: 0.05)!
        XCTAssertLessThan(i.low, 0.2)
        XCTAssertGreaterThan(i.high, 0.2)
        XCTAssertLessThan(i.high - i.low, 0.1)
    }
}
