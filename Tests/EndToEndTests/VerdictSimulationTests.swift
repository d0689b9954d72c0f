import Foundation
import Glibc
import XCTest
@testable import IPCPlatform
@testable import IPCModel
@testable import IPCRun
@testable import IPCAnalysis
@testable import IPCLab

/// Normal draws from the project's seeded generator (Box-Muller).
struct Normals {
    var random: SeededGenerator
    var spare: Double? = nil
    init(seed: UInt64) { random = SeededGenerator(seed: seed) }

    mutating func next() -> Double {
        if let s = spare { spare = nil; return s }
        let u1 = 1 - random.unit(), u2 = random.unit()
        let r = (-2 * log(u1)).squareRoot()
        spare = r * sin(2 * Double.pi * u2)
        return r * cos(2 * Double.pi * u2)
    }

    /// Student's t with 4 degrees of freedom, scaled to a standard deviation of 1: heavy tails.
    mutating func heavy() -> Double {
        let z = next()
        let chi = (0..<4).reduce(0.0) { sum, _ in let x = next(); return sum + x * x }
        return z / (chi / 4).squareRoot() / 2.0.squareRoot()
    }
}

/// Synthetic runs with known truth, as results and trials rows: per case and metric, log value =
/// level + a machine-wide run effect shared by all cases of a run (sd 1%) + a case-specific run
/// effect (sd 3%) + heavy-tailed trial noise (sd 3%), the last two scaled per case and metric by
/// exp(N(0, 0.5)); latency figures quantized to three significant digits; 5 trials a run in rounds.
struct SyntheticSuite {
    struct Comparison: Hashable { let transport: String; let metric: String }
    /// (transport, pattern) of every case; the transport names the case.
    let cases: [(String, String)]
    var levels: [Comparison: Double] = [:]
    var noise: [Comparison: Double] = [:]
    /// Comparisons whose figure the new side changes.
    var changed = Set<String>()
    var g: Normals
    let trials = 5

    /// 140 throughput, 140 latency and 70 sync-message cases: 700 comparisons.
    init(seed: UInt64, changedShare: Double) {
        g = Normals(seed: seed)
        var list: [(String, String)] = []
        for i in 0..<140 { list.append(("tp\(i)", "throughput")) }
        for i in 0..<140 { list.append(("lat\(i)", "latency")) }
        for i in 0..<70 { list.append(("sync\(i)", "sync-message")) }
        cases = list
        for (transport, pattern) in cases {
            if g.random.unit() < changedShare { changed.insert(transport) }
            for metric in Metric.of(pattern: pattern) where !Metric.everyPattern.contains(metric) {
                let c = Comparison(transport: transport, metric: metric.name)
                levels[c] = metric.higherIsBetter ? 100 * exp(3 * g.random.unit()) : 5 * exp(3 * g.random.unit())
                noise[c] = exp(0.5 * g.next())
            }
        }
    }

