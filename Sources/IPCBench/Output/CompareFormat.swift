import Glibc

/// How `ipcbench compare` writes its report.
public enum CompareFormat: String, CaseIterable, Sendable {
    case table, csv, markdown, mail
}

public let compareCSVColumns = ["kind", "new_file", "transport", "pattern", "payload_bytes", "placement", "options",
                                "metric", "base", "new", "change_pct", "significant",
                                "change_ci95_low_pct", "change_ci95_high_pct", "detectable_pct", "method",
                                "p_value", "q_value", "mde_pct", "note"] + CaseParameter.allCases.map(\.rawValue)

/// A log-ratio as a change in % with its sign.
func signedPercent(_ logRatio: Double) -> String {
    let v = (exp(logRatio) - 1) * 100
    return (v >= 0 ? "+" : "") + formatDecimal(v, places: 1) + "%"
}

/// A base or new figure: one decimal from 100 up, three below.
func figureText(_ v: Double) -> String { formatDecimal(v, places: v >= 100 ? 1 : 3) }

/// `[-1.8%, +2.2%]`, or empty without a bounded interval.
func intervalText(_ i: LogInterval?) -> String {
    guard let i, i.isBounded else { return "" }
    return "[\(signedPercent(i.low)), \(signedPercent(i.high))]"
}

/// A probability with three decimals from 0.001 up and three significant digits below, with no exponent.
func probability(_ p: Double) -> String {
    if p >= 0.001 { return formatDecimal(p, places: 3) }
    return p < 1e-9 ? "0.000000001" : formatDecimal(p, places: Int((-log10(p)).rounded(.up)) + 2)
}

/// The report as text. For csv only the data (the CLI sends the warnings to stderr).
public func renderComparison(_ r: CompareReport, format: CompareFormat) -> String {
    if format == .mail { return renderMail(r) }
    let (number, interval) = (figureText, intervalText)
    func percent(_ v: Double) -> String { (v >= 0 ? "+" : "") + formatDecimal(v, places: 1) + "%" }
    func q(_ v: Double?) -> String { v.map { $0 < 0.001 ? "<0.001" : formatDecimal($0, places: 3) } ?? "" }
    func mde(_ m: Double?) -> String { m.map { formatDecimal((exp($0) - 1) * 100, places: 1) + "%" } ?? "" }
    let newSides = Array(r.sides.indices.dropFirst())

    if format == .csv {
        func cells(_ i: LogInterval?, _ method: IntervalMethod, _ p: Double?, _ q: Double?, _ m: Double?, _ note: String?) -> [String] {
            var out = ["", "", ""]
            if let i, i.isBounded {
                out = [formatDecimal((exp(i.low) - 1) * 100, places: 2), formatDecimal((exp(i.high) - 1) * 100, places: 2),
                       formatDecimal(i.detectablePercent, places: 2)]
            }
            return out + [method.rawValue, p.map(probability) ?? "", q.map(probability) ?? "",
                          m.map { formatDecimal((exp($0) - 1) * 100, places: 2) } ?? "", note ?? ""]
        }
        func sideLabel(_ i: Int) -> String { r.within.map { "\($0.key)=\(r.sideName(i))" } ?? r.sides[i].label }
        var out = csvLine(compareCSVColumns)
        for c in r.changes {
            out += spreadsheetLine(["case", sideLabel(c.newSide), c.key.transport, c.key.pattern,
                            c.key.payloadBytes, c.key.placement, c.key.options, c.metric.name,
                            formatDecimal(c.base, places: 3), formatDecimal(c.new, places: 3),
                            formatDecimal(c.percent, places: 2), c.significant ? "1" : "0"]
                           + cells(c.interval, c.method, c.pValue, c.qValue, c.mde, c.reason)
                           + CaseParameter.allCases.map { c.key.value(of: $0) })
        }
        for g in r.geomeans {
            out += spreadsheetLine([g.kind.rawValue, sideLabel(g.newSide), "", "", "", "", "", g.metric.name, "", "",
                            formatDecimal(g.percent, places: 2), g.significant ? "1" : "0"]
                           + cells(g.interval, g.method, g.pValue, g.qValue, g.mde, g.reason)
                           + CaseParameter.allCases.map { _ in "" })
        }
        return out
    }

    var header = ["case", "metric", r.within.map { "\($0.key)=\($0.base)" } ?? "base"]
    for n in newSides {
        let suffix = newSides.count > 1 ? "\(n)" : ""
        header += [r.within.map { "\($0.key)=\($0.new)" } ?? "new" + suffix, "change" + suffix, "95% interval" + suffix,
                   "MDE" + suffix, "q" + suffix, "verdict" + suffix]
    }
    var rows: [[String]] = []
    var pairs: [(String, Metric)] = []
    for c in r.changes where !pairs.contains(where: { $0.0 == c.caseName && $0.1 == c.metric }) {
        pairs.append((c.caseName, c.metric))
    }
    for (name, metric) in pairs {
        let matching = r.changes.filter { $0.caseName == name && $0.metric == metric }
        var row = [name, metric.name, number(matching[0].base)]
        for n in newSides {
            if let x = matching.first(where: { $0.newSide == n }) {
                row += [number(x.new), percent(x.percent), interval(x.interval), mde(x.mde), q(x.qValue),
                        x.verdictWord()]
            } else {
                row += ["", "", "", "", "", ""]
            }
        }
        rows.append(row)
    }
    for kind in [GeomeanChange.Kind.geomean, .common] { for m in Metric.all {
        let matching = r.geomeans.filter { $0.metric == m && $0.kind == kind }
        if matching.isEmpty { continue }
        var row = [kind.rawValue, m.name, ""]
        for n in newSides {
            if let g = matching.first(where: { $0.newSide == n }) {
                row += ["", percent(g.percent), interval(g.interval), mde(g.mde), q(g.qValue),
                        g.verdictWord()]
            } else {
                row += ["", "", "", "", "", ""]
            }
        }
        rows.append(row)
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
    out += "\n"
    if format == .markdown {
        out += "| " + header.joined(separator: " | ") + " |\n"
        out += "|" + header.map { _ in "---" }.joined(separator: "|") + "|\n"
        for row in rows { out += "| " + row.joined(separator: " | ") + " |\n" }
    } else {
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
        out += line(header)
        for row in rows { out += line(row) }
    }
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
