import Foundation
import Glibc
import XCTest
@testable import IPCPlatform
@testable import IPCModel
@testable import IPCRun
@testable import IPCAnalysis
@testable import IPCLab

/// How synthetic runs vary: the README's simulation model and the ways real machines stray from it.
/// A case's log figure in a run = its level + the machine's effect on that run (shared by every
/// case; slower is lower throughput and higher latency) + the case's own run effect + trial noise.
/// The case's run and trial sds are scaled by exp(N(0, 0.5)) per case and metric.
struct NoiseModel: Sendable {
    enum Shared: Sendable { case normal, bimodal, studentT3 }
    var name: String
    /// The machine-wide run effect: its sd (normal, t with 3 df scaled to this sd) or its size (bimodal ±).
    var machine = 0.01
    var shared = Shared.normal
    var caseRunSD = 0.03
    var trialSD = 0.03
    /// The share of cases whose run variance is ten times what their trials predict.
    var noisyShare = 0.0
    var throughputCases = 30
    var latencyCases = 35
    var trials = 5
    /// A change touches the latency cases' p99 alone.
    var p99Only = false

    static let base = NoiseModel(name: "README model")
    static let all: [NoiseModel] = [
        base,
        NoiseModel(name: "machine-wide run sd 2%", machine: 0.02),
        NoiseModel(name: "machine-wide run sd 5%", machine: 0.05),
        NoiseModel(name: "machine-wide run effects bimodal ±8%", machine: 0.08, shared: .bimodal),
        NoiseModel(name: "machine-wide run effects t (3 df), sd 3%", machine: 0.03, shared: .studentT3),
        NoiseModel(name: "5% of cases with ten times the run variance", noisyShare: 0.05),
        NoiseModel(name: "suites of 6 cases", throughputCases: 0, latencyCases: 6),
        NoiseModel(name: "3 trials a run", trials: 3),
        NoiseModel(name: "a change in p99 only", p99Only: true),
    ]
}

/// One synthetic suite drawn from a model: its cases' levels and noise scales, and its runs. A case
/// is named in the options column (`tp0`, `lat3`) of a pipe case: check takes only real transports.
struct ModelSuite {
    struct Comparison: Hashable { let transport: String; let metric: String }
    let model: NoiseModel
    var cases: [(transport: String, pattern: String)] = []
    var level: [Comparison: Double] = [:]
    var scale: [Comparison: Double] = [:]
    var noisy = Set<String>()
    var changed = Set<String>()
    var g: Normals

    init(_ model: NoiseModel, seed: UInt64, changedShare: Double) {
        self.model = model
        g = Normals(seed: seed)
        cases = (0..<model.throughputCases).map { ("tp\($0)", "throughput") } + (0..<model.latencyCases).map { ("lat\($0)", "latency") }
        for (transport, pattern) in cases {
            if g.random.unit() < model.noisyShare { noisy.insert(transport) }
            if g.random.unit() < changedShare { changed.insert(transport) }
            for metric in Metric.of(pattern: pattern) where !Metric.everyPattern.contains(metric) {
                let c = Comparison(transport: transport, metric: metric.name)
                level[c] = metric.higherIsBetter ? 100 * exp(3 * g.random.unit()) : 5 * exp(3 * g.random.unit())
                scale[c] = exp(0.5 * g.next())
            }
        }
    }

    /// The effect a change has on this comparison's figure (1: none).
    func effect(_ c: Comparison, _ change: Double) -> Double {
        guard changed.contains(c.transport) else { return 1 }
        return model.p99Only && c.metric != Metric.rttP99.name ? 1 : change
    }

    mutating func machineEffect() -> Double {
        switch model.shared {
        case .normal: return model.machine * g.next()
        case .bimodal: return g.random.unit() < 0.5 ? -model.machine : model.machine
        case .studentT3:
            let chi = (0..<3).reduce(0.0) { s, _ in let x = g.next(); return s + x * x }
            return model.machine * g.next() / (chi / 3).squareRoot() / 3.0.squareRoot()
        }
    }

