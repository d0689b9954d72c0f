import Glibc
import IPCPlatform
import IPCModel

/// One output format of compare's result, one file each in this folder (as hyperfine's `export/`):
/// every format renders the same rows (`CompareRow`), built once from the report.
package protocol Exporter {
    /// The comparison as this format's text.
    func render(_ comparison: Comparison) -> String
}

/// The formats a lab's tools read (KTAP, BMF, LAVA, Markdown): they render a list of figures, so
/// that a run's cases (`exportFigures`) go through the same code as a comparison's rows.
package protocol FigureExporter {
    /// `figures` as this format's text; `header` is what the output says first (KTAP: diagnostics).
    func render(_ figures: [ExportFigure], header: [String]) -> String
}

/// What compare found, as every exporter reads it: the report, its rows in the report's order (the
/// cases, then the geometric means and common shifts), and the gate's threshold.
public struct Comparison {
    public let report: CompareReport
    public let rows: [CompareRow]
    /// `--fail-on-regression`'s percent; nil without a gate.
    public let gate: Double?

    public init(_ report: CompareReport, gate: Double? = nil) {
        self.report = report
        self.gate = gate
        func side(_ i: Int) -> String { report.within.map { "\($0.key)=\(report.sideName(i))" } ?? report.sides[i].label }
        rows = report.changes.map { CompareRow($0, newFile: side($0.newSide), gate: gate) }
            + report.geomeans.map { CompareRow($0, newFile: side($0.newSide), gate: gate) }
    }

    /// A row's name in the formats that name each test (KTAP, BMF, LAVA): the case's name, or
    /// `geomean` / `common`, after the new side's name where there are several new sides.
    package func testName(_ row: CompareRow) -> String {
        let name = row.name.isEmpty ? "all cases" : row.name  // every join key ignored: one case
        return report.within == nil && report.sides.count > 2 ? "\(report.sideName(row.newSide)) \(name)" : name
    }

    /// The lines that say what was compared: each side's files and where they ran, the units, the
    /// notes and warnings (KTAP writes them as diagnostics).
    package var headerLines: [String] {
        var lines: [String] = []
        for (i, side) in report.sides.enumerated() where report.within == nil || i == 0 {
            let name = report.within == nil ? report.sideName(i) : "runs"
            for file in side.files {
                let first = file.rows[0]
                lines.append("\(name): \(file.path) (kernel \(first.kernelRelease), host \(first.hostname), cpu \(first.cpuModel), run \(first.runID))")
            }
        }
        if let w = report.within {
            lines.append("within: \(w.key)=\(w.base) (base) against \(w.key)=\(w.new) (new)")
        } else {
            let boots = zip(report.units, report.sides).contains { $0.count != $1.files.count }
            lines.append("units: \(boots ? "boots, their runs averaged" : "runs") (\(zip(report.sides, report.units).map { $0.unitsLabel($1) }.joined(separator: " vs ")))")
        }
        if report.oneRunComparison { lines.append("note: one run a side: within-run intervals only, no verdict; take at least 3 runs a side") }
        lines += report.notes.map { "note: \($0)" } + report.warnings.map { "warning: \($0)" }
        if let gate { lines.append("gate: not ok where a significant regression's whole 95% interval lies beyond \(formatDecimal(gate, places: 1))%") }
        return lines
    }

    /// The rows as figures for the lab formats: the change in % with its 95% interval (see
    /// docs/comparing.md, "Output for programs and labs", for why the change and not the new side's figure).
    package var figures: [ExportFigure] {
        rows.map { row in
            var lines = ["\(row.metric.name): " + row.summary]
            if let note = row.note { lines.append("note: \(note)") }
            if let gate, row.regression { lines.append("gate: a regression beyond \(formatDecimal(gate, places: 1))% with its whole 95% interval") }
            return ExportFigure(name: testName(row), metric: row.metric, measure: row.metric.slug + "-change", value: row.changePercent,
                                low: row.lowPercent, high: row.highPercent, units: "%", passed: !row.regression, diagnostics: lines)
        }
    }
}

