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
}
