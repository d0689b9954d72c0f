import Glibc
import IPCPlatform
import IPCModel

/// How a change was tested (the `method` column of the CSV).
public enum IntervalMethod: String, Sendable {
    /// Several runs (or boots) on a side, at least `casesToPool` cases of the metric: the moderated
    /// t over the units' log medians, with the shift every case shares in each unit modelled.
    case moderatedT = "moderated-t"
    /// `--within` with several runs, at least `casesToPool` cases: the same over the runs' paired differences.
    case pairedModeratedT = "paired-moderated-t"
    /// Several runs a side, fewer than `casesToPool` cases of the metric: t over the case's own units.
    case runsT = "runs-t"
    /// `--within` with several runs, fewer than `casesToPool` cases: t over the case's own paired differences.
    case pairedRunsT = "paired-runs-t"
    /// Geometric mean, several runs on a side: Welch's t over the runs' mean log medians.
    case runsWelch = "runs-welch"
    /// Geometric mean under `--within`: t over the units' mean paired differences.
    case pairedT = "paired-t"
    /// The shift every case shares: the median change, t over the units' shared offsets.
    case commonT = "common-t"
    /// One run a side (or `--within` in one run): an interval from the trials or rounds. Never a verdict.
    case withinRun = "within-run"
    /// One run a side and no trials file: Welch on the MiB/s summary columns. Never a verdict.
    case withinRunSummary = "within-run-summary"
    /// No interval could be computed (the report says why).
    case none = ""

    /// Whether a test of this kind may call a change significant: only tests whose unit carries the
    /// variance between runs (or pairs the cases within runs).
    public var givesVerdict: Bool {
        switch self {
        case .moderatedT, .pairedModeratedT, .runsT, .pairedRunsT, .runsWelch, .pairedT, .commonT: return true
        case .withinRun, .withinRunSummary, .none: return false
        }
    }
}

/// The false-discovery rate at which a change is called significant (Benjamini-Hochberg q).
public let significanceLevel = 0.05

/// One case and metric, the base side against one new side.
public struct Change {
    public let caseName: String
    /// The case's key, the fields left out of the join empty.
    public let key: CaseKey
    public let metric: Metric
    public let newSide: Int
    /// Each side's center: the geometric mean of its units' figures (a run's figure is the median
    /// of its trials; under `--within` with one run a unit is one round's trial).
    public let base: Double
    public let new: Double
    /// The test; its q-value is adjusted over every row of this new side (cases, geomeans, common).
    public var outcome = TestOutcome()
    /// Per unit, the log figure (used by the geometric mean over units); nil where the case lacks the unit.
    package let baseUnitLogs: [Double?]
    package let newUnitLogs: [Double?]
    /// Each side's spread, the standard deviation of its units' log figures; of its trials' where a
    /// side has one unit (`spreadOfTrials`). nil where it has neither.
    public var baseSpread: Double? = nil
    public var newSpread: Double? = nil
    public var spreadOfTrials = false

    /// new/base − 1, in percent.
    public var percent: Double { (new / base - 1) * 100 }
}

/// What a test of a change found.
public struct TestOutcome: Sendable {
    /// For log(new/base); nil when none could be computed (`reason` says why).
    public var interval: LogInterval? = nil
    public var method = IntervalMethod.none
    public var pValue: Double? = nil
    /// Benjamini-Hochberg adjusted over the test's family.
    public var qValue: Double? = nil
    /// Minimum detectable effect at 80% power (log ratio), for the unadjusted test at 5%.
    public var mde: Double? = nil
    public var reason: String? = nil
}

extension TestOutcome {
    /// A test's interval, p-value and MDE, by `method`.
    package init(_ test: CaseTest, method: IntervalMethod) {
        self.init(interval: test.interval, method: method, pValue: test.pValue, mde: test.mde)
    }
}

/// What a case's or a geometric mean's test says.
public protocol Verdict {
    var metric: Metric { get }
    var outcome: TestOutcome { get }
    /// new/base − 1, in percent.
    var percent: Double { get }
}

