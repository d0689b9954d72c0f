import Foundation
import XCTest
import IPCPlatform
import IPCModel
import IPCRun
import IPCAnalysis
import IPCLab

/// scripts/report.py on real runs, opened in a real headless browser (Chromium).
final class ReportTests: XCTestCase {
    var h: Harness!

    override func setUpWithError() throws { h = try Harness() }
    override func tearDownWithError() throws { try h.finishChecks() }

    func testTheReportRendersInABrowser() throws {
        var runs: [String] = []
        for i in 1...4 {
            let path = h.work.appendingPathComponent("r\(i).csv").path
            let run = try h.run(["run", "-q", "-t", "pipe,unix-stream", "-p", "latency,throughput", "-s", "64,4KiB", "-r", "5",
                                 "--count", "1000", "--total", "1MiB", "--min-trial-time", "0s", "-o", path])
            XCTAssertEqual(run.status, 0, run.stderr)
            runs.append(path)
        }
        // Runs 1 and 3 against 2 and 4: A B A B.
        let sides = [runs[0] + "," + runs[2], runs[1] + "," + runs[3]]
        let page = h.work.appendingPathComponent("report.html").path
        let report = try h.script("report.py", sides + ["-o", page])
        XCTAssertEqual(report.status, 0, report.stderr)
        let again = try h.script("report.py", sides + ["-o", page])
        XCTAssertEqual(again.status, 2, "never overwrites: \(again.stderr)")

        let compared = parseCSV(try h.run(["compare"] + sides + ["--format", "csv"]).stdout).filter { $0.first == "case" }.count
        XCTAssertEqual(compared, 20, "8 cases: their own metrics and CPU us/msg each")

        let browser = try h.finish(h.start(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000",
                                             "--enable-logging=stderr", "--v=0", "--dump-dom", "file://" + page], executable: "/usr/bin/env"))
        XCTAssertEqual(browser.status, 0, browser.stderr)
        let body = try XCTUnwrap(browser.stdout.range(of: "<body[^>]*>", options: .regularExpression).map { String(browser.stdout[$0]) })
        // Every image decoded (natural width > 0), no script error, no console message.
        let images = try XCTUnwrap(body.range(of: "data-images=\"[0-9]+\"", options: .regularExpression).map { String(body[$0]) })
        XCTAssertEqual(images.replacingOccurrences(of: "images", with: "loaded"), body.range(of: "data-loaded=\"[0-9]+\"", options: .regularExpression).map { String(body[$0]) })
        XCTAssertNotEqual(images, "data-images=\"0\"")
        XCTAssertTrue(body.contains("data-errors=\"0\""), body)
        XCTAssertFalse(browser.stderr.contains("CONSOLE"), browser.stderr)
        // A table row per compared case.
        XCTAssertEqual(browser.stdout.components(separatedBy: "<tr class=\"case ").count - 1, compared)
    }

    /// Two runs of a rate sweep (`--rate 2000,4000`): the changes table has each rate's cases apart,
    /// and the latency-under-load table a row per side and rate with that case's own figures.
    func testTheReportKeepsEachRateApart() throws {
        var runs: [String] = []
        for i in 1...2 {
            let path = h.work.appendingPathComponent("rate\(i).csv").path
            let run = try h.run(["run", "-q", "-t", "pipe", "-p", "latency", "-s", "64", "--rate", "2000,4000", "-r", "2", "--warmup", "0",
                                 "--count", "400", "--min-trial-time", "0s", "-o", path])
            XCTAssertEqual(run.status, 0, run.stderr)
            runs.append(path)
        }
        let page = h.work.appendingPathComponent("rates.html").path
        let report = try h.script("report.py", runs + ["-o", page])
        XCTAssertEqual(report.status, 0, report.stderr)
        let html = try String(contentsOfFile: page, encoding: .utf8)
        XCTAssertTrue(html.contains("<figcaption>rate1-vs-rate2-latency-load.png</figcaption>"), "the load plot is on the page")

        let compared = parseCSV(try h.run(["compare"] + runs + ["--format", "csv"]).stdout).filter { $0.first == "case" }
        XCTAssertEqual(html.components(separatedBy: "<tr class=\"case ").count - 1, compared.count)
        for rate in ["2000", "4000"] {
            XCTAssertTrue(html.contains("<td class=\"name\">pipe latency 64 split rate \(rate)</td>"), "rate \(rate) has rows of its own")
        }

        let table = try XCTUnwrap(html.range(of: "(?s)<table class=\"load\" id=\"load-latency\">.*?</table>", options: .regularExpression).map { String(html[$0]) })
        let lines = table.components(separatedBy: "<tr class=").dropFirst()  // a row per side and rate (the header row has no class)
        XCTAssertEqual(lines.count, 4, table)
        // As the page writes a whole number: 1,234.
        func grouped(_ n: Int) -> String {
            let digits = String(n)
            return digits.enumerated().map { i, c in (i > 0 && (digits.count - i) % 3 == 0 ? "," : "") + String(c) }.joined()
        }
        func cells(_ line: String) -> [String] {
            line.components(separatedBy: "<td").dropFirst().map { String($0.drop { $0 != ">" }.dropFirst().prefix { $0 != "<" }) }
        }
        for (side, path) in zip(["base", "new"], runs) {
            for row in try h.readCSV(path).dropFirst() {
                let rate = Int(column("offered_msgs_per_s", row))!
                let line = try XCTUnwrap(lines.map(cells).first { $0[0] == "pipe split 64 B wait auto (\(side))" && $0[1] == grouped(rate) },
                                         "\(side) at \(rate): \(table)")
                XCTAssertEqual(line[2], grouped(Int(Double(column("achieved_msgs_per_s_median", row))!.rounded())))
                XCTAssertEqual(Double(line[6].replacingOccurrences(of: ",", with: ""))!, Double(column("rtt_us_p99", row))!, accuracy: 0.051)
                XCTAssertEqual(Double(line[8].replacingOccurrences(of: ",", with: ""))!, Double(column("rtt_us_p999_uncorrected", row))!, accuracy: 0.051)
            }
        }
    }
}