    /// The case and trials rows of one run; `effect` multiplies the changed cases' figures.
    mutating func run(_ runID: String, effect: Double, kernel: String = "6.1") -> (cases: [[String: String]], trials: [[String: String]]) {
        let machine = 0.01 * g.next()
        var caseRows: [[String: String]] = [], trialRows: [[String: String]] = []
        for (transport, pattern) in cases {
            var row: [String: String] = [
                "run_id": runID, "hostname": "vm", "kernel_release": kernel, "cpu_model": "Synthetic CPU", "transport": transport,
                "pattern": pattern, "payload_bytes": "64", "messages_per_trial": "1000", "repetitions": String(trials),
                "cpu_placement": "split:0,1", "options": "", "status": "ok",
            ]
            var perTrial = [[String: String]](repeating: [:], count: trials)
            for metric in Metric.of(pattern: pattern) where !Metric.everyPattern.contains(metric) {
                let c = Comparison(transport: transport, metric: metric.name)
                let scale = noise[c]!
                let center = levels[c]! * (changed.contains(transport) ? effect : 1) * exp(machine + 0.03 * scale * g.next())
                var values: [Double] = []
                for t in 0..<trials {
                    var v = center * exp(0.03 * scale * g.heavy())
                    if !metric.higherIsBetter {
                        let step = pow(10, floor(log10(v)) - 2)
                        v = (v / step).rounded() * step
                    }
                    values.append(v)
                    perTrial[t][metric.trialColumn] = formatDecimal(v, places: 3)
                }
                let sorted = values.sorted()
                row[metric.caseColumn] = formatDecimal(sorted[trials / 2], places: 3)
            }
            for (name, value) in ["mib_per_s_median": "1", "mib_per_s_mean": "1", "mib_per_s_stddev": "0", "rtt_us_p50": "1",
                                  "rtt_us_p99": "1", "rtt_us_mean": "1", "rtt_us_stddev": "0"] where row[name] == nil {
                row[name] = value
            }
            caseRows.append(row)
            for t in 0..<trials {
                var trial = perTrial[t]
                for key in ["run_id", "transport", "pattern", "payload_bytes", "cpu_placement", "options"] { trial[key] = row[key] }
                trial["trial"] = String(t + 1)
                trial["round"] = String(t + 1)
                // A run: 20 s of set-up and calibration, then rounds of 2 s for the whole suite.
                trial["start_ns"] = String(20_000_000_000 + t * 2_000_000_000 + caseRows.count * 5_000_000)
                trial["duration_ns"] = "4000000"
                trialRows.append(trial)
            }
        }
        return (caseRows, trialRows)
    }

    /// A ResultFile made in memory from one run's rows.
    static func file(_ path: String, _ rows: (cases: [[String: String]], trials: [[String: String]])) -> ResultFile {
        ResultFile(path: path, header: caseColumns, cases: rows.cases, rows: rows.cases.map(CaseRow.init),
                   trials: Dictionary(grouping: rows.trials.map(TrialRow.init), by: \.key))
    }

    /// Writes one run's results and trials files into `folder`; returns the results file's path.
    /// The synthetic transports (`tp0`) go in the options column, transport `pipe`: `check` takes only
    /// the transports ipcbench writes; `compareCSV` moves them back.
    static func write(_ rows: (cases: [[String: String]], trials: [[String: String]]), _ folder: URL, _ stem: String) throws -> String {
        let real = { (r: [String: String]) in r.merging(["transport": "pipe", "options": r["transport"] ?? ""]) { $1 } }
        let rows = (cases: rows.cases.map(real), trials: rows.trials.map(real))
        let path = folder.appendingPathComponent(stem + ".csv").path
        try (csvLine(caseColumns) + rows.cases.map { r in csvLine(caseColumns.map { r[$0] ?? "" }) }.joined())
            .write(toFile: path, atomically: false, encoding: .utf8)
        try (csvLine(trialColumns) + rows.trials.map { r in csvLine(trialColumns.map { r[$0] ?? "" }) }.joined())
            .write(toFile: folder.appendingPathComponent(stem + "-trials.csv").path, atomically: false, encoding: .utf8)
        return path
    }
}

func binomialTolerance(_ p: Double, _ n: Int) -> Double { 3 * (p * (1 - p) / Double(n)).squareRoot() }

/// The verdicts of `compare` on synthetic runs with known truth: one run a side, the spread advice,
/// the gate's refusals and ties (VerdictModelTests holds the rates under every noise model).
final class VerdictSimulationTests: XCTestCase {
    var h: Harness!
    override func setUpWithError() throws { h = try Harness() }
    override func tearDownWithError() throws { try h.finishChecks() }

    /// One run a side: a within-run interval for most comparisons, and never a verdict.
    func testOneRunASideMarksNothing() {
        var flagged = 0, bounded = 0, total = 0
        for d in 0..<10 {
            var suite = SyntheticSuite(seed: 3000 + UInt64(d), changedShare: 0.5)
            let a = SyntheticSuite.file("a.csv", suite.run("a", effect: 1)), b = SyntheticSuite.file("b.csv", suite.run("b", effect: 1.3))
            let report = compareResults([Side(files: [a]), Side(files: [b])], ignoring: [], alpha: 0.05)
            total += report.changes.count
            flagged += report.changes.filter(\.significant).count + report.geomeans.filter(\.significant).count
            bounded += report.changes.filter { $0.method == .withinRun }.count
            XCTAssertTrue(report.geomeans.allSatisfy { $0.interval == nil && $0.reason != nil })
        }
        XCTAssertEqual(flagged, 0)
        XCTAssertGreaterThan(bounded, total * 9 / 10)
    }