extension Verdict {
    public var interval: LogInterval? { outcome.interval }
    public var method: IntervalMethod { outcome.method }
    public var pValue: Double? { outcome.pValue }
    public var qValue: Double? { outcome.qValue }
    public var mde: Double? { outcome.mde }
    public var reason: String? { outcome.reason }
    public var significant: Bool { method.givesVerdict && (qValue ?? 1) < significanceLevel }
    /// `better` or `worse` (by the metric's direction) where significant, `~` where not,
    /// `within-run` (short: `-`) and `no interval` (short: `n/a`) where there is no verdict to give.
    public func verdictWord(short: Bool = false) -> String {
        switch method {
        case .none: return short ? "n/a" : "no interval"
        case .withinRun, .withinRunSummary: return short ? "-" : "within-run"
        default: return significant ? ((percent >= 0) == metric.higherIsBetter ? "better" : "worse") : "~"
        }
    }

    /// A significant regression whose whole interval lies beyond `pct` percent.
    public func isRegression(beyond pct: Double) -> Bool {
        guard significant, let i = interval else { return false }
        return metric.higherIsBetter ? (exp(i.high) - 1) * 100 < -pct : (exp(i.low) - 1) * 100 > pct
    }
}

extension Change: Verdict {}
extension GeomeanChange: Verdict {}

/// A row for a whole metric of one new side: the geometric mean of new/base over its cases, or the
/// shift they all share (`common`: the median change, tested against the units' shared offsets).
public struct GeomeanChange {
    public enum Kind: String, Sendable { case geomean, common }
    public let kind: Kind
    public let metric: Metric
    public let newSide: Int
    public let cases: Int
    public let percent: Double
    /// The test; its q-value is adjusted with the cases of this new side.
    public var outcome = TestOutcome()
}

/// Everything `ipcbench compare` reports.
public struct CompareReport {
    public let sides: [Side]
    public let changes: [Change]
    public let geomeans: [GeomeanChange]
    /// Cases not present in every file: (case name, where it is present).
    public let unmatched: [(String, [String])]
    /// Cases that are not ok in some file: (case name, "<status> in <where>" for each such file).
    public let notCompared: [(String, [String])]
    public let warnings: [String]
    /// Differences between the sides' environments that are expected (the kernel).
    public let notes: [String]
    /// The interval level is 1 − alpha.
    public let alpha: Double
    /// Set for `--within`: both "sides" are cases of the same files.
    public let within: WithinSpec?
    public let spread: SpreadEstimate?
    /// Each side's units: groups of its files' indices (`comparisonUnits`).
    public let units: [[[Int]]]

    /// Some new side is compared one run against one run: run-to-run variance is not measured.
    public var oneRunComparison: Bool {
        within == nil && units[0].count == 1 && units.dropFirst().contains { $0.count == 1 }
    }

    package func sideName(_ i: Int) -> String {
        if let within { return i == 0 ? within.base : within.new }
        return i == 0 ? "base" : (sides.count > 2 ? "new\(i)" : "new")
    }
}

/// Whether `row` in `file` has any figure for `metric`: a file from before the metric's version, or
/// a case without it, has none, and the metric is then not compared (nothing is said).
package func hasFigures(_ file: ResultFile, _ row: CaseRow, _ metric: Metric) -> Bool {
    !row.figure(metric).isEmpty || (file.trials?[row.key] ?? []).contains { !$0.figure(metric).isEmpty }
}

/// The figures of `row` in `file` for `metric`, or a warning naming what is wrong with them.
package func runFigures(_ file: ResultFile, _ row: CaseRow, _ metric: Metric, caseName: String) -> Result<RunFigures, CompareWarning> {
    func bad(_ column: String, _ text: String, trial: String? = nil) -> CompareWarning {
        CompareWarning("\(file.path): \(caseName): \(column) is '\(excerpt(text))'\(trial.map { " in trial \($0)" } ?? ""), not a positive number up to 1e15; the case is skipped")
    }
    if let trials = file.trials?[row.key] {
        var values: [(Double, Int?)] = []
        for t in trials {
            guard let v = positiveFigure(t.figure(metric)) else { return .failure(bad(metric.trialColumn, t.figure(metric), trial: t.trial)) }
            values.append((v, t.round))
        }
        if !values.isEmpty { return .success(.trials(values)) }
    }
    guard let m = positiveFigure(row.figure(metric)) else { return .failure(bad(metric.caseColumn, row.figure(metric))) }
    return .success(.summary(median: m, welch: row.summary(metric)))
}

