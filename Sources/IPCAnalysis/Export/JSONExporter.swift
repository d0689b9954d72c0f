import Glibc
import IPCPlatform
import IPCModel

/// `compare --format json`: the whole comparison, lossless and versioned (`schema_version`): every
/// column of the CSV with typed values (numbers as JSON numbers at full precision, an empty cell as
/// null) and what the CSV leaves out (the sides, the gate's verdict per row, the notes). The fields
/// are documented in docs/comparing.md ("compare --format json").
package struct JSONExporter: Exporter {
    /// Goes up when a field is removed or changes meaning; a new field leaves it as it is.
    package static let schemaVersion = 1

    package func render(_ comparison: Comparison) -> String {
        let r = comparison.report
        let sides: [JSON] = r.sides.enumerated().map { i, side in
            .object([
                ("name", .string(r.sideName(i))),
                ("label", .string(side.label)),
                ("units", .integer(r.units[i].count)),
                ("cases", .array(r.within == nil ? Self.sideCases(r, i) : [])),
                ("files", .array(side.files.map { file in
                    let first = file.rows.first
                    return .object([("path", .string(file.path)), ("run_id", .nullable(first?.runID)),
                                    ("kernel_release", .nullable(first?.kernelRelease)), ("hostname", .nullable(first?.hostname)),
                                    ("cpu_model", .nullable(first?.cpuModel)), ("trials_file", .bool(file.trials != nil))])
                })),
            ])
        }
        let document = JSON.object([
            ("schema_version", .integer(Self.schemaVersion)),
            ("kind", .string("comparison")),
            ("ipcbench_version", .string(ipcbenchVersion)),
            ("confidence_level", .number(1 - r.alpha)),
            ("fail_on_regression_pct", comparison.gate.map(JSON.number) ?? .null),
            ("within", r.within.map { .object([("key", .string($0.key)), ("base", .string($0.base)), ("new", .string($0.new))]) } ?? .null),
            ("sides", .array(sides)),
            ("rows", .array(comparison.rows.map(Self.row))),
            ("unmatched", .array(r.unmatched.map { .object([("case", .string($0.0)), ("present_in", .array($0.1.map(JSON.string)))]) })),
            ("not_compared", .array(r.notCompared.map { .object([("case", .string($0.0)), ("statuses", .array($0.1.map(JSON.string)))]) })),
            ("notes", .array(r.notes.map(JSON.string))),
            ("warnings", .array(r.warnings.map(JSON.string))),
        ])
        return document.text() + "\n"
    }

    /// One row: the CSV's columns in its order, typed, then the fields the CSV lacks.
    package static func row(_ row: CompareRow) -> JSON {
        let (key, parameters) = keyFields(row.key)
        return .object([
            ("kind", .string(row.kind.rawValue)),
            ("new_file", .string(row.newFile)),
        ] + key + [
            ("metric", .string(row.metric.name)),
            ("base", .nullable(row.base)),
            ("new", .nullable(row.new)),
            ("change_pct", .number(row.changePercent)),
            ("significant", .bool(row.significant)),
            ("change_ci95_low_pct", .nullable(row.lowPercent)),
            ("change_ci95_high_pct", .nullable(row.highPercent)),
            ("detectable_pct", .nullable(row.detectablePercent)),
            ("method", .nullable(row.method.rawValue)),
            ("p_value", .nullable(row.pValue)),
            ("q_value", .nullable(row.qValue)),
            ("mde_pct", .nullable(row.mdePercent)),
            ("note", .nullable(row.note)),
        ] + parameters + [
            ("case", .string(row.name)),
            ("unit", .string(row.metric.unit)),
            ("higher_is_better", .bool(row.metric.higherIsBetter)),
            ("verdict", .string(row.verdict)),
            ("regression", .bool(row.regression)),
            ("cases", row.cases.map(JSON.integer) ?? .null),
            ("base_spread_pct", .nullable(row.baseSpread.map { (exp($0) - 1) * 100 })),
            ("new_spread_pct", .nullable(row.newSpread.map { (exp($0) - 1) * 100 })),
        ])
    }

    /// A case key's fields as the CSV's columns, typed: (transport to options), (the parameters).
    package static func keyFields(_ key: CaseKey?) -> (key: [(String, JSON)], parameters: [(String, JSON)]) {
        func whole(_ text: String?) -> JSON { text.flatMap { Int($0) }.map(JSON.integer) ?? .null }
        let parameters: [(String, JSON)] = CaseParameter.allCases.map { p in
            let value = key?.value(of: p)
            switch p {
            case .topology, .wait: return (p.rawValue, .nullable(value))
            case .depth, .receivers, .pairs, .publishers, .subscribers, .topics, .subscriptions, .rate: return (p.rawValue, whole(value))
            }
        }
        return ([("transport", .nullable(key?.transport)), ("pattern", .nullable(key?.pattern)), ("payload_bytes", whole(key?.payloadBytes)),
                 ("placement", .nullable(key?.placement)), ("options", .nullable(key?.options))], parameters)
    }

    /// Each case that every file of side `i` ran ok, per metric with figures in every file: the
    /// side's center as compare computes it (the geometric mean of its units' figures, a run's
    /// figure the median of its trials: a row's base or new) and the lowest and highest of its
    /// runs' figures, for programs that draw a side (scripts/plot.py) without computing their own.
    /// Cases keep every field of their key (`--ignore` does not apply).
    package static func sideCases(_ r: CompareReport, _ i: Int) -> [JSON] {
        let side = r.sides[i]
        let maps: [[CaseKey: CaseRow]] = side.files.map { file in
            var map: [CaseKey: CaseRow] = [:]
            for row in file.rows where row.status == "ok" && map[row.key] == nil { map[row.key] = row }
            return map
        }
        var seen = Set<CaseKey>()
        var out: [JSON] = []
        for first in side.files[0].rows where first.status == "ok" && seen.insert(first.key).inserted {
            let rows = maps.compactMap { $0[first.key] }
            guard rows.count == side.files.count else { continue }
            for metric in Metric.of(pattern: first.key.pattern) {
                var figures: [Double] = []
                for (file, row) in zip(side.files, rows) where hasFigures(file, row, metric) {
                    guard case .success(let f) = runFigures(file, row, metric, caseName: first.key.name) else { break }
                    figures.append(f.center)
                }
                guard figures.count == side.files.count else { continue }
                // As Change.base: a unit's figure is the mean of its runs' log figures.
                let unitLogs = r.units[i].map { unit in unit.reduce(0) { $0 + log(figures[$1]) } / Double(unit.count) }
                let (key, parameters) = keyFields(first.key)
                out.append(.object([("case", .string(first.key.name))] + key + parameters + [
                    ("metric", .string(metric.name)),
                    ("unit", .string(metric.unit)),
                    ("center", .number(exp(unitLogs.reduce(0, +) / Double(unitLogs.count)))),
                    ("lowest_run", .number(figures.min()!)),
                    ("highest_run", .number(figures.max()!)),
                    ("runs", .integer(figures.count)),
                ]))
            }
        }
        return out
    }
}
