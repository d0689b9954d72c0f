import Foundation
import XCTest
@testable import IPCPlatform
@testable import IPCModel
@testable import IPCRun
@testable import IPCAnalysis
@testable import IPCLab

/// `scripts/plot.py --series`: a history series drawn over time from a SQLite database the test
/// fills, through the binary. Needs matplotlib (scripts/setup --test) and, for the change points,
/// Apache Otava (scripts/setup --history). Budget: 30 s for the class.
final class HistoryPlotTests: XCTestCase {
    var h: Harness!

    override func setUpWithError() throws { h = try Harness() }
    override func tearDownWithError() throws { try h.finishChecks() }

    var db: String { h.work.appendingPathComponent("history.sqlite").path }

    /// Two hosts, two cases, 12 daily runs each: lab1 moves from 6.1.0 to 6.2.0 at its seventh run
    /// and loses 25% there; lab2 moves to 6.1.5 at its fifth and stays level.
    func fill() throws {
        var f = HistoryFixture(seed: 11, cases: ["a", "b"])
        var paths: [String] = []
        for run in 0..<12 {
            for host in ["lab1", "lab2"] {
                let kernel = host == "lab1" ? (run < 6 ? "6.1.0" : "6.2.0") : (run < 4 ? "6.1.0" : "6.1.5")
                let level: Double = host == "lab1" && run >= 6 ? 75 : 100
                paths.append(try HistoryFixture.write(h.work.appendingPathComponent("\(host)-\(run).csv").path,
                                                      [f.rows(runID: "\(host)-run\(run)", hour: run * 24 + (host == "lab1" ? 0 : 2), host: host,
                                                              kernel: kernel) { _ in level }]))
            }
        }
        let outcome = try h.run(["history", "import"] + paths + ["--db", db])
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
    }

    func testSeriesPlotHasEveryHostApartAndTheKernels() throws {
        try fill()
        let png = h.work.appendingPathComponent("series.png").path
        var changes: [String] = []
        if otavaExecutable() != nil { changes = ["--changes"] }
        let outcome = try h.script("plot.py", ["--series", "--db", db, "--key", "options=a", "--metric", "mib_per_s", "-o", png] + changes)
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        XCTAssertEqual(outcome.stdout, png + "\n")
        let data = try Data(contentsOf: URL(fileURLWithPath: png))
        XCTAssertEqual(Array(data.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        // The sidecar says what was drawn: one line per host, each only that host's runs, in time order.
        let sidecar = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: png + ".json"))) as! [String: Any]
        XCTAssertEqual(sidecar["metric"] as? String, "mib_per_s")
        XCTAssertEqual((sidecar["case"] as? [String: String])?["options"], "a")
        let series = sidecar["series"] as! [[String: Any]]
        XCTAssertEqual(series.map { $0["hostname"] as! String }, ["lab1", "lab2"])
        for line in series {
            let host = line["hostname"] as! String
            let points = line["points"] as! [[Any]]
            XCTAssertEqual(points.map { $0[2] as! String }, (0..<12).map { "\(host)-run\($0)" })
            for point in points {
                let (value, low, high) = (point[3] as! Double, point[4] as! Double, point[5] as! Double)
                XCTAssertTrue(low <= value && value <= high, "\(point)")
            }
        }
        // The figures are the binary's series, value for value.
        let csv = parseCSV(try h.run(["history", "series", "--db", db, "--key", "options=a", "--format", "csv"]).stdout)
        let drawn = series.flatMap { ($0["points"] as! [[Any]]).map { "\($0[2] as! String) \($0[3] as! Double)" } }
        XCTAssertEqual(Set(drawn), Set(csv.dropFirst().map { "\($0[4]) \(Double($0[11])!)" }))
        if !changes.isEmpty {
            // lab1's step is marked between its sixth and seventh runs, and lab2 has none.
            let marked = sidecar["changes"] as! [[String: Any]]
            XCTAssertEqual(marked.map { "\($0["hostname"]!) \($0["before_run_id"]!) \($0["after_run_id"]!)" }, ["lab1 lab1-run5 lab1-run6"])
        }
        // Nothing is overwritten.
        let again = try h.script("plot.py", ["--series", "--db", db, "--key", "options=a", "-o", png])
        XCTAssertEqual(again.status, 2)
        XCTAssertTrue(again.stderr.contains("already exists"), again.stderr)
    }

    /// Input that does not name one series is refused: one line, exit 2, nothing written.
    func testBadInputIsRefusedWithNothingWritten() throws {
        try fill()
        let png = h.work.appendingPathComponent("refused.png").path
        for (arguments, message) in [(["--metric", "mib_per_s"], "the filters leave 2 series"),
                                     (["--key", "options=a", "--size", "huge"], "--size 'huge' is not a size"),
                                     (["--key", "options=zzz"], "no runs match these filters"),
                                     (["--key", "options=a", "--all"], "--all marks unconfirmed change points"),
                                     (["--key", "options=a", "--db", h.work.appendingPathComponent("lab1-0.csv").path], "not")] {
            let outcome = try h.script("plot.py", ["--series", "--db", db] + arguments + ["-o", png])
            XCTAssertEqual(outcome.status, 2, arguments.joined(separator: " ") + ": " + outcome.stderr)
            XCTAssertTrue(outcome.stderr.contains(message), outcome.stderr)
            XCTAssertEqual(outcome.stderr.split(separator: "\n").count, 1, outcome.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: png))
            XCTAssertFalse(FileManager.default.fileExists(atPath: png + ".json"))
        }
        let wrongName = try h.script("plot.py", ["--series", "--db", db, "--key", "options=a", "-o", h.work.appendingPathComponent("plot.svg").path])
        XCTAssertEqual(wrongName.status, 2)
        XCTAssertTrue(wrongName.stderr.contains("ending in .png"), wrongName.stderr)
    }
}