/// A warning line (an Error so that it can travel in a Result).
package struct CompareWarning: Error {
    package let text: String
    package init(_ text: String) { self.text = text }
}

/// Compares each new side with the base side (sides[0]), case by case, with 1 − alpha intervals.
public func compareResults(_ sides: [Side], ignoring: Set<JoinKey>, alpha: Double) -> CompareReport {
    let units = comparisonUnits(sides)
    let names = CompareReport(sides: sides, changes: [], geomeans: [], unmatched: [], notCompared: [], warnings: [], notes: [],
                              alpha: alpha, within: nil, spread: nil, units: units)
    func place(_ side: Int, _ file: Int) -> String {
        sides[side].files.count > 1 ? "\(names.sideName(side)) run \(file + 1)" : names.sideName(side)
    }
    var warnings: [String] = []
    var notes: [String] = []
    // Index each file's ok rows by key, keeping the first of any duplicates.
    var indexed: [[[CaseKey: CaseRow]]] = []
    var order: [CaseKey] = []
    var seen = Set<CaseKey>()
    for side in sides {
        var sideMaps: [[CaseKey: CaseRow]] = []
        for file in side.files {
            var map: [CaseKey: CaseRow] = [:]
            var duplicates = 0
            for row in file.rows where row.status == "ok" {
                let k = row.key.ignoring(ignoring)
                if map[k] != nil { duplicates += 1; continue }
                map[k] = row
                if seen.insert(k).inserted { order.append(k) }
            }
            if duplicates > 0 {
                warnings.append("\(file.path): \(duplicates) cases match another case of the same file once \(ignoring.map(\.rawValue).sorted().joined(separator: ", ")) is ignored; the first of each is compared")
            }
            sideMaps.append(map)
        }
        indexed.append(sideMaps)
    }
    environmentDifferences(sides, sideName: names.sideName, warnings: &warnings, notes: &notes)
    if sides.contains(where: { $0.files.count > 1 }) {
        for side in sides { for file in side.files where file.trials == nil {
            warnings.append("\(file.path): no trials file beside it; its run figures come from its median columns (for latency the percentiles of all round trips, not the median of the trials' percentiles)")
        } }
    }

    var notCompared: [(String, [String])] = []
    for (s, side) in sides.enumerated() {
        for (f, file) in side.files.enumerated() {
            for row in file.rows where row.status != "ok" {
                let n = row.key.ignoring(ignoring).name, what = "\(row.status) in \(place(s, f))"
                if let index = notCompared.firstIndex(where: { $0.0 == n }) { notCompared[index].1.append(what) } else { notCompared.append((n, [what])) }
            }
        }
    }

    var cache: [[Int]: [Double]] = [:]
    func counts(_ m: Int, _ n: Int) -> [Double] {
        if let c = cache[[m, n]] { return c }
        let c = mannWhitneyCounts(m, n)
        cache[[m, n]] = c
        return c
    }
    var changes: [Change] = []
    var samples: [UnitSample?] = []
    var unmatched: [(String, [String])] = []
    var summaryWarned = Set<String>()
    var spreadCases: [(runVariance: Double, trialVariance: Double, trials: Double)] = []
    for k in order {
        var present: [String] = []
        var complete: [Bool] = []
        for (s, maps) in indexed.enumerated() {
            let have = maps.indices.filter { maps[$0][k] != nil }
            complete.append(have.count == maps.count)
            if have.count == maps.count { present.append(names.sideName(s)) } else { present += have.map { place(s, $0) } }
        }
        let caseName = k.name
        if complete.contains(false) { unmatched.append((caseName, present)) }
        guard complete[0] else { continue }
        let baseRows = indexed[0].map { $0[k]! }
        for newIndex in sides.indices.dropFirst() where complete[newIndex] {
            let newRows = indexed[newIndex].map { $0[k]! }
            for (metricIndex, metric) in Metric.of(pattern: baseRows[0].key.pattern).enumerated() {
                let files = sides[0].files + sides[newIndex].files
                guard zip(files, baseRows + newRows).allSatisfy({ hasFigures($0, $1, metric) }) else { continue }
                var figures: [[RunFigures]] = [[], []]
                var problem: String? = nil
                for (slot, (side, rows)) in [(sides[0], baseRows), (sides[newIndex], newRows)].enumerated() {
                    for (file, row) in zip(side.files, rows) {
                        switch runFigures(file, row, metric, caseName: caseName) {
                        case .success(let f): figures[slot].append(f)
                        case .failure(let w): problem = problem ?? w.text
                        }
                    }
                }
                if let problem {
                    if !warnings.contains(problem) { warnings.append(problem) }
                    continue
                }
                let (b, n) = (figures[0], figures[1])
                // A unit's figure: the mean of its runs' log figures (a boot's runs, or one run).
                let (baseBoots, newBoots) = (units[0], units[newIndex])
                func unitLogs(_ f: [RunFigures], _ boots: [[Int]]) -> [Double] {
                    boots.map { boot in boot.reduce(0) { $0 + log(f[$1].center) } / Double(boot.count) }
                }
                let baseLogs = unitLogs(b, baseBoots), newLogs = unitLogs(n, newBoots)
                var change = Change(caseName: caseName, key: k, metric: metric, newSide: newIndex,
                                    base: exp(baseLogs.reduce(0, +) / Double(baseLogs.count)),
                                    new: exp(newLogs.reduce(0, +) / Double(newLogs.count)),
                                    baseUnitLogs: baseLogs, newUnitLogs: newLogs)
                change.spreadOfTrials = baseBoots.count == 1 && newBoots.count == 1
                let (pooledBase, pooledNew) = (pooled(b), pooled(n))
                change.baseSpread = change.spreadOfTrials ? pooledBase.logTrials.flatMap(standardDeviation) : standardDeviation(baseLogs)
                change.newSpread = change.spreadOfTrials ? pooledNew.logTrials.flatMap(standardDeviation) : standardDeviation(newLogs)
                if baseBoots.count > 1 || newBoots.count > 1 {
                    let trialVariance = pooledTrialVariance(b + n)
                    samples.append(UnitSample(base: baseLogs, new: newLogs, paired: false, trialVariance: robustTrialVariance(b + n),
                                              trialVarianceHalves: trialVarianceHalves((b + n).map { [$0] })))
                    // The spread of the case's main metric, from each side with two runs or more.
                    if metricIndex == 0, let trialVariance, newIndex == 1 {
                        for side in [b, n] where side.count > 1 {
                            let logs = side.map { log($0.center) }
                            let mean = logs.reduce(0, +) / Double(logs.count)
                            let trials = Double(side.reduce(0) { $0 + ($1.logTrials?.count ?? 0) }) / Double(side.count)
                            spreadCases.append((logs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(logs.count - 1), trialVariance, trials))
                        }
                    }
                } else {
                    samples.append(nil)
                    withinRunInterval(&change, pooledBase, pooledNew, alpha: alpha, counts: counts)
                    if change.method == .withinRunSummary {
                        let lacking = [(sides[0].files[0], baseRows[0]), (sides[newIndex].files[0], newRows[0])].filter { $0.0.trials?[$0.1.key] == nil }.map(\.0.path)
                        let line = "\(caseName): no trials in \(lacking.joined(separator: " or ")); its within-run interval comes from a Welch test on the summary columns"
                        if summaryWarned.insert(line).inserted { warnings.append(line) }
                    }
                }
                changes.append(change)
            }
        }
    }
    var geomeans: [GeomeanChange] = []
    for newIndex in sides.indices.dropFirst() {
        let common = testChanges(&changes, samples, newSide: newIndex, paired: false, alpha: alpha)
        geomeans += geometricMeans(changes, newSide: newIndex, paired: false, units: units[0].count > 1 || units[newIndex].count > 1, alpha: alpha)
            + common
        adjustSide(&changes, &geomeans, newSide: newIndex)
    }
    return CompareReport(sides: sides, changes: changes, geomeans: geomeans, unmatched: unmatched, notCompared: notCompared,
                         warnings: warnings, notes: notes, alpha: alpha, within: nil,
                         spread: spreadEstimate(spreadCases, files: sides.flatMap(\.files), sharedRunVariance: mainSharedVariance(changes, samples)),
                         units: units)
}

