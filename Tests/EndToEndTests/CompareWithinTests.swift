import Foundation
import XCTest
import IPCPlatform
import IPCModel
import IPCRun
import IPCAnalysis
import IPCLab

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

        // One run: each change with its interval from the paired rounds, but no verdict (the run's
        // effect on the two cases cannot be told from the change in one run).
        let csv = try h.run(["compare", results, "--within", "placement=same,split", "--format", "csv"])
        XCTAssertEqual(csv.status, 0, csv.stderr)
        let rows = parseCSV(csv.stdout).filter { $0 != [""] }
        XCTAssertEqual(rows.first, compareCSVColumns)
        let records = rows.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(compareCSVColumns, $0)) }
        // Every pipe and tcp latency case: a cross-CPU round trip is several times a same-CPU one.
        let p50 = records.filter { $0["kind"] == "case" && $0["metric"] == "RTT p50 us" }
        XCTAssertEqual(p50.count, 4, "\(records)")
        for r in p50 {
            XCTAssertEqual(r["method"], "within-run", "\(r)")
            XCTAssertEqual(r["significant"], "0", "\(r)")
            XCTAssertEqual(r["q_value"], "", "\(r)")
            XCTAssertEqual(r["note"], "one run: no verdict", "\(r)")
            XCTAssertEqual(r["new_file"], "placement=split")
            XCTAssertEqual(r["placement"], "", "the compared key is not part of the case: \(r)")
            XCTAssertGreaterThan(Double(r["change_ci95_low_pct"]!)!, 0, "\(r)")
        }
        XCTAssertFalse(records.contains { $0["significant"] == "1" }, "\(records)")

        let table = try h.run(["compare", results, "--within", "placement=same,split"])
        XCTAssertEqual(table.status, 0, table.stderr)
        XCTAssertTrue(table.stdout.contains("within: placement=same (base) against placement=split (new), everything else equal; units: the rounds of one run, paired"), table.stdout)
        XCTAssertFalse(table.stdout.contains("worse"), table.stdout)
        // One run is no gate, as one run a side is not.
        let gate = try h.run(["compare", results, "--within", "placement=same,split", "--fail-on-regression", "10"])
        XCTAssertEqual(gate.status, 2, gate.stderr)
        XCTAssertEqual(gate.stdout, "")
        XCTAssertTrue(gate.stderr.contains("--within in one run has no verdict"), gate.stderr)

        // Three runs: each run's paired difference is a unit, and the verdict and the gate are back.
        var runs = [results]
        for i in 2...3 {
            let path = h.work.appendingPathComponent("placement\(i).csv").path
            let again = try h.run(["run", config.path, "-q", "-o", path])
            XCTAssertEqual(again.status, 0, again.stderr)
            runs.append(path)
        }
        let three = try h.run(["compare", runs.joined(separator: ","), "--within", "placement=same,split", "--format", "csv"])
        XCTAssertEqual(three.status, 0, three.stderr)
        let byRun = parseCSV(three.stdout).dropFirst().filter { $0.count == compareCSVColumns.count }
            .map { Dictionary(uniqueKeysWithValues: zip(compareCSVColumns, $0)) }
        for r in byRun where r["kind"] == "case" && r["metric"] == "RTT p50 us" {
            XCTAssertEqual(r["method"], "paired-runs-t", "\(r)")
            XCTAssertGreaterThan(Double(r["change_ci95_low_pct"]!)!, 0, "\(r)")
        }
        let runsGate = try h.run(["compare", runs.joined(separator: ","), "--within", "placement=same,split", "--fail-on-regression", "10"])
        XCTAssertEqual(runsGate.status, 1, runsGate.stderr)

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
            // Two cases of a metric are too few to pool: each is tested on its own runs.
            XCTAssertTrue(mine.allSatisfy { $0[method] == "runs-t" }, "\(mine)")
        }
    }

    /// Hardening F1: cases with different numbers of rounds (two suites, -r 5 and -r 3, or a trials
    /// row whose round was changed) are compared with --within, in one run and across runs; nothing traps.
    func testMixedRoundCountsDoNotTrap() throws {
        let config = h.work.appendingPathComponent("mixed.toml")
        try """
        [defaults]
        transports = ["pipe", "unix-stream"]
        total = "256KiB"
        warmup = 0
        min_trial_time = "0s"

        [[suite]]
        pattern = "throughput"
        sizes = [64]
        repetitions = 5

        [[suite]]
        pattern = "throughput"
        sizes = [1024]
        repetitions = 3
        """.write(to: config, atomically: true, encoding: .utf8)
        var runs: [String] = []
        for i in 1...2 {
            let path = h.work.appendingPathComponent("mixed\(i).csv").path
            let run = try h.run(["run", config.path, "-q", "-o", path])
            XCTAssertEqual(run.status, 0, run.stderr)
            XCTAssertEqual(try h.run(["check", path]).status, 0)
            runs.append(path)
        }
        // A trials row's round changed to one the run never had.
        let trialsPath = runs[1].replacingOccurrences(of: ".csv", with: "-trials.csv")
        var trials = parseCSV(try String(contentsOfFile: trialsPath, encoding: .utf8)).filter { $0 != [""] }
        let round = try XCTUnwrap(trials[0].firstIndex(of: "round"))
        trials[1][round] = "6"
        try trials.map(csvLine).joined().write(toFile: trialsPath, atomically: false, encoding: .utf8)
        for side in [runs[0], runs[1], runs.joined(separator: ",")] {
            let outcome = try h.run(["compare", side, "--within", "transport=pipe,unix-stream"])
            XCTAssertEqual(outcome.status, 0, "\(side): \(outcome.stderr)")
            XCTAssertTrue(outcome.stdout.contains("geomean"), outcome.stdout)
        }
    }
}
