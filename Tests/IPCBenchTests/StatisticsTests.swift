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

    func testClockOverheadIsMeasured() {
        let ns = measureClockOverhead(samples: 1001)
        XCTAssertGreaterThan(ns, 0)
    }
}