/// One row of compare's result: a case and metric against one new side, or a metric's geometric
/// mean or common shift over the cases. Every format is rendered from these.
public struct CompareRow: Sendable {
    public enum Kind: String, Sendable { case `case`, geomean, common }
    public let kind: Kind
    public let newSide: Int
    /// The new side as the CSV's new_file column writes it: its files joined with commas, `KEY=B` with `--within`.
    public let newFile: String
    /// The case's key (the fields left out of the join empty); nil on geomean and common rows.
    public let key: CaseKey?
    /// The case's name, or `geomean` / `common`.
    public let name: String
    public let metric: Metric
    /// Each side's center (cases only).
    public let base: Double?
    public let new: Double?
    public let changePercent: Double
    /// For log(new/base); only a bounded one.
    public let interval: LogInterval?
    public let significant: Bool
    public let method: IntervalMethod
    public let pValue: Double?
    public let qValue: Double?
    /// The minimum detectable effect as a log ratio.
    public let mde: Double?
    public let note: String?
    /// `better`, `worse`, `~`, `within-run` or `no interval`.
    public let verdict: String
    /// The mail's short verdict: `better`, `worse`, `~`, `-` or `n/a`.
    public let shortVerdict: String
    /// Each side's spread: the sd of its units' log figures (of its trials with one unit a side); cases only.
    public let baseSpread: Double?
    public let newSpread: Double?
    /// Geomean and common rows: the cases they sum up.
    public let cases: Int?
    /// The gate (`--fail-on-regression`) fails this row; false without a gate.
    public let regression: Bool

    package init(_ c: Change, newFile: String, gate: Double?) {
        kind = .case
        newSide = c.newSide
        self.newFile = newFile
        key = c.key
        name = c.caseName
        metric = c.metric
        base = c.base
        new = c.new
        changePercent = c.percent
        interval = c.interval.flatMap { $0.isBounded ? $0 : nil }
        significant = c.significant
        method = c.method
        pValue = c.pValue
        qValue = c.qValue
        mde = c.mde
        note = c.reason
        verdict = c.verdictWord()
        shortVerdict = c.verdictWord(short: true)
        baseSpread = c.baseSpread
        newSpread = c.newSpread
        cases = nil
        regression = gate.map { c.isRegression(beyond: $0) } ?? false
    }

    package init(_ g: GeomeanChange, newFile: String, gate: Double?) {
        kind = g.kind == .geomean ? .geomean : .common
        newSide = g.newSide
        self.newFile = newFile
        key = nil
        name = g.kind.rawValue
        metric = g.metric
        base = nil
        new = nil
        changePercent = g.percent
        interval = g.interval.flatMap { $0.isBounded ? $0 : nil }
        significant = g.significant
        method = g.method
        pValue = g.pValue
        qValue = g.qValue
        mde = g.mde
        note = g.reason
        verdict = g.verdictWord()
        shortVerdict = g.verdictWord(short: true)
        baseSpread = nil
        newSpread = nil
        cases = g.cases
        regression = gate.map { g.isRegression(beyond: $0) } ?? false
    }

    /// The interval's ends and half its width, and the MDE, as changes in %.
    public var lowPercent: Double? { interval.map { (exp($0.low) - 1) * 100 } }
    public var highPercent: Double? { interval.map { (exp($0.high) - 1) * 100 } }
    public var detectablePercent: Double? { interval?.detectablePercent }
    public var mdePercent: Double? { mde.map { (exp($0) - 1) * 100 } }

    /// The figures in one line: `base 100.000, new 110.000 MiB/s; change +10.0% [+8.1%, +12.0%], MDE 3.0%, q 0.004 (runs-t): better, significant`.
    package var summary: String {
        var parts: [String] = []
        if let base, let new { parts.append("base \(figureText(base)), new \(figureText(new)) \(metric.unit); ") }
        parts.append("change \(percentText(changePercent))")
        if let interval { parts.append(" \(intervalText(interval))") }
        if let m = mdePercent { parts.append(", MDE \(formatDecimal(m, places: 1))%") }
        if let q = qValue { parts.append(", q \(probability(q))") }
        if method != .none { parts.append(" (\(method.rawValue))") }
        if let cases { parts.append(" over \(cases) case\(cases == 1 ? "" : "s")") }
        let meaning: String
        switch method {
        case .none: meaning = "no interval, no verdict"
        case .withinRun, .withinRunSummary: meaning = "within-run interval, no verdict"
        case .moderatedT, .pairedModeratedT, .runsT, .pairedRunsT, .runsWelch, .pairedT, .commonT:
            meaning = significant ? "\(verdict), significant" : "not significant"
        }
        return parts.joined() + ": " + meaning
    }
}

