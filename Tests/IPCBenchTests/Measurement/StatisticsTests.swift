import XCTest
@testable import IPCPlatform
@testable import IPCModel
@testable import IPCRun
@testable import IPCAnalysis
@testable import IPCLab

final class StatisticsTests: XCTestCase {
    func testSummary() throws {
        let s = try XCTUnwrap(Summary([5, 1, 4, 2, 3]))
        XCTAssertEqual(s.median, 3)
        XCTAssertEqual(s.mean, 3)
        XCTAssertEqual(s.standardDeviation, (2.5).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(s.min, 1)
        XCTAssertEqual(s.max, 5)
        XCTAssertEqual(try XCTUnwrap(Summary([1, 2, 3, 10])).median, 2.5)
        XCTAssertNil(Summary([]))
    }

    func testMedianIntervalRanks() {
        // Too few trials for 95%: the interval is the range.
        XCTAssertTrue(Summary.medianIntervalRanks(5) == (0, 4))
        XCTAssertTrue(Summary.medianIntervalRanks(6) == (0, 5))
        // Known values from binomial tables: n = 10 → 2nd and 9th, n = 20 → 6th and 15th (1-based).
        XCTAssertTrue(Summary.medianIntervalRanks(10) == (1, 8))
        XCTAssertTrue(Summary.medianIntervalRanks(20) == (5, 14))
        XCTAssertTrue(Summary.medianIntervalRanks(1) == (0, 0))
    }

    /// The exact null distribution of U: C(10, 5) = 252 arrangements for 5 and 5, symmetric, with
    /// P(U <= 2) = 4/252 (the two-sided 5% critical value is U <= 2).
    func testMannWhitneyCounts() {
        let counts = mannWhitneyCounts(5, 5)
        XCTAssertEqual(counts.count, 26)
        XCTAssertEqual(counts.reduce(0, +), 252)
        XCTAssertEqual(Array(counts[0...3]), [1, 1, 2, 3])
        XCTAssertEqual(counts, counts.reversed())
        XCTAssertEqual(mannWhitneyCounts(1, 3), [1, 1, 1, 1])
    }

    /// I_x(a, b) against scipy.special.betainc.
    func testRegularizedIncompleteBeta() {
        XCTAssertEqual(regularizedIncompleteBeta(2, 0.5, 0.3), 0.03784096948581308, accuracy: 1e-9)
        XCTAssertEqual(regularizedIncompleteBeta(5, 0.5, 0.9), 0.3166429150200122, accuracy: 1e-9)
        XCTAssertEqual(regularizedIncompleteBeta(1, 1, 0.25), 0.25, accuracy: 1e-12)
    }

    func testClockOverheadIsMeasured() {
        let ns = measureClockOverhead(samples: 1001)
        XCTAssertGreaterThan(ns, 0)
    }
}
