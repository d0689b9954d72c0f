import Foundation
import XCTest
import IPCBench

/// `compare --within`: two settings run as cases of the same shuffled rounds and compared round by
/// round, on a real run of this kernel.
final class CompareWithinTests: XCTestCase {
    var h: Harness!

    override func setUpWithError() throws { h = try Harness() }
    override func tearDownWithError() throws { try h.finishChecks() }

    func testSameAgainstSplitInOneRun() throws {
        let config = h.work.appendingPathComponent("placement.toml")
        try """
        [defaults]
        cpus = ["same", "split"]
        repetitions = 8
        warmup = 1
        min_trial_time = "0s"
        count = 2000
        sizes = [64, 4096]
        transports = ["pipe", "tcp"]

        [[suite]]
        pattern = "latency"
        """.write(to: config, atomically: true, encoding: .utf8)
        let results = h.work.appendingPathComponent("placement.csv").path
        let run = try h.run(["run", config.path, "-q", "-o", results])
        XCTAssertEqual(run.status, 0, run.stderr)

        let csv = try h.run(["compare", results, "--within", "placement=same,split", "--format", "csv"])
        XCTAssertEqual(csv.status, 0, csv.stderr)
        let rows = parseCSV(csv.stdout).filter { $0 != [""] }
        XCTAssertEqual(rows.first, compareCSVColumns)
        let records = rows.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(compareCSVColumns, $0)) }
        // Every pipe and tcp latency case: a cross-CPU round trip is several times a same-CPU one.
        let p50 = records.filter { $0["kind"] == "case" && $0["metric"] == "RTT p50 us" }
        XCTAssertEqual(p50.count, 4, "\(records)")
        for r in p50 {
            XCTAssertEqual(r["method"], "paired-moderated-t", "\(r)")
            XCTAssertEqual(r["significant"], "1", "\(r)")
            XCTAssertEqual(r["new_file"], "placement=split")
            XCTAssertEqual(r["placement"], "", "the compared key is not part of the case: \(r)")
            XCTAssertGreaterThan(Double(r["change_ci95_low_pct"]!)!, 0, "\(r)")
        }

        let table = try h.run(["compare", results, "--within", "placement=same,split"])
        XCTAssertEqual(table.status, 0, table.stderr)
        XCTAssertTrue(table.stdout.contains("within: placement=same (base) against placement=split (new), everything else equal; units: the rounds of one run, paired"), table.stdout)
        XCTAssertTrue(table.stdout.contains("worse"), table.stdout)
        // One run is enough for a gate here: the rounds are the units.
        let gate = try h.run(["compare", results, "--within", "placement=same,split", "--fail-on-regression", "10"])
        XCTAssertEqual(gate.status, 1, gate.stderr)

        // Refused: a value no case has; a second side; a run without rounds.
        let none = try h.run(["compare", results, "--within", "placement=same,pinned"])
        XCTAssertEqual(none.status, 2)
        XCTAssertTrue(none.stderr.contains("no case has both values") && none.stderr.contains("found: same, split"), none.stderr)
        let two = try h.run(["compare", results, results, "--within", "placement=same,split"])
        XCTAssertEqual(two.status, 2)
        let bad = try h.run(["compare", results, "--within", "placement"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("expected KEY=A,B"), bad.stderr)

        let sequential = h.work.appendingPathComponent("sequential.csv").path
        let seqRun = try h.run(["run", config.path, "-q", "-t", "pipe", "-s", "64", "-r", "2", "--schedule", "sequential", "-o", sequential])
        XCTAssertEqual(seqRun.status, 0, seqRun.stderr)
        let refused = try h.run(["compare", sequential, "--within", "placement=same,split"])
        XCTAssertEqual(refused.status, 2)
        XCTAssertTrue(refused.stderr.contains("no rounds (the sequential schedule)"), refused.stderr)
    }

    /// duplex: each direction is a metric of its own, per trial, so compare says whether each changed.
    func testDuplexDirectionsAreCompared() throws {
        var runs: [String] = []
        for i in 1...4 {
            let path = h.work.appendingPathComponent("duplex\(i).csv").path
            let run = try h.run(["run", "-q", "-t", "pipe,unix-stream", "-p", "duplex", "-s", "4KiB", "-r", "3", "--total", "1MiB",
                                 "--min-trial-time", "0s", "-o", path])
            XCTAssertEqual(run.status, 0, run.stderr)
            runs.append(path)
        }
        let trials = parseCSV(try String(contentsOfFile: runs[0].replacingOccurrences(of: ".csv", with: "-trials.csv"), encoding: .utf8))
        let forward = try XCTUnwrap(trials[0].firstIndex(of: "mib_per_s_forward"))
        XCTAssertTrue(trials.dropFirst().filter { $0.count > forward }.allSatisfy { Double($0[forward]) ?? 0 > 0 }, "\(trials)")
        let csv = try h.run(["compare", runs[0] + "," + runs[2], runs[1] + "," + runs[3], "--format", "csv"])
        XCTAssertEqual(csv.status, 0, csv.stderr)
        let rows = parseCSV(csv.stdout).filter { $0.first == "case" }
        let metric = compareCSVColumns.firstIndex(of: "metric")!, method = compareCSVColumns.firstIndex(of: "method")!
        for transport in ["pipe", "unix-stream"] {
            let mine = rows.filter { $0[2] == transport }
            XCTAssertEqual(mine.map { $0[metric] }, ["MiB/s", "forward MiB/s", "backward MiB/s", "CPU us/msg"], "\(rows)")
            XCTAssertTrue(mine.allSatisfy { $0[method] == "moderated-t" }, "\(mine)")
        }
    }
}
