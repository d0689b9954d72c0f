import XCTest
@testable import IPCBench

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

    /// Reference values from scipy.stats (mannwhitneyu, ttest_ind_from_stats with equal_var=False).
    func testMannWhitneyAgainstReference() throws {
        XCTAssertEqual(try XCTUnwrap(mannWhitneyP([1, 2, 3, 4, 5], [6, 7, 8, 9, 10])), 0.007936507936507936, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(mannWhitneyP([1, 3, 5, 7, 9], [2, 4, 6, 8, 10])), 0.6904761904761905, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(mannWhitneyP([1, 2, 3, 4, 5, 6, 7], [3.5, 8, 9, 10, 11])), 0.030303030303030304, accuracy: 1e-12)
        // Ties: normal approximation with tie and continuity corrections.
        XCTAssertEqual(try XCTUnwrap(mannWhitneyP([1, 2, 2, 3, 4], [2, 5, 6, 6, 7])), 0.05623780387727592, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(mannWhitneyP([1, 1, 1], [1, 1, 1])), 1)
        XCTAssertNil(mannWhitneyP([], [1]))
    }

    func testWelchAgainstReference() throws {
        XCTAssertEqual(try XCTUnwrap(welchP(mean1: 0, sd1: 1, n1: 10, mean2: 1, sd2: 1, n2: 10)), 0.03824961451611385, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(welchP(mean1: 100, sd1: 5, n1: 5, mean2: 90, sd2: 20, n2: 8)), 0.21306741636317833, accuracy: 1e-9)
        XCTAssertNil(welchP(mean1: 1, sd1: 1, n1: 1, mean2: 1, sd2: 1, n2: 5))
    }

    func testClockOverheadIsMeasured() {
        let ns = measureClockOverhead(samples: 1001)
        XCTAssertGreaterThan(ns, 0)
    }
}