    /// Kalibera & Jones: with known run and trial variances and costs, compare's advice on the
    /// rounds a run is the known optimum.
    func testSpreadFindsTheBestRoundsOfAKnownCase() {
        // Every case: run sd 2%, trial sd 6%, 40 runs a side so that the estimates are tight.
        var g = Normals(seed: 77)
        func run(_ id: String) -> ResultFile {
            var cases: [[String: String]] = [], trials: [[String: String]] = []
            for c in 0..<40 {
                let center = 100 * exp(0.02 * g.next())
                let values = (0..<9).map { _ in center * exp(0.06 * g.next()) }
                let row = ["run_id": id, "transport": "t\(c)", "pattern": "throughput", "payload_bytes": "64", "cpu_placement": "split:0,1",
                           "options": "", "status": "ok", "mib_per_s_median": "1"]
                cases.append(row)
                for (i, v) in values.enumerated() {
                    // 30 s before the first measured trial, then 3 s a round.
                    trials.append(row.merging(["trial": "\(i + 1)", "round": "\(i + 1)", "mib_per_s": "\(v)",
                                               "start_ns": "\(30_000_000_000 + i * 3_000_000_000 + c * 1_000_000)",
                                               "duration_ns": "\(3_000_000_000 - 40_000_000)"]) { $1 })
                }
            }
            return SyntheticSuite.file(id + ".csv", (cases, trials))
        }
        let report = compareResults([Side(files: (0..<40).map { run("a\($0)") }), Side(files: (0..<40).map { run("b\($0)") })],
                                    ignoring: [], alpha: 0.05)
        let spread = try! XCTUnwrap(report.spread)
        XCTAssertEqual(spread.runCost, 30, accuracy: 0.01)
        XCTAssertEqual(spread.roundCost, 3, accuracy: 0.05)
        XCTAssertEqual(spread.rounds, 9)
        XCTAssertEqual(spread.trialVariance.squareRoot(), 0.06, accuracy: 0.003)
        XCTAssertEqual(spread.runVariance.squareRoot(), 0.02, accuracy: 0.004)
        // The optimum of (30 + 3n)(0.02² + (π/2)·0.06²/n): n = √(30·(π/2)·0.0036 / (3·0.0004)) ≈ 11.9.
        let truth = optimalRounds(runVariance: 0.0004, trialVariance: 0.0036, runCost: 30, roundCost: 3)
        XCTAssertEqual(truth, 11.89, accuracy: 0.01)
        XCTAssertEqual(spread.bestRounds, truth, accuracy: 3)
    }


    /// Writes `runs` base and new runs of one synthetic suite; returns the two sides as compare takes them.
    func writeSides(_ suite: inout SyntheticSuite, runs: Int, effect: Double, tag: String, newKernel: String = "6.2") throws -> (String, String) {
        let a = try (0..<runs).map { try SyntheticSuite.write(suite.run("\(tag)a\($0)", effect: 1), h.work, "\(tag)a\($0)") }
        let b = try (0..<runs).map { try SyntheticSuite.write(suite.run("\(tag)b\($0)", effect: effect, kernel: newKernel), h.work, "\(tag)b\($0)") }
        return (a.joined(separator: ","), b.joined(separator: ","))
    }

    func compareCSV(_ arguments: [String]) throws -> [[String: String]] {
        let outcome = try h.run(["compare"] + arguments + ["--format", "csv"])
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        let rows = parseCSV(outcome.stdout).filter { $0 != [""] }
        XCTAssertEqual(rows.first, compareCSVColumns)
        return rows.dropFirst().map { row in
            let r = Dictionary(uniqueKeysWithValues: zip(compareCSVColumns, row))
            return r["kind"] == "case" ? r.merging(["transport": r["options"]!, "options": ""]) { $1 } : r  // as SyntheticSuite.write put them
        }
    }