    /// Writes one run's results and trials files; returns the results file's path.
    mutating func writeRun(_ folder: String, _ stem: String, change: Double) throws -> String {
        let machine = machineEffect()
        let columns = Dictionary(uniqueKeysWithValues: caseColumns.enumerated().map { ($1, $0) })
        let trialIndex = Dictionary(uniqueKeysWithValues: trialColumns.enumerated().map { ($1, $0) })
        var caseText = csvLine(caseColumns), trialText = csvLine(trialColumns)
        for (n, (transport, pattern)) in cases.enumerated() {
            var row = [String](repeating: "", count: caseColumns.count)
            for (name, value) in ["run_id": stem, "hostname": "vm", "kernel_release": "6.1", "cpu_model": "Synthetic CPU",
                                  "transport": "pipe", "options": transport, "pattern": pattern, "payload_bytes": "64", "messages_per_trial": "1000",
                                  "repetitions": String(model.trials), "cpu_placement": "split:0,1", "status": "ok",
                                  "mib_per_s_median": "1", "mib_per_s_mean": "1", "mib_per_s_stddev": "0", "rtt_us_p50": "1",
                                  "rtt_us_p99": "1", "rtt_us_mean": "1", "rtt_us_stddev": "0"] {
                row[columns[name]!] = value
            }
            var trials = [[String]](repeating: [String](repeating: "", count: trialColumns.count), count: model.trials)
            for metric in Metric.of(pattern: pattern) where !Metric.everyPattern.contains(metric) {
                let c = Comparison(transport: transport, metric: metric.name)
                let s = scale[c]!
                let runSD = model.caseRunSD * s * (noisy.contains(transport) ? 10.0.squareRoot() : 1)
                let center = level[c]! * effect(c, change) * exp((metric.higherIsBetter ? -machine : machine) + runSD * g.next())
                var values: [Double] = []
                for t in 0..<model.trials {
                    var v = center * exp(model.trialSD * s * g.heavy())
                    if !metric.higherIsBetter {
                        let step = pow(10, floor(log10(v)) - 2)
                        v = (v / step).rounded() * step
                    }
                    values.append(v)
                    trials[t][trialIndex[metric.trialColumn]!] = formatDecimal(v, places: 3)
                }
                row[columns[metric.caseColumn]!] = formatDecimal(values.sorted()[model.trials / 2], places: 3)
            }
            caseText += csvLine(row)
            for t in 0..<model.trials {
                for (name, value) in ["run_id": stem, "transport": "pipe", "options": transport, "pattern": pattern, "payload_bytes": "64",
                                      "cpu_placement": "split:0,1", "trial": String(t + 1), "round": String(t + 1),
                                      "start_ns": String(20_000_000_000 + t * 2_000_000_000 + n * 5_000_000), "duration_ns": "4000000"] {
                    trials[t][trialIndex[name]!] = value
                }
                trialText += csvLine(trials[t])
            }
        }
        let path = folder + "/" + stem + ".csv"
        try caseText.write(toFile: path, atomically: false, encoding: .utf8)
        try trialText.write(toFile: folder + "/" + stem + "-trials.csv", atomically: false, encoding: .utf8)
        return path
    }
}

/// What the comparisons of many suites found, against the truth.
struct ModelTally {
    var nulls = 0, nullP = 0, nullFlagged = 0
    /// A/A p < 0.05 in the noisiest and the quietest quarter of cases (by their true noise scale).
    var noisy = 0, noisyP = 0, quiet = 0, quietP = 0
    var covered = 0, intervals = 0
    var changes = 0, found = 0, flagged = 0, falseFlags = 0
    var suites = 0, suitesFlagged = 0, gatePassed = 0
    /// Suites where a change of every case showed as a significant common row of each changed metric.
    var commonFound = 0
    var p50Flagged = 0
    /// Suites whose RTT p50 common row was significant.
    var commonP50Flagged = 0
    /// Case rows without a test (no p-value).
    var untested = 0
    /// Per suite, (A/A p < 0.05, A/A comparisons) overall, noisiest and quietest quarter, and
    /// (covered, intervals): the suite is the independent draw when its cases share run effects.
    var perSuite: [[(Int, Int)]] = [[], [], [], []]

