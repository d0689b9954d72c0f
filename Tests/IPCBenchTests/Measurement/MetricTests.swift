import Histogram
import XCTest
@testable import IPCPlatform
@testable import IPCModel
@testable import IPCRun
@testable import IPCAnalysis
@testable import IPCLab

/// The metric definitions every reader shares: their columns exist in the files' column order, in
/// the version that first carries them; their direction follows their unit; a trial's value is
/// taken as each source says.
final class MetricTests: XCTestCase {
    func testEveryMetricHasItsColumnsOnceInTheVersionThatIntroducedIt() {
        XCTAssertEqual(Set(Metric.all.map(\.name)).count, Metric.all.count, "two metrics share a name")
        XCTAssertEqual(Set(Metric.all.map(\.trialColumn)).count, Metric.all.count, "two metrics share a trial column")
        for m in Metric.all {
            XCTAssertEqual(trialColumns.filter { $0 == m.trialColumn }.count, 1, "\(m.name): trial column \(m.trialColumn)")
            XCTAssertTrue(caseColumns.contains(m.caseColumn), "\(m.name): case column \(m.caseColumn)")
            for (column, _) in m.summaryColumns {
                XCTAssertTrue(caseColumns.contains(column), "\(m.name): summary column \(column)")
            }
            let introduced = trialFileColumns(version: m.version).map(\.name), before = trialFileColumns(version: m.version - 1).map(\.name)
            XCTAssertTrue(introduced.contains(m.trialColumn) && !before.contains(m.trialColumn),
                          "\(m.name) is of 0.\(m.version).0, but its trial column is not first there")
        }
    }

    func testDirectionFollowsTheUnit() {
        for m in Metric.all {
            // Lower is better for a time and for the share of sends that went late.
            let time = m.unit.hasPrefix("us") || m.unit == "share of sends"
            XCTAssertEqual(m.higherIsBetter, !time, "\(m.name) in \(m.unit)")
        }
    }

    func testEveryPatternListsItsMainMetricFirstAndTheSharedOnesLast() {
        for p in PatternKind.allCases {
            let metrics = p.metrics
            XCTAssertEqual(Array(metrics.suffix(Metric.everyPattern.count)), Metric.everyPattern, p.rawValue)
            XCTAssertGreaterThan(metrics.count, Metric.everyPattern.count, "\(p.rawValue) has no metric of its own")
            XCTAssertEqual(Set(metrics).count, metrics.count, "\(p.rawValue) lists a metric twice")
            XCTAssertEqual(Metric.of(pattern: p.rawValue), metrics)
            XCTAssertEqual(metricTable().first { $0[0] == p.rawValue }?[2], metrics[0].name)
        }
        XCTAssertEqual(Metric.of(pattern: "no-such-pattern"), [])
    }

    func testATrialsValueComesFromItsSource() throws {
        var figures = TrialFigures()
        figures.messages = 1000
        figures.values[.throughput] = 123.5
        XCTAssertEqual(Metric.throughput.value(figures, [], roundTrips: nil), 123.5)
        XCTAssertNil(Metric.forward.value(figures, [], roundTrips: nil), "a figure the pattern did not set")

        // Two workers' user and system time: 3,000 us over 1,000 messages.
        var a = WorkerReport(), b = WorkerReport()
        a.usage.userMicroseconds = 1000
        a.usage.systemMicroseconds = 500
        b.usage.userMicroseconds = 1000
        b.usage.systemMicroseconds = 500
        XCTAssertEqual(Metric.cpuPerMessage.value(figures, [a, b], roundTrips: nil), 3)
        figures.messages = 0
        XCTAssertNil(Metric.cpuPerMessage.value(figures, [a, b], roundTrips: nil), "no messages, no time per message")

        // Round trips of 1 to 100 us: p50 is 50 us and p99 is 99 us, to the histogram's 3 digits.
        var h = makeRoundTripHistogram()
        for us in 1...100 { _ = h.record(UInt64(us) * 1000) }
        XCTAssertEqual(try XCTUnwrap(Metric.rttP50.value(figures, [], roundTrips: h)), 50, accuracy: 0.05)
        XCTAssertEqual(try XCTUnwrap(Metric.rttP99.value(figures, [], roundTrips: h)), 99, accuracy: 0.1)
        XCTAssertNil(Metric.rttP50.value(figures, [], roundTrips: makeRoundTripHistogram()), "no round trips")
    }
}
