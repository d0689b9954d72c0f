import Glibc
import IPCPlatform
import IPCModel

/// `--within KEY=A,B`: two values of one key compared inside the same runs.
public struct WithinSpec: Sendable, Equatable {
    /// A join key's name (placement, transport, ...) or a setting's column (workers, nodelay, sndbuf, ...).
    public let key: String
    public let base: String
    public let new: String

    /// Parses `KEY=A,B`.
    public init(_ text: String) throws {
        guard let eq = text.firstIndex(of: "="), case let values = text[text.index(after: eq)...].split(separator: ",", omittingEmptySubsequences: false),
              values.count == 2, !values[0].isEmpty, !values[1].isEmpty, eq != text.startIndex else {
            throw InputError("--within \(text): expected KEY=A,B, for example placement=same,split or sndbuf=131072,262144")
        }
        key = String(text[..<eq])
        base = String(values[0])
        new = String(values[1])
        guard base != new else { throw InputError("--within \(text): the two values are the same; name two different values") }
    }

    public var label: String { "\(key)=\(base),\(new)" }

    /// The row's value of the key and the row's key without it; nil when the row has no such value.
    /// A setting's value comes from its own column; the rest of the key's options label is made
    /// again from the other settings' columns (never read back out of the label).
    package func split(_ row: CaseRow) throws -> (value: String, rest: CaseKey)? {
        if let join = JoinKey(rawValue: self.key) {
            let value = row.key[keyPath: join.keyPath]
            return value.isEmpty ? nil : (value, row.key.ignoring([join]))
        }
        guard SettingColumn.all.contains(where: { $0.name == self.key }) else {
            let names = JoinKey.allCases.map(\.rawValue) + SettingColumn.all.map(\.name)
            throw InputError("--within \(label): \(self.key) is not a key or a setting ipcbench writes (\(names.joined(separator: ", ")))")
        }
        guard !row.settings.isEmpty else {
            throw InputError("--within \(label): the results files have no \(self.key) column (written before 0.4.0); compare runs of ipcbench 0.4.0 or later")
        }
        guard let value = row.settings[self.key], !value.isEmpty else { return nil }
        var rest = row.key
        rest.options = optionsLabel(settings: row.settings, except: self.key)
        return (value, rest)
    }
}