/// One test a lab format writes: a case (or a geometric mean, or a common shift) and one metric, its
/// figure with its 95% interval, and whether it passed. A comparison's rows and a run's cases
/// (`exportFigures`) both become these.
public struct ExportFigure: Sendable {
    /// The case's name (`pipe throughput 4096 split`), as text from the files: each format makes it safe.
    public var name: String
    public var metric: Metric
    /// BMF's measure: the metric's slug (`mib-per-s`), with `-change` for a comparison's change.
    public var measure: String
    /// nil where there is no figure (a case that failed).
    public var value: Double?
    public var low: Double?
    public var high: Double?
    /// The value's unit: the metric's, or `%` for a change.
    public var units: String
    public var passed: Bool
    /// Lines that say what the figure is and why it passed or not (KTAP's diagnostics).
    public var diagnostics: [String]

    public init(name: String, metric: Metric, measure: String, value: Double?, low: Double?, high: Double?, units: String,
                passed: Bool, diagnostics: [String]) {
        self.name = name
        self.metric = metric
        self.measure = measure
        self.value = value
        self.low = low
        self.high = high
        self.units = units
        self.passed = passed
        self.diagnostics = diagnostics
    }
}

extension Metric {
    /// The metric's name for a machine: its trials column in kebab case (`mib-per-s`, `rtt-us-p50`).
    public var slug: String { trialColumn.replacingUnderscores(with: "-").lowercased() }
}

extension String {
    package func replacingUnderscores(with replacement: String) -> String {
        split(separator: "_", omittingEmptySubsequences: false).joined(separator: replacement)
    }
}

/// A run's cases with their main metric's figure (the pattern's first metric: its median, and the
/// 95% interval of the median where the file has one), for the lab formats (`ipcbench convert`),
/// from the record `ResultsReader.record` returns. A case that is not ok is a figure without a
/// value that did not pass.
public func exportFigures(_ record: ResultsRecord) -> [ExportFigure] {
    caseCells(record).compactMap { cells -> ExportFigure? in
        let row = CaseRow(cells)
        guard let metric = Metric.of(pattern: row.key.pattern).first else { return nil }
        let value = row.status == "ok" ? positiveFigure(row.figure(metric)) : nil
        func bound(_ suffix: String) -> Double? { value == nil ? nil : cells[metric.trialColumn + suffix].flatMap(positiveFigure) }
        let (low, high) = (bound("_ci95_low"), bound("_ci95_high"))
        var lines = ["\(metric.name): " + (value.map { figureText($0) + " \(metric.unit)" } ?? "no figure")]
        if let low, let high { lines[0] += " [\(figureText(low)), \(figureText(high))] (95% interval of the median)" }
        if row.status != "ok" { lines.append("status: \(row.status)") }
        return ExportFigure(name: row.key.name, metric: metric, measure: metric.slug, value: value, low: low, high: high,
                            units: metric.unit, passed: row.status == "ok" && value != nil, diagnostics: lines)
    }
}

/// The header lines a run's figures start with: its file (`path`), kernel, host and run.
public func exportHeader(_ record: ResultsRecord, path: String) -> [String] {
    guard let first = caseCells(record).first.map(CaseRow.init) else { return ["run: \(path)"] }
    return ["run: \(path) (kernel \(first.kernelRelease), host \(first.hostname), cpu \(first.cpuModel), run \(first.runID))"]
}

/// The record's case rows by column name, each cell as the CSV writes it (an empty cell: "").
private func caseCells(_ record: ResultsRecord) -> [[String: String]] {
    let columns = record.caseColumns
    return record.cases.map { row in Dictionary(uniqueKeysWithValues: zip(columns, row.values).map { ($0.name, $1?.text ?? "") }) }
}

extension FigureFormat {
    /// The format an output file's name asks for (`.ktap`, `.bmf`, `.lava`, `.md`); nil for another name.
    public init?(fileName: String) {
        let formats: [(String, FigureFormat)] = [(".ktap", .ktap), (".bmf", .bmf), (".lava", .lava), (".md", .markdown)]
        guard let format = formats.first(where: { fileName.hasSuffix($0.0) }) else { return nil }
        self = format.1
    }
}

/// `ipcbench convert FILE -o OUT.ktap|OUT.bmf|OUT.lava|OUT.md`: the run's figures (`exportFigures`)
/// in a lab's format, written to `output`, a new file (an existing one is refused, `InputError`).
/// A write that fails throws `ResultsWriteError` and leaves nothing.
public func exportRun(_ record: ResultsRecord, from path: String, format: FigureFormat, to output: String) throws {
    let text = renderFigures(exportFigures(record), header: exportHeader(record, path: path), format: format)
    let file = try WholeFile(creating: output)
    do { try file.write(text) } catch { file.discard(); throw error }
}