/// The shared run variance of the metric with the most cases against the first new side.
package func mainSharedVariance(_ changes: [Change], _ samples: [UnitSample?]) -> Double? {
    let first = changes.indices.filter { changes[$0].newSide == 1 && samples[$0] != nil }
    let byMetric = Dictionary(grouping: first) { changes[$0].metric.trialColumn }
    guard let largest = byMetric.values.max(by: { $0.count < $1.count }) else { return nil }
    return testCases(largest.map { samples[$0]! }, alpha: 0.05).sharedVariance
}

/// One run a side: the within-run interval of the trials, never a verdict, or the reason there is none.
package func withinRunInterval(_ change: inout Change, _ b: RunFigures, _ n: RunFigures, alpha: Double, counts: @escaping (Int, Int) -> [Double]) {
    if case .trials(let x) = b, case .trials(let y) = n {
        let interval = shiftInterval(x.map { log($0.value) }, y.map { log($0.value) }, alpha: alpha, counts: counts)
        if let interval, interval.isBounded, interval.low < interval.high {
            change.outcome.interval = interval
            change.outcome.method = .withinRun
        } else if let interval, interval.isBounded {
            change.outcome.reason = "identical trials on both sides (quantized figures): no interval"
        } else {
            change.outcome.reason = "\(x.count) vs \(y.count) trials are too few for a 95% interval: use -r 5 or more"
        }
        return
    }
    // A side without trials: Welch on the MiB/s summary columns (of the trials, where one side has them).
    func summary(_ f: RunFigures) -> (mean: Double, sd: Double, n: Double)? {
        switch f {
        case .summary(_, let w): return w
        case .trials(let t):
            guard change.metric == .throughput, t.count > 1, let s = Summary(t.map(\.value)) else { return nil }
            return (s.mean, s.standardDeviation, Double(s.count))
        }
    }
    if let wb = summary(b), let wn = summary(n), let i = summaryWelchInterval(base: wb, new: wn, alpha: alpha) {
        change.outcome.interval = i
        change.outcome.method = .withinRunSummary
        return
    }
    change.outcome.reason = "no trials file: no within-run interval for \(change.metric.name)"
}

