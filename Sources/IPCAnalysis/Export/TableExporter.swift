import IPCPlatform
import IPCModel

/// `compare`'s report as a table: `table` aligns the columns for a terminal, `markdown` writes a
/// Markdown table for a report; both with the lines that say what was compared before the table
/// and what its columns and tests mean after it. Markdown also writes a run's figures.
package struct TableExporter: Exporter, FigureExporter {
    package enum Layout { case aligned, markdown }
    package let layout: Layout

    package func render(_ comparison: Comparison) -> String {
        let r = comparison.report
        let newSides = Array(r.sides.indices.dropFirst())
        var header = ["case", "metric", r.within.map { "\($0.key)=\($0.base)" } ?? "base"]
        for n in newSides {
            let suffix = newSides.count > 1 ? "\(n)" : ""
            header += [r.within.map { "\($0.key)=\($0.new)" } ?? "new" + suffix, "change" + suffix, "95% interval" + suffix,
                       "MDE" + suffix, "q" + suffix, "verdict" + suffix]
        }
        func q(_ v: Double?) -> String { v.map { $0 < 0.001 ? "<0.001" : formatDecimal($0, places: 3) } ?? "" }
        func mde(_ m: Double?) -> String { m.map { formatDecimal($0, places: 1) + "%" } ?? "" }
        func cells(_ x: CompareRow) -> [String] {
            [x.new.map(figureText) ?? "", percentText(x.changePercent), intervalText(x.interval), mde(x.mdePercent), q(x.qValue), x.verdict]
        }
        let empty = ["", "", "", "", "", ""]
        var rows: [[String]] = []
        let cases = comparison.rows.filter { $0.kind == .case }
        var pairs: [(String, Metric)] = []
        for c in cases where !pairs.contains(where: { $0.0 == c.name && $0.1 == c.metric }) {
            pairs.append((c.name, c.metric))
        }
        for (name, metric) in pairs {
            let matching = cases.filter { $0.name == name && $0.metric == metric }
            rows.append([name, metric.name, matching[0].base.map(figureText) ?? ""]
                        + newSides.flatMap { n in matching.first { $0.newSide == n }.map(cells) ?? empty })
        }
        for kind in [CompareRow.Kind.geomean, .common] { for m in Metric.all {
            let matching = comparison.rows.filter { $0.metric == m && $0.kind == kind }
            if matching.isEmpty { continue }
            rows.append([kind.rawValue, m.name, ""]
                        + newSides.flatMap { n in matching.first { $0.newSide == n }.map { [""] + cells($0).dropFirst() } ?? empty })
        } }

        var out = ""
        for (i, side) in r.sides.enumerated() where r.within == nil || i == 0 {
            for (f, file) in side.files.enumerated() {
                let first = file.rows[0]
                let name = r.within == nil ? r.sideName(i) : "runs"
                let label = f == 0 ? name + ":" : String(repeating: " ", count: name.count + 1)
                out += "\(label) \(file.path) (kernel \(first.kernelRelease), host \(first.hostname), cpu \(first.cpuModel), run \(first.runID))\n"
            }
        }
        if let w = r.within {
            let units = r.sides[0].files.count == 1 ? "the rounds of one run, paired" : "\(r.sides[0].files.count) runs, each the mean of its paired rounds"
            out += "within: \(w.key)=\(w.base) (base) against \(w.key)=\(w.new) (new), everything else equal; units: \(units)\n"
        } else {
            let boots = zip(r.units, r.sides).contains { $0.count != $1.files.count }
            out += "units: \(boots ? "boots, their runs averaged" : "runs") (\(zip(r.sides, r.units).map { $0.unitsLabel($1) }.joined(separator: " vs ")))\n"
        }
        for n in r.notes { out += "note: \(n)\n" }
        for w in r.warnings { out += "warning: \(w)\n" }
        if r.oneRunComparison {
            out += "note: one run a side: the intervals are within-run (the noise between trials only; the variance between runs is not measured), so nothing is marked significant. Take at least 3 runs a side (a1.csv,a2.csv,a3.csv), across boots where possible: runs differ by more than their trials do.\n"
        }
        if let s = r.spread {
            let best = s.bestRounds
            let advice = best.isFinite
                ? "about \(max(1, Int(best.rounded()))) rounds a run (-r) give the smallest MDE for the machine time (these runs had \(s.rounds))"
                : "the runs vary no more than their trials explain, so more rounds a run (-r; these runs had \(s.rounds)) shrink the MDE for less machine time than more runs"
            let shared = s.sharedRunVariance.map { " (shared by every case of a run: \(formatDecimal($0.squareRoot() * 100, places: 1))%)" } ?? ""
            out += "spread (median over cases, sd on the log scale): between runs \(formatDecimal(s.runVariance.squareRoot() * 100, places: 1))%\(shared), "
                + "between trials \(formatDecimal(s.trialVariance.squareRoot() * 100, places: 1))%; a run costs \(formatDecimal(s.runCost, places: 1)) s "
                + "before its first measured trial and \(formatDecimal(s.roundCost, places: 1)) s a round: \(advice)\n"
        }
        out += "\n" + table(header, rows)
        let family = r.changes.filter { $0.method.givesVerdict }.count + r.geomeans.filter { $0.method.givesVerdict }.count
        out += "\nchange: new/base - 1 of the geometric means of the units' figures (a run's figure is the median of its trials); 95% interval of the change\n"
        out += "MDE: the change the test finds 80% of the time at the 5% level, these units' minimum detectable effect\n"
        if family > 0 {
            out += "q: p-value adjusted over the \(family) rows of a side, cases, geometric means and common shifts together (Benjamini-Hochberg); verdict better or worse where q < 0.05, ~ where not\n"
        }
        let used = Set(r.changes.map(\.method) + r.geomeans.map(\.method))
        let explained: [(IntervalMethod, String)] = [
            (.moderatedT, "moderated t over the runs' log medians, variances pooled over cases (limma), the shift every case shares in a unit included"),
            (.pairedModeratedT, "moderated t over the paired units, variances pooled over cases (limma)"),
            (.runsT, "t over the case's own runs' log medians (too few cases of the metric to pool)"),
            (.pairedRunsT, "t over the case's own paired runs (too few cases of the metric to pool)"),
            (.runsWelch, "geomean: Welch t over the runs' mean log medians"),
            (.pairedT, "geomean: t over the units' mean paired differences"),
            (.commonT, "common: the shift every case shares (a run's level: the median over the cases), t over the runs"),
            (.withinRun, r.within != nil ? "within-run: t over the paired rounds of one run, no verdict" : "within-run: Mann-Whitney shift interval on the trials' logs, one run a side, no verdict"),
            (.withinRunSummary, "within-run-summary: Welch on the MiB/s summary columns (no trials file), no verdict"),
        ]
        let lines = explained.filter { used.contains($0.0) }.map(\.1)
        if !lines.isEmpty { out += "tests: " + lines.joined(separator: "; ") + "\n" }
        var reasons: [(String, [String])] = []
        var explainedRows: [(String, String)] = []
        for c in r.changes { if let reason = c.reason { explainedRows.append(((c.interval == nil ? "no interval: " : "note: ") + reason, "\(c.caseName) \(c.metric.name)")) } }
        for g in r.geomeans { if let reason = g.reason { explainedRows.append(("no interval: " + reason, "\(g.kind.rawValue) \(g.metric.name)")) } }
        for (reason, what) in explainedRows {
            if let i = reasons.firstIndex(where: { $0.0 == reason }) { reasons[i].1.append(what) } else { reasons.append((reason, [what])) }
        }
        for (reason, what) in reasons {
            out += "\(reason): \(what.prefix(3).joined(separator: ", "))\(what.count > 3 ? " and \(what.count - 3) more" : "")\n"
        }
        for (name, present) in r.unmatched {
            out += "only in \(present.joined(separator: ", ")): \(name)\n"
        }
        for (name, statuses) in r.notCompared {
            out += "not compared: \(name): \(statuses.joined(separator: ", "))\n"
        }
        return escapingControlCharacters(out, keepingLineBreaks: true)  // text from the files is shown, never acted on
    }

    /// A run's figures: a line per header line, then a row per case (Markdown only: a terminal shows `ipcbench run`'s own table).
    package func render(_ figures: [ExportFigure], header: [String]) -> String {
        let rows = figures.map { f in
            [f.name, f.metric.name, f.value.map(figureText) ?? "", f.low.flatMap { low in f.high.map { "[\(figureText(low)), \(figureText($0))]" } } ?? "",
             f.units, f.passed ? "ok" : "not ok"]
        }
        let text = header.map { $0 + "\n" }.joined() + "\n" + table(["case", "metric", "value", "95% interval", "unit", "status"], rows)
        return escapingControlCharacters(text, keepingLineBreaks: true)  // text from the files is shown, never acted on
    }

    /// The table in this layout: Markdown, or columns aligned (the first two left, the rest right).
    package func table(_ header: [String], _ rows: [[String]]) -> String {
        switch layout {
        case .markdown:
            // A `|` in a cell would end it: Markdown's escape keeps it in the cell.
            func line(_ cells: [String]) -> String { "| " + cells.map { $0.replacingBars() }.joined(separator: " | ") + " |\n" }
            return line(header) + "|" + header.map { _ in "---" }.joined(separator: "|") + "|\n" + rows.map(line).joined()
        case .aligned:
            var widths = header.map(\.count)
            for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
            func line(_ cells: [String]) -> String {
                var text = cells.enumerated().map { i, cell in
                    i < 2 ? cell + String(repeating: " ", count: widths[i] - cell.count)
                          : String(repeating: " ", count: widths[i] - cell.count) + cell
                }.joined(separator: "  ")
                while text.hasSuffix(" ") { text.removeLast() }
                return text + "\n"
            }
            return line(header) + rows.map(line).joined()
        }
    }
}

extension String {
    /// `|` written as `\|`, so that a Markdown table cell keeps it.
    package func replacingBars() -> String { split(separator: "|", omittingEmptySubsequences: false).joined(separator: "\\|") }
}