    /// A rate over suites and its standard error with the suite as the cluster (the ratio
    /// estimator's): under a shared run effect the comparisons of a suite are not independent.
    func clustered(_ check: Int) -> (rate: Double, se: Double) {
        let pairs = perSuite[check]
        let k = pairs.reduce(0) { $0 + $1.0 }, n = pairs.reduce(0) { $0 + $1.1 }
        guard n > 0, pairs.count > 1 else { return (.nan, .nan) }
        let r = Double(k) / Double(n), mean = Double(n) / Double(pairs.count)
        let s = pairs.reduce(0.0) { $0 + pow(Double($1.0) - r * Double($1.1), 2) }
        return (r, (s / Double(pairs.count * (pairs.count - 1))).squareRoot() / mean)
    }

    func rate(_ a: Int, _ b: Int) -> Double { b == 0 ? .nan : Double(a) / Double(b) }
    func percent(_ a: Int, _ b: Int) -> String { "\(a)/\(b) (\(formatDecimal(100 * rate(a, b), places: 2))%)" }
    var summary: String {
        "A/A p<0.05 \(percent(nullP, nulls)), noisiest quarter \(percent(noisyP, noisy)), quietest quarter \(percent(quietP, quiet)); "
            + "suites flagging anything \(percent(suitesFlagged, suites)), gate passed \(percent(gatePassed, suites)); "
            + "coverage \(percent(covered, intervals)); power \(percent(found, changes)), false discoveries \(percent(falseFlags, flagged)); "
            + "common row found \(percent(commonFound, suites))"
    }

    static func + (a: ModelTally, b: ModelTally) -> ModelTally {
        var c = a
        c.nulls += b.nulls; c.nullP += b.nullP; c.nullFlagged += b.nullFlagged
        c.noisy += b.noisy; c.noisyP += b.noisyP; c.quiet += b.quiet; c.quietP += b.quietP
        c.covered += b.covered; c.intervals += b.intervals
        c.changes += b.changes; c.found += b.found; c.flagged += b.flagged; c.falseFlags += b.falseFlags
        c.suites += b.suites; c.suitesFlagged += b.suitesFlagged; c.gatePassed += b.gatePassed
        c.commonFound += b.commonFound; c.p50Flagged += b.p50Flagged; c.commonP50Flagged += b.commonP50Flagged; c.untested += b.untested
        c.perSuite = zip(a.perSuite, b.perSuite).map { $0 + $1 }
        return c
    }
}

/// The verdicts of `compare` proven through the binary on synthetic suites with known truth, under
/// every noise model of `NoiseModel.all`, at 3 and 4 runs a side: false alarms per comparison and
/// per suite, interval coverage, power, the gate, and the common row. `IPCBENCH_SIMULATION=full`
/// (scripts/test --long) runs the full scale; the default scale is what fits the test budget.
final class VerdictModelTests: XCTestCase {
    var h: Harness!
    override func setUpWithError() throws { h = try Harness() }
    override func tearDownWithError() throws { try h.finishChecks() }

    static let full = ProcessInfo.processInfo.environment["IPCBENCH_SIMULATION"] == "full"