/// `--within`: the cases whose `spec.key` is `spec.base` against those where it is `spec.new`, all
/// else equal, inside the same files. One file: its rounds are the paired units; several: its runs.
public func compareWithin(_ side: Side, spec: WithinSpec, ignoring: Set<JoinKey>, alpha: Double) throws -> CompareReport {
    for file in side.files {
        guard let trials = file.trials else {
            throw InputError("\(file.path): --within pairs the trials of one round: the trials file <stem>-trials.csv must be beside it")
        }
        if trials.values.contains(where: { $0.contains { $0.round == nil } }) {
            throw InputError("\(file.path): its trials have no rounds (the sequential schedule); --within needs a run with --schedule interleaved")
        }
    }
    var warnings: [String] = [], notes: [String] = []
    environmentDifferences([side], sideName: { _ in "the side" }, warnings: &warnings, notes: &notes)
    // Per file, the ok rows by their key without the compared field.
    var pairs: [[CaseKey: (base: CaseRow, new: CaseRow)]] = []
    var order: [CaseKey] = []
    var seen = Set<CaseKey>()
    var valuesSeen = Set<String>()
    for file in side.files {
        var halves: [CaseKey: (base: CaseRow?, new: CaseRow?)] = [:]
        for row in file.rows where row.status == "ok" {
            guard let (value, rest) = try spec.split(row) else { continue }
            valuesSeen.insert(value)
            let k = rest.ignoring(ignoring)
            if value == spec.base, halves[k]?.base == nil { halves[k, default: (nil, nil)].base = row }
            if value == spec.new, halves[k]?.new == nil { halves[k, default: (nil, nil)].new = row }
        }
        var complete: [CaseKey: (base: CaseRow, new: CaseRow)] = [:]
        for (k, h) in halves { if let b = h.base, let n = h.new { complete[k] = (b, n) } }
        // The cases in the file's order, each once.
        for row in file.rows {
            guard let k = try spec.split(row)?.rest.ignoring(ignoring), complete[k] != nil, seen.insert(k).inserted else { continue }
            order.append(k)
        }
        pairs.append(complete)
    }
    let common = order.filter { k in pairs.allSatisfy { $0[k] != nil } }
    guard !common.isEmpty else {
        let found = valuesSeen.sorted().joined(separator: ", ")
        throw InputError("--within \(spec.label): no case has both values in \(side.label) (values of \(spec.key) found: \(found.isEmpty ? "none" : found))")
    }
    var changes: [Change] = []
    var samples: [UnitSample?] = []
    let oneRun = side.files.count == 1
    for k in common {
        for metric in Metric.of(pattern: k.pattern)
        where zip(side.files, pairs.map { $0[k]! }).allSatisfy({ hasFigures($0, $1.base, metric) && hasFigures($0, $1.new, metric) }) {
            // Per run, the case's rounds paired: (base, new) log figures of each round both have.
            var runs: [[(Double, Double)]] = [], variances: [RunFigures] = []
            var problem: String? = nil
            for (file, pair) in zip(side.files, pairs.map { $0[k]! }) {
                guard case .success(let b) = runFigures(file, pair.base, metric, caseName: k.name),
                      case .success(let n) = runFigures(file, pair.new, metric, caseName: k.name),
                      case .trials(let x) = b, case .trials(let y) = n else {
                    problem = "\(file.path): \(k.name): \(metric.trialColumn) has figures that are not positive numbers; the case is skipped"
                    break
                }
                variances += [b, n]
                let byRound = Dictionary(y.map { ($0.round!, log($0.value)) }, uniquingKeysWith: { a, _ in a })
                runs.append(x.compactMap { t in byRound[t.round!].map { (log(t.value), $0) } })
            }
            if let problem { if !warnings.contains(problem) { warnings.append(problem) }; continue }
            // A unit: one run's mean paired figures (nil where the run has no round of both); in one
            // run, its rounds, which share the run's effect and so give an interval but no verdict.
            let units: [(Double, Double)?] = oneRun ? runs[0].map { $0 }
                : runs.map { r in r.isEmpty ? nil : (r.reduce(0) { $0 + $1.0 } / Double(r.count), r.reduce(0) { $0 + $1.1 } / Double(r.count)) }
            let present = units.compactMap { $0 }
            var change = Change(caseName: k.name, key: k, metric: metric, newSide: 1,
                                base: exp(present.reduce(0) { $0 + $1.0 } / Double(max(present.count, 1))),
                                new: exp(present.reduce(0) { $0 + $1.1 } / Double(max(present.count, 1))),
                                baseUnitLogs: units.map { $0?.0 }, newUnitLogs: units.map { $0?.1 })
            change.baseSpread = standardDeviation(present.map(\.0))
            change.newSpread = standardDeviation(present.map(\.1))
            if oneRun {
                withinRunPairedInterval(&change, present, alpha: alpha)
                samples.append(nil)
            } else {
                if present.count < 2 { change.outcome.reason = "fewer than 2 runs with paired rounds: no interval" }
                samples.append(present.count < 2 ? nil
                               : UnitSample(base: units.map { $0?.0 }, new: units.map { $0?.1 }, paired: true, trialVariance: robustTrialVariance(variances),
                                            trialVarianceHalves: trialVarianceHalves(stride(from: 0, to: variances.count, by: 2).map { Array(variances[$0..<$0 + 2]) })))
            }
            changes.append(change)
        }
    }
    var geomeans: [GeomeanChange] = []
    if !oneRun {
        let common = testChanges(&changes, samples, newSide: 1, paired: true, alpha: alpha)
        geomeans = geometricMeans(changes, newSide: 1, paired: true, units: true, alpha: alpha) + common
        adjustSide(&changes, &geomeans, newSide: 1)
    } else {
        geomeans = geometricMeans(changes, newSide: 1, paired: true, units: false, alpha: alpha)
    }
    return CompareReport(sides: [side, side], changes: changes, geomeans: geomeans, unmatched: [], notCompared: [],
                         warnings: warnings, notes: notes, alpha: alpha, within: spec, spread: nil,
                         units: [side, side].map { $0.files.indices.map { [$0] } })
}

/// `--within` in one run: the paired rounds' t interval, labelled within-run. The rounds share the
/// run's effect on the two cases (a placement or a payload may move with the run), which one run
/// cannot measure: an interval, never a verdict.
package func withinRunPairedInterval(_ change: inout Change, _ rounds: [(Double, Double)], alpha: Double) {
    let differences = rounds.map { $1 - $0 }
    guard differences.count >= 2 else {
        change.outcome.reason = "fewer than 2 paired rounds: no interval"
        return
    }
    let mean = differences.reduce(0, +) / Double(differences.count)
    let variance = differences.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(differences.count - 1)
    guard let test = CaseTest(difference: mean, se: (variance / Double(differences.count)).squareRoot(), df: Double(differences.count - 1), alpha: alpha) else {
        change.outcome.reason = "identical figures in every round (quantized data): no interval"
        return
    }
    change.outcome.interval = test.interval
    change.outcome.method = .withinRun
    change.outcome.reason = "one run: no verdict"
}