/// Tests the changes of one new side that have units, metric by metric (`testCases`: the cases of
/// a metric share how their variance between units relates to their trials' spread, and what moves
/// every case of a unit together); returns each metric's `common` row.
package func testChanges(_ changes: inout [Change], _ samples: [UnitSample?], newSide: Int, paired: Bool, alpha: Double) -> [GeomeanChange] {
    let mine = changes.indices.filter { changes[$0].newSide == newSide && samples[$0] != nil }
    var common: [GeomeanChange] = []
    for metric in Metric.all {
        let group = mine.filter { changes[$0].metric == metric }
        guard !group.isEmpty else { continue }
        let (tests, shift, _, pooled) = testCases(group.map { samples[$0]! }, alpha: alpha)
        let method: IntervalMethod = pooled ? (paired ? .pairedModeratedT : .moderatedT) : (paired ? .pairedRunsT : .runsT)
        for (i, test) in zip(group, tests) {
            guard let test else {
                let identical = samples[i]!.groups.allSatisfy { g in let v = g.compactMap { $0 }; return v.allSatisfy { $0 == v[0] } }
                changes[i].outcome.reason = identical
                    ? "identical figures on both sides (quantized data): no interval"
                    : "too few units for an interval: take at least 3 runs a side"
                continue
            }
            changes[i].outcome = TestOutcome(test, method: method)
        }
        guard group.count >= 2 else { continue }
        let median = median(group.map { log(changes[$0].new / changes[$0].base) })
        var row = GeomeanChange(kind: .common, metric: metric, newSide: newSide, cases: group.count, percent: (exp(shift?.difference ?? median) - 1) * 100)
        if let shift {
            row.outcome = TestOutcome(shift, method: .commonT)
        } else {
            row.outcome.reason = "too few units for the shift every case shares: take at least 2 runs a side"
        }
        common.append(row)
    }
    return common
}

/// One error budget for the whole side: the p-values of its cases, geometric means and common
/// shifts adjusted together (Benjamini-Hochberg), so that an A/A comparison flags nothing 95% of the time.
package func adjustSide(_ changes: inout [Change], _ rows: inout [GeomeanChange], newSide: Int) {
    let family = changes.indices.filter { changes[$0].newSide == newSide }
    let mine = rows.indices.filter { rows[$0].newSide == newSide }
    let q = benjaminiHochberg(family.map { changes[$0].method.givesVerdict ? changes[$0].pValue : nil }
                              + mine.map { rows[$0].method.givesVerdict ? rows[$0].pValue : nil })
    for (i, value) in zip(family + mine.map { -1 - $0 }, q) {
        if i >= 0 { changes[i].outcome.qValue = value } else { rows[-1 - i].outcome.qValue = value }
    }
}