    /// `suites` suites of `model` at `runs` runs a side, through `ipcbench compare --format csv
    /// --fail-on-regression 5`, two comparisons in flight while the next suite is written.
    /// `change` multiplies the changed cases' figures; `broken` names a part of the method to take out.
    func simulate(_ model: NoiseModel, runs: Int, suites: Int, changedShare: Double, change: Double, seed: UInt64,
                  broken: String? = nil) throws -> ModelTally {
        var t = ModelTally()
        var inFlight: [(ModelSuite, (Process, Pipe, Pipe))] = []
        func collect() throws {
            let (suite, process) = inFlight.removeFirst()
            let outcome = h.finish(process)
            guard outcome.status == 0 || outcome.status == 1 else { throw InputError("compare exited \(outcome.status): \(outcome.stderr)") }
            Self.tally(&t, suite, outcome, change: change)
        }
        for s in 0..<suites {
            let folder = h.work.path + "/s\(s % 3)"
            try? FileManager.default.removeItem(atPath: folder)
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            var suite = ModelSuite(model, seed: seed &+ UInt64(s) &* 7919, changedShare: changedShare)
            let a = try (0..<runs).map { try suite.writeRun(folder, "a\($0)", change: 1) }
            let b = try (0..<runs).map { try suite.writeRun(folder, "b\($0)", change: change) }
            inFlight.append((suite, try h.start(["compare", a.joined(separator: ","), b.joined(separator: ","), "--format", "csv",
                                                  "--fail-on-regression", "5"],
                                                 environment: broken.map { ["IPCBENCH_TEST_BROKEN_METHOD": $0] } ?? [:])))
            if inFlight.count == 2 { try collect() }
        }
        while !inFlight.isEmpty { try collect() }
        for s in 0..<3 { try? FileManager.default.removeItem(atPath: h.work.path + "/s\(s)") }
        return t
    }

