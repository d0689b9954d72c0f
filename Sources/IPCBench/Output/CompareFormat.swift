import Glibc

/// How `ipcbench compare` writes its report.
public enum CompareFormat: String, CaseIterable, Sendable {
    case table, csv, markdown
}

public let compareCSVColumns = ["kind", "new_file", "transport", "pattern", "payload_bytes", "placement", "options",
                                "metric", "base", "new", "change_pct", "significant",
                                "change_ci95_low_pct", "change_ci95_high_pct", "detectable_pct", "method"]

/// A log-ratio as a change in % with its sign.
func signedPercent(_ logRatio: Double) -> String {
    let v = (exp(logRatio) - 1) * 100
    return (v >= 0 ? "+" : "") + formatDecimal(v, places: 1) + "%"
}

/// The report as text. For csv only the data (the CLI sends the warnings to stderr).
public func renderComparison(_ r: CompareReport, format: CompareFormat) -> String {
    func number(_ v: Double) -> String { formatDecimal(v, places: v >= 100 ? 1 : 3) }
    func change(_ percent: Double, _ significant: Bool) -> String {
        significant ? (percent >= 0 ? "+" : "") + formatDecimal(percent, places: 1) + "%" : "~"
    }
    func interval(_ i: LogInterval?, _ method: IntervalMethod) -> String {
        guard let i, i.isBounded else { return "n/a" }
        return "[\(signedPercent(i.low)), \(signedPercent(i.high))]" + (method == .summaryWelch ? " (summary)" : "")
    }
    func detectable(_ i: LogInterval?) -> String {
        guard let i, i.isBounded else { return "n/a" }
        return "±" + formatDecimal(i.detectablePercent, places: 1) + "%"
    }
    let newSides = Array(r.sides.indices.dropFirst())

    if format == .csv {
        func bounds(_ i: LogInterval?) -> [String] {
            guard let i, i.isBounded else { return ["", "", ""] }
            return [formatDecimal((exp(i.low) - 1) * 100, places: 2), formatDecimal((exp(i.high) - 1) * 100, places: 2),
                    formatDecimal(i.detectablePercent, places: 2)]
        }
        var out = csvLine(compareCSVColumns)
        for c in r.changes {
            out += csvLine(["case", r.sides[c.newSide].label, c.key.transport, c.key.pattern,
                            c.key.payloadBytes, c.key.placement, c.key.options, c.metric.name,
                            formatDecimal(c.base, places: 3), formatDecimal(c.new, places: 3),
                            formatDecimal(c.percent, places: 2), c.significant ? "1" : "0"]
                           + bounds(c.interval) + [c.method.rawValue])
        }
        for g in r.geomeans {
            out += csvLine(["geomean", r.sides[g.newSide].label, "", "", "", "", "", g.metric.name, "", "",
                            formatDecimal(g.percent, places: 2), g.significant ? "1" : "0"] + bounds(g.interval) + [g.method.rawValue])
        }
        return out
    }

    var header = ["case", "metric", "base"]
    for n in newSides {
        let suffix = newSides.count > 1 ? "\(n)" : ""
        header += ["new" + suffix, "change" + suffix, "95% interval" + suffix, "detectable" + suffix]
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
                row += [number(x.new), change(x.percent, x.significant), interval(x.interval, x.method), detectable(x.interval)]
            } else {
                row += ["", "", "", ""]
            }
        }
        rows.append(row)
    }
    for m in Metric.all {
        let matching = r.geomeans.filter { $0.metric == m }
        if matching.isEmpty { continue }
        var row = ["geomean", m.name, ""]
        for n in newSides {
            if let g = matching.first(where: { $0.newSide == n }) {
                row += ["", change(g.percent, g.significant), interval(g.interval, g.method), detectable(g.interval)]
            } else {
                row += ["", "", "", ""]
            }
        }
        rows.append(row)
    }

    var out = ""
    for (i, side) in r.sides.enumerated() {
        for (f, file) in side.files.enumerated() {
            let first = file.rows[0]
            let label = f == 0 ? r.sideName(i) + ":" : String(repeating: " ", count: r.sideName(i).count + 1)
            out += "\(label) \(file.path) (kernel \(first.kernelRelease), host \(first.hostname), cpu \(first.cpuModel), run \(first.runID))\n"
        }
    }
    for n in r.notes { out += "note: \(n)\n" }
    for w in r.warnings { out += "warning: \(w)\n" }
    if r.oneRunComparison {
        out += "note: one run a side: the intervals cover the noise between trials, not between runs, which is not measured; two runs of the same kernel can still differ significantly. Give several runs a side (a1.csv,a2.csv,a3.csv), across boots where possible.\n"
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
            cells.enumerated().map { i, cell in
                i < 2 ? cell + String(repeating: " ", count: widths[i] - cell.count)
                      : String(repeating: " ", count: widths[i] - cell.count) + cell
            }.joined(separator: "  ") + "\n"
        }
        out += line(header)
        for row in rows { out += line(row) }
    }
    out += "\nchange: new/base - 1 of the medians (the geometric mean of the run medians for several runs); ~ : the 95% interval includes 0%\n"
    out += "detectable: half the interval's width, the smallest change these data could tell from noise\n"
    let used = Set(r.changes.map(\.method) + r.geomeans.map(\.method))
    let explained: [(IntervalMethod, String)] = [
        (.uShift, "Mann-Whitney shift interval on the logs of the trials (one run a side)"),
        (.runsWelch, "Welch t interval over the runs' log medians (several runs on a side)"),
        (.summaryWelch, "Welch on the summary columns, marked (summary): a trials file is missing"),
        (.bootstrap, "geomean: bootstrap of the trials within each case (one run a side)"),
    ]
    let lines = explained.filter { used.contains($0.0) }.map { "\($0.0.rawValue) = \($0.1)" }
    if !lines.isEmpty { out += "intervals: " + lines.joined(separator: "; ") + "\n" }
    for (name, present) in r.unmatched {
        out += "only in \(present.joined(separator: ", ")): \(name)\n"
    }
    for (name, statuses) in r.notCompared {
        out += "not compared: \(name): \(statuses.joined(separator: ", "))\n"
    }
    return out
}