    /// One run a side through the binary: nothing significant, the header says to take 3 runs.
    func testOneRunASideThroughTheBinary() throws {
        var suite = SyntheticSuite(seed: 6001, changedShare: 0.5)
        let (a, b) = try writeSides(&suite, runs: 1, effect: 1.3, tag: "one")
        let rows = try compareCSV([a, b])
        XCTAssertEqual(rows.filter { $0["significant"] == "1" }.count, 0)
        XCTAssertTrue(rows.filter { $0["kind"] == "case" }.allSatisfy { $0["method"] == "within-run" || !$0["note"]!.isEmpty })
        let table = try h.run(["compare", a, b])
        XCTAssertTrue(table.stdout.contains("Take at least 3 runs a side"), table.stdout)
        XCTAssertFalse(table.stdout.contains(" better") || table.stdout.contains(" worse"), table.stdout)
    }

    /// The gate: a uniform +30% RTT regression at 3 runs a side fails it (exit 1); an A/A passes; one
    /// run a side, or nothing comparable, is refused before anything is printed (exit 2).
    func testTheGateCatchesARegressionAndPassesAA() throws {
        var suite = SyntheticSuite(seed: 7001, changedShare: 1)
        // Every figure × 1.3: RTT up 30% (worse), MiB/s up 30% (better).
        let (a, b) = try writeSides(&suite, runs: 3, effect: 1.3, tag: "reg")
        let gate = try h.run(["compare", a, b, "--fail-on-regression", "5"])
        XCTAssertEqual(gate.status, 1, gate.stderr)
        XCTAssertTrue(gate.stderr.contains("regressed significantly with their whole 95% interval beyond 5.0%"), gate.stderr)
        XCTAssertTrue(gate.stderr.contains("geomean RTT"), gate.stderr)

        var same = SyntheticSuite(seed: 7002, changedShare: 0)
        let (c, d) = try writeSides(&same, runs: 3, effect: 1, tag: "aa")
        let pass = try h.run(["compare", c, d, "--fail-on-regression", "5"])
        XCTAssertEqual(pass.status, 0, pass.stderr + pass.stdout)

        let one = try h.run(["compare", a.components(separatedBy: ",")[0], b, "--fail-on-regression", "5"])
        XCTAssertEqual(one.status, 2)
        XCTAssertEqual(one.stdout, "")
        XCTAssertTrue(one.stderr.contains("is one run; a gate needs the variance between runs"), one.stderr)
    }

    /// A tie is not a change: identical figures on both sides get no interval and no verdict.
    func testQuantizedTiesAreNotSignificant() throws {
        var suite = SyntheticSuite(seed: 8001, changedShare: 0)
        let runs = (0..<3).map { i in suite.run("q\(i)", effect: 1) }
        // The same three runs on both sides, but the first case's figures identical everywhere.
        func flattened(_ rows: (cases: [[String: String]], trials: [[String: String]])) -> (cases: [[String: String]], trials: [[String: String]]) {
            (rows.cases, rows.trials.map { r in r["transport"] == "tp0" ? r.merging(["mib_per_s": "50.000"]) { $1 } : r })
        }
        let a = try runs.enumerated().map { try SyntheticSuite.write(flattened($1), h.work, "qa\($0)") }
        let b = try runs.enumerated().map { i, r in
            try SyntheticSuite.write(flattened((r.cases.map { $0.merging(["run_id": "qb\(i)"]) { $1 } },
                                                r.trials.map { $0.merging(["run_id": "qb\(i)"]) { $1 } })), h.work, "qb\(i)")
        }
        let rows = try compareCSV([a.joined(separator: ","), b.joined(separator: ",")])
        let tie = try XCTUnwrap(rows.first { $0["transport"] == "tp0" })
        XCTAssertEqual(tie["significant"], "0")
        XCTAssertEqual(tie["change_pct"], "0.00")
        if let low = Double(tie["change_ci95_low_pct"]!), let high = Double(tie["change_ci95_high_pct"]!) {
            XCTAssertTrue(low < 0 && high > 0, "\(tie)")
        } else {
            XCTAssertTrue(tie["note"]!.contains("identical"), "\(tie)")
        }
    }
}