/// The geometric mean per metric of one new side. With units (runs, or paired runs), each unit's
/// mean over the cases of its log figures is one value (a unit's drift is shared by all its cases),
/// and the test is over those; with one run a side there is no interval.
package func geometricMeans(_ changes: [Change], newSide: Int, paired: Bool, units: Bool, alpha: Double) -> [GeomeanChange] {
    var out: [GeomeanChange] = []
    for metric in Metric.all {
        let matching = changes.filter { $0.newSide == newSide && $0.metric == metric }
        guard !matching.isEmpty else { continue }
        let count = Double(matching.count)
        var g = GeomeanChange(kind: .geomean, metric: metric, newSide: newSide, cases: matching.count,
                              percent: (exp(matching.reduce(0) { $0 + log($1.new / $1.base) } / count) - 1) * 100,
                              outcome: TestOutcome())
        // Every case must have every unit: a unit's mean over the cases is taken only then.
        let (baseCount, newCount) = (matching[0].baseUnitLogs.count, matching[0].newUnitLogs.count)
        let sameUnits = matching.allSatisfy {
            $0.baseUnitLogs.count == baseCount && $0.newUnitLogs.count == newCount && !$0.baseUnitLogs.contains(nil) && !$0.newUnitLogs.contains(nil)
        }
        if !units {
            g.outcome.reason = "one run a side: no interval for the geometric mean"
        } else if !sameUnits {
            g.outcome.reason = "the cases have different units (rounds or runs): no interval for the geometric mean"
        } else {
            let baseUnits = (0..<baseCount).map { r in matching.reduce(0) { $0 + $1.baseUnitLogs[r]! } / count }
            let newUnits = (0..<newCount).map { r in matching.reduce(0) { $0 + $1.newUnitLogs[r]! } / count }
            let test = paired ? testCases([UnitSample(base: baseUnits, new: newUnits, paired: true)], alpha: alpha).cases[0]
                              : welchTest(baseUnits, newUnits, alpha: alpha)
            if let test {
                g.outcome = TestOutcome(test, method: paired ? .pairedT : .runsWelch)
            } else {
                g.outcome.reason = "identical figures on both sides: no interval"
            }
        }
        out.append(g)
    }
    return out
}

/// Warns about every environment column (and the placement modes) that differs between or within
/// the sides. The kernel differing between the sides is the point of a comparison: a note.
package func environmentDifferences(_ sides: [Side], sideName: (Int) -> String, warnings: inout [String], notes: inout [String]) {
    var columns: [String] = []
    for side in sides { for file in side.files { for c in file.environmentColumnNames where !columns.contains(c) { columns.append(c) } } }
    func quoted(_ values: [String]) -> String { values.map { "\"\($0)\"" }.joined(separator: ", ") }
    func values(_ side: Side, _ column: String) -> [String] {
        var out: [String] = []
        for file in side.files {
            // By name in the whole row: a column of one file's environment group may sit after `transport` in another's.
            for row in file.cases {
                let v = row[column] ?? "(no such column)"
                if !out.contains(v) { out.append(v) }
            }
        }
        return out
    }
    let kernel = ["kernel_release", "kernel_version", "proc_version", "kernel_cmdline"]
    for column in columns {
        let perSide = sides.map { values($0, column) }
        for (i, v) in perSide.enumerated() where v.count > 1 {
            warnings.append("the runs of \(sideName(i)) differ in \(column): \(quoted(v))")
        }
        if perSide.contains(where: { Set($0) != Set(perSide[0]) }) {
            let line = "the sides differ in \(column): " + perSide.map(quoted).joined(separator: " vs ")
            if kernel.contains(column) { notes.append(line) } else { warnings.append(line) }
        }
    }
    guard sides.count > 1 else { return }
    let modes = sides.map { side in Set(side.files.flatMap { $0.rows.map(\.key.placement) }).sorted().joined(separator: "+") }
    if modes.contains(where: { $0 != modes[0] }) {
        warnings.append("the sides differ in placement: " + modes.joined(separator: " vs "))
    }
}
