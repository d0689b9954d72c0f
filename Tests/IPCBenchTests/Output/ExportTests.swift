import Foundation
import XCTest
@testable import IPCPlatform
@testable import IPCModel
@testable import IPCRun
@testable import IPCAnalysis
@testable import IPCLab

/// The exporters' pieces that the end-to-end tests (ExportFormatTests) reach only in part: JSON's
/// text, names made safe for KTAP, BMF and LAVA, and several new sides.
final class ExportTests: XCTestCase {
    func testJSONTextIsLosslessAndEscaped() throws {
        let values = [0.1, 1e-300, 123456.789012345, -2.5e16, Double.leastNonzeroMagnitude, Double.greatestFiniteMagnitude]
        let text = JSON.array(values.map(JSON.number)).text()
        let back = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [Double])
        XCTAssertEqual(back, values)
        XCTAssertEqual(JSON.number(.nan).text(), "null")
        XCTAssertEqual(JSON.quoted("a\"b\\c\nd\u{1B}e\u{85}f\u{2028}g é"), #""a\"b\\c\nd\u001be\u0085f\u2028g é""#)
        let object = JSON.object([("b", .integer(1)), ("a", .nullable(nil as String?)), ("c", .nullable(""))]).text()
        XCTAssertEqual(object, "{\n  \"b\": 1,\n  \"a\": null,\n  \"c\": null\n}")  // keys in the order given, empty as null
    }

    func testNamesAreMadeSafeForEachFormat() {
        XCTAssertEqual(KTAPExporter.testName("- pipe #1 \\ é\u{1B}\n  ok"), "pipe _1 _ ___ ok")
        XCTAssertEqual(KTAPExporter.testName("##"), "__")
        XCTAssertEqual(KTAPExporter.testName(" - "), "case")
        XCTAssertEqual(KTAPExporter.diagnostic("a\nnot ok 1 b\u{2028}"), "# a\\nnot ok 1 b\\u{2028}\n")
        XCTAssertEqual(LAVAExporter.word("pipe latency 64 $(rm -rf) 'x'", keeping: "._-"), "pipe_latency_64___rm_-rf___x_")
        XCTAssertEqual(LAVAExporter.word("us per message", keeping: "._-/%"), "us_per_message")
        XCTAssertEqual(BMFExporter.benchmarkName(String(repeating: "x", count: 2000)).count, 1024)
        XCTAssertEqual(BMFExporter.benchmarkName("a\nb"), "a\\nb")
        XCTAssertEqual(Metric.cpuPerMessage.slug, "cpu-us-per-msg")
        XCTAssertEqual(LAVAExporter.places(0.00012345), 6)
        XCTAssertEqual(LAVAExporter.places(-12.5), 3)
    }

    func testSeveralNewSidesNameTheirSide() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ipcbench-export-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let sides = try [("a", CompareOutputTests.baseCases), ("b", CompareOutputTests.newCases), ("c", CompareOutputTests.newCases)].map {
            Side(files: [try ResultFile.load(FixtureRun(runID: "r" + $0.0, kernel: "6.1", cases: $0.1).write(folder, $0.0))])
        }
        let report = compareResults(sides, ignoring: [], alpha: 0.05)
        let bmf = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(renderComparison(report, format: .bmf).utf8)) as? [String: Any])
        XCTAssertEqual(Set(bmf.keys), ["new1 pipe throughput 4096 split", "new2 pipe throughput 4096 split", "new1 pipe latency 64 split",
                                       "new2 pipe latency 64 split", "new1 geomean", "new2 geomean"])
        let ktap = renderComparison(report, format: .ktap)
        XCTAssertTrue(ktap.contains("\nok 1 new1 pipe throughput 4096 split MiB/s\n"), ktap)
        XCTAssertTrue(ktap.contains("1..12\n"), ktap)  // 3 rows of cases and 3 geomeans a new side
        // One run a side: a within-run interval, never a verdict, and so nothing for the gate to fail.
        XCTAssertFalse(renderComparison(report, format: .lava, gate: 0).contains("--result fail"))
    }
}