    static func tally(_ t: inout ModelTally, _ suite: ModelSuite, _ outcome: Harness.Outcome, change: Double) {
        let lines = parseCSV(outcome.stdout).filter { $0 != [""] }
        let rows = lines.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(lines[0], $0)) }
        // A case's true noise: its scale, and √10 more run sd for the noisy ones.
        func noise(_ c: ModelSuite.Comparison) -> Double { suite.scale[c]! * (suite.noisy.contains(c.transport) ? 10.0.squareRoot() : 1) }
        let scales = suite.scale.keys.map(noise).sorted()
        let (quietBelow, noisyAbove) = (scales[scales.count / 4], scales[scales.count * 3 / 4])
        let before = [(t.nullP, t.nulls), (t.noisyP, t.noisy), (t.quietP, t.quiet), (t.covered, t.intervals)]
        defer {
            let after = [(t.nullP, t.nulls), (t.noisyP, t.noisy), (t.quietP, t.quiet), (t.covered, t.intervals)]
            for i in 0..<4 { t.perSuite[i].append((after[i].0 - before[i].0, after[i].1 - before[i].1)) }
        }
        t.suites += 1
        if outcome.status == 0 { t.gatePassed += 1 }
        if rows.contains(where: { $0["significant"] == "1" }) && change == 1 { t.suitesFlagged += 1 }
        // Every metric a change of every case touches must have a significant common row.
        var expected = Set<String>(), seen = Set<String>()
        if change != 1 && suite.changed.count == suite.cases.count {
            for c in suite.scale.keys where !suite.model.p99Only || c.metric == Metric.rttP99.name { expected.insert(c.metric) }
        }
        for r in rows {
            let significant = r["significant"] == "1"
            let low = Double(r["change_ci95_low_pct"] ?? ""), high = Double(r["change_ci95_high_pct"] ?? "")
            if r["kind"] == "common" {
                let metric = r["metric"]!
                if metric == Metric.rttP50.name && significant { t.commonP50Flagged += 1 }
                if significant { seen.insert(metric) }
                continue
            }
            guard r["kind"] == "case" else { continue }
            let c = ModelSuite.Comparison(transport: r["options"]!, metric: r["metric"]!)
            let truth = log(suite.effect(c, change))
            if let low, let high {
                t.intervals += 1
                // The interval is in %, rounded to 0.01: a truth on its edge counts as covered.
                let (l, u) = (log(1 + low / 100), log(1 + high / 100))
                if l - 1e-4 <= truth && truth <= u + 1e-4 { t.covered += 1 }
            }
            // A case with no test (no p-value) is neither a rejection nor a non-rejection.
            guard let p = Double(r["p_value"] ?? "") else { t.untested += 1; continue }
            if truth == 0 {
                t.nulls += 1
                if p < 0.05 { t.nullP += 1 }
                if significant { t.nullFlagged += 1; t.falseFlags += 1 }
                let scale = noise(c)
                if scale >= noisyAbove { t.noisy += 1; if p < 0.05 { t.noisyP += 1 } }
                if scale < quietBelow { t.quiet += 1; if p < 0.05 { t.quietP += 1 } }
                if significant && c.metric == Metric.rttP50.name { t.p50Flagged += 1 }
            } else {
                t.changes += 1
                if significant { t.found += 1 }
            }
            if significant { t.flagged += 1 }
        }
        if !expected.isEmpty && expected.isSubset(of: seen) { t.commonFound += 1 }
    }

    /// What an A/A run of a model must show; the failed checks, named (empty: all hold). A rate's
    /// tolerance is the one asked (±1 point overall, ±1.5 in a quarter, ±1.5 for coverage) or three
    /// standard errors with the suite as the cluster, whichever is wider: under a large shared run
    /// effect a suite's comparisons rise and fall together, and only more suites narrow the rate.
    /// `control`, where given, is the intact method on the same suites: its standard errors set the
    /// allowance, so that a broken method whose false alarms cluster cannot widen its own.
    static func aaFailures(_ t: ModelTally, control: ModelTally? = nil) -> [String] {
        var failed: [String] = []
        func check(_ ok: Bool, _ what: String) { if !ok { failed.append(what) } }
        func rate(_ i: Int, _ target: Double, _ tolerance: Double, _ what: String) {
            let r = t.clustered(i).rate, se = (control ?? t).clustered(i).se
            let allowed = max(tolerance, 3 * se)
            check(abs(r - target) <= allowed, "\(what) \(formatDecimal(100 * r, places: 2))% is not \(formatDecimal(100 * target, places: 0))% ± \(formatDecimal(100 * allowed, places: 2)) points (clustered se \(formatDecimal(100 * se, places: 2)))")
        }
        rate(0, 0.05, 0.01, "A/A p<0.05 over \(t.nulls) comparisons")
        rate(1, 0.05, 0.015, "A/A p<0.05 in the noisiest quarter")
        rate(2, 0.05, 0.015, "A/A p<0.05 in the quietest quarter")
        rate(3, 0.95, 0.015, "95% intervals covering the truth")
        check(t.rate(t.suitesFlagged, t.suites) <= 0.05 + binomialTolerance(0.05, t.suites),
              "A/A suites flagging anything \(t.percent(t.suitesFlagged, t.suites)) is over 5% beyond binomial tolerance")
        check(t.rate(t.gatePassed, t.suites) >= 0.95 - binomialTolerance(0.05, t.suites), "the gate passed \(t.percent(t.gatePassed, t.suites)) of A/A suites, under 95%")
        return failed
    }

    /// The scale of an A/A check: suites of `model`, the default run's or the full (`IPCBENCH_SIMULATION=full`):
    /// at least 20,000 comparisons and 400 suites per model and runs a side.
    func suites(_ model: NoiseModel, quick: Int) -> Int {
        let comparisons = model.throughputCases + 2 * model.latencyCases
        return Self.full ? max(400, 20_000 / comparisons + 1) : quick
    }

    /// A/A under every model at 3 and 4 runs a side: p < 0.05 in 5% ± 1 point of the comparisons,
    /// 5% ± 1.5 in the noisiest and the quietest quarter, at most 5% of suites flag any row, the gate
    /// passes 95% of them, and the 95% intervals cover the truth 95% ± 1.5 points.
    func testAAUnderEveryNoiseModel() throws {
        for model in NoiseModel.all where !model.p99Only {
            for runs in [3, 4] {
                let t = try simulate(model, runs: runs, suites: suites(model, quick: model.latencyCases < 10 ? 240 : 60),
                                     changedShare: 0, change: 1, seed: 40_000 + UInt64(runs) * 1000)
                print("A/A, \(model.name), \(runs) runs a side: \(t.summary)")
                for failure in Self.aaFailures(t) { XCTFail("\(model.name), \(runs) runs a side: \(failure)") }
            }
        }
    }

    /// A real +10% change in half the cases: found at least 65% of the time at 3 runs a side and
    /// 80% at 4 on the README's model (at the default scale, 40 suites, less 3 points: its estimate's
    /// own error), false discoveries at most 5%, intervals covering the truth; a change in p99
    /// alone is found in p99.
    func testPowerAndFalseDiscoveries() throws {
        let slack = Self.full ? 0 : 0.03
        for (model, runs, floor) in [(NoiseModel.base, 3, 0.65), (.base, 4, 0.80), (NoiseModel.all.first { $0.p99Only }!, 3, 0.50)] {
            let t = try simulate(model, runs: runs, suites: Self.full ? 400 : 40, changedShare: 0.5, change: 1.10,
                                 seed: 50_000 + UInt64(runs) * 1000)
            print("A/B +10%, \(model.name), \(runs) runs a side: \(t.summary)")
            XCTAssertGreaterThanOrEqual(t.rate(t.found, t.changes), floor - slack, "\(model.name), \(runs) runs")
            XCTAssertLessThanOrEqual(t.rate(t.falseFlags, t.flagged), 0.05 + binomialTolerance(0.05, t.flagged), "\(model.name), \(runs) runs")
            XCTAssertEqual(t.rate(t.covered, t.intervals), 0.95, accuracy: 0.015, "\(model.name), \(runs) runs")
        }
    }

    /// Every case +30% (RTT worse, MiB/s better): the gate fails every suite, and the change shows
    /// as a significant common row of every metric; a change of every case's p99 alone shows in
    /// p99's common row only.
    func testAChangeOfEveryCaseFailsTheGateAndShowsAsCommon() throws {
        let t = try simulate(.base, runs: 3, suites: 20, changedShare: 1, change: 1.3, seed: 60_000)
        print("every case +30%: \(t.summary)")
        XCTAssertEqual(t.gatePassed, 0, "the gate passed a +30% regression")
        XCTAssertEqual(t.commonFound, t.suites, "the common row missed a change of every case")
        let p99 = try simulate(NoiseModel.all.first { $0.p99Only }!, runs: 3, suites: 20, changedShare: 1, change: 1.3, seed: 61_000)
        XCTAssertEqual(p99.commonFound, p99.suites, "the p99 common row missed a change of every case's p99")
        XCTAssertLessThanOrEqual(p99.rate(p99.commonP50Flagged, p99.suites), 0.05 + binomialTolerance(0.05, p99.suites), "p50's common row flagged where only p99 changed")
    }

    /// Each part of the method, taken out behind the test switch, fails the checks above on the
    /// model that needs it (the README's table names which).
    func testEveryBrokenMethodIsCaught() throws {
        let model = { (name: String) in NoiseModel.all.first { $0.name == name }! }
        let cases: [(String, NoiseModel, Int, Int)] = [
            ("prior-df-infinite", model("5% of cases with ten times the run variance"), 3, 60),
            ("z-for-t", model("suites of 6 cases"), 3, 240),
            ("no-bh", .base, 3, 60),
            ("no-trend", .base, 3, 60),
            ("no-shared-effect", model("machine-wide run sd 5%"), 3, 60),
        ]
        var controls: [String: ModelTally] = [:]
        for (broken, model, runs, count) in cases {
            // The intact method on the same suites passes, so that a failure is the broken part's.
            let key = "\(model.name), \(runs) runs a side"
            if controls[key] == nil {
                let control = try simulate(model, runs: runs, suites: count, changedShare: 0, change: 1, seed: 70_000)
                print("intact on \(key): \(control.summary)")
                XCTAssertEqual(Self.aaFailures(control), [], "the intact method on \(key), the broken methods' suites")
                controls[key] = control
            }
            let t = try simulate(model, runs: runs, suites: count, changedShare: 0, change: 1, seed: 70_000, broken: broken)
            let failures = Self.aaFailures(t, control: controls[key])
            print("broken \(broken) on \(key): \(t.summary); fails: \(failures)")
            XCTAssertFalse(failures.isEmpty, "the method with \(broken) passed every check on \(key)")
        }
    }
}
