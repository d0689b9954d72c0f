import XCTest
@testable import IPCPlatform
@testable import IPCModel
@testable import IPCRun
@testable import IPCAnalysis
@testable import IPCLab

/// A driver that returns known results: kernels from `firstBad` on are `change`% off the good one,
/// the others unchanged; each measurement's interval narrows with the boots (half-width `spread`
/// over √boots); `dead` kernels do not boot. Every call is recorded.
struct KnownDriver: BisectDriver {
    var firstBad: Int
    var change = -30.0
    var spread = 4.0
    var dead: Set<Int> = []
    var calls: [(index: Int, boots: Int)] = []

    mutating func measure(_ index: Int, boots: Int) throws -> BisectMeasurement? {
        calls.append((index, boots))
        if dead.contains(index) { return nil }
        let percent = index >= firstBad ? change : 0.5
        let half = spread / Double(boots).squareRoot()
        let q = abs(percent) > half ? 0.001 : 0.6
        return BisectMeasurement(percent: percent, low: percent - half, high: percent + half, q: q)
    }
}

final class BisectTests: XCTestCase {
    func testDecisions() {
        func decide(_ p: Double, _ low: Double?, _ high: Double?, _ q: Double?, higherIsBetter: Bool = true) -> BisectDecision {
            bisectDecision(BisectMeasurement(percent: p, low: low, high: high, q: q), thresholdPct: 10, higherIsBetter: higherIsBetter)
        }
        XCTAssertEqual(decide(-20, -25, -15, 0.001), .bad)
        // Past the threshold but not significant: more boots, not a verdict.
        XCTAssertEqual(decide(-20, -45, 5, 0.2), .undecided)
        // Significant but within the threshold, with an interval that reaches past it.
        XCTAssertEqual(decide(-8, -12, -4, 0.01), .undecided)
        XCTAssertEqual(decide(-5, -8, -2, 0.01), .good)
        XCTAssertEqual(decide(0.5, -9.9, 9.9, 0.9), .good)
        // Better is not bad: 20% more throughput, its interval past the threshold, is undecided.
        XCTAssertEqual(decide(20, 15, 25, 0.001), .undecided)
        // For a lower-is-better metric (latency) the bad direction is up.
        XCTAssertEqual(decide(20, 15, 25, 0.001, higherIsBetter: false), .bad)
        XCTAssertEqual(decide(-20, -25, -15, 0.001, higherIsBetter: false), .undecided)
        // No interval (one boot a side): never good; no q: never bad.
        XCTAssertEqual(decide(0, nil, nil, nil), .undecided)
        XCTAssertEqual(decide(-50, nil, nil, nil), .undecided)
    }

    func testTheSearchNamesTheFirstBadKernel() throws {
        for firstBad in 1..<16 {
            var driver = KnownDriver(firstBad: firstBad)
            let outcome = try runBisect(count: 16, driver: &driver, thresholdPct: 10, boots: 2, maxBoots: 6)
            XCTAssertEqual(outcome.firstBad, firstBad)
            XCTAssertEqual(outcome.lastGood, firstBad - 1)
            XCTAssertEqual(outcome.unsure, [])
            // A binary search: at most ⌈log2 14⌉ = 4 kernels measured, each once, none at the ends.
            XCTAssertLessThanOrEqual(Set(driver.calls.map(\.index)).count, 4)
            XCTAssertTrue(driver.calls.allSatisfy { $0.index > 0 && $0.index < 15 })
            XCTAssertEqual(outcome.steps.map(\.index), driver.calls.map(\.index))
        }
    }

    func testBootsAreAddedWhileUndecided() throws {
        // With 2 boots a side the interval (±7.1%) reaches past the threshold; with 4 (±5%) it does not.
        var driver = KnownDriver(firstBad: 3, spread: 10)
        let outcome = try runBisect(count: 4, driver: &driver, thresholdPct: 6, boots: 2, maxBoots: 8)
        XCTAssertEqual(outcome.firstBad, 3)
        let first = outcome.steps.filter { $0.index == outcome.steps[0].index }
        XCTAssertEqual(first.map(\.boots), [2, 4])
        XCTAssertEqual(first.map(\.decision), [.undecided, .good])
    }

    func testAKernelUndecidedAtMaxBootsIsSkipped() throws {
        var driver = KnownDriver(firstBad: 2, spread: 100)
        let outcome = try runBisect(count: 4, driver: &driver, thresholdPct: 10, boots: 2, maxBoots: 6)
        // Nothing can be decided: every kernel between is tried up to 6 boots and skipped.
        XCTAssertEqual(driver.calls.map(\.boots), [2, 4, 6, 2, 4, 6])
        XCTAssertEqual(outcome.lastGood, 0)
        XCTAssertEqual(outcome.firstBad, 3)
        XCTAssertEqual(outcome.unsure, [1, 2])
    }

    func testAKernelThatDoesNotBootIsSkipped() throws {
        var driver = KnownDriver(firstBad: 5, dead: [4])
        let outcome = try runBisect(count: 9, driver: &driver, thresholdPct: 10, boots: 2, maxBoots: 6)
        XCTAssertEqual(outcome.firstBad, 5)
        XCTAssertEqual(outcome.lastGood, 3)
        XCTAssertEqual(outcome.unsure, [4])
        XCTAssertEqual(outcome.steps.first { $0.index == 4 }?.decision, .skipped)
        XCTAssertEqual(driver.calls.filter { $0.index == 4 }.count, 1)
        // Where the skipped one is the last good's neighbour and the bad one's, the answer says both.
        var other = KnownDriver(firstBad: 4, dead: [4])
        let open = try runBisect(count: 9, driver: &other, thresholdPct: 10, boots: 2, maxBoots: 6)
        XCTAssertEqual(open.lastGood, 3)
        XCTAssertEqual(open.firstBad, 5)
        XCTAssertEqual(open.unsure, [4])
    }

    func testTheList() throws {
        let kernels = try parseBisectList("""
            # good first, bad last
            6.1.0-10-amd64
            /boot/vmlinuz-6.1.0-10-amd64   maxcpus=1  quiet

            6.1.0-12-amd64\tmitigations=off
            """, path: "list")
        XCTAssertEqual(kernels, [BisectKernel(kernel: "6.1.0-10-amd64", append: ""),
                                 BisectKernel(kernel: "/boot/vmlinuz-6.1.0-10-amd64", append: "maxcpus=1  quiet"),
                                 BisectKernel(kernel: "6.1.0-12-amd64", append: "mitigations=off")])
        XCTAssertThrowsError(try parseBisectList("# nothing\n6.1.0\n", path: "list")) { error in
            XCTAssertEqual((error as? InputError)?.message, "list: 1 kernel; a bisect list needs a good kernel first and a bad one last, one a line")
        }
        XCTAssertThrowsError(try parseBisectList("a\nb\u{1B}[2J\n", path: "list")) { error in
            XCTAssertTrue((error as? InputError)?.message.hasPrefix("list: line 2 has a control character") == true)
        }
    }
}
