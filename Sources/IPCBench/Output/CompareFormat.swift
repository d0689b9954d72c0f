/// How `ipcbench compare` writes its report.
public enum CompareFormat: String, CaseIterable, Sendable {
    case table, csv, markdown
}

public let compareCSVColumns = ["kind", "new_file", "transport", "pattern", "payload_bytes", "placement", "options",
                                "metric", "base", "new", "change_pct", "p_value", "test", "significant"]

/// The report as text. For csv only the data (the CLI sends the warnings to stderr).
public func renderComparison(_ r: CompareReport, format: CompareFormat) -> String {
    func number(_ v: Double) -> String { formatDecimal(v, places: v >= 100 ? 1 : 3) }
    func change(_ c: Change) -> String {
        c.significant ? (c.percent >= 0 ? "+" : "") + formatDecimal(c.percent, places: 1) + "%" : "~"
    }
    func pValue(_ c: Change) -> String {
        guard let p = c.p else { return "" }
        return (p < 0.001 ? "<0.001" : formatDecimal(p, places: 3)) + (c.test == "Welch" ? " (Welch)" : "")
    }
    let newFiles = Array(r.files.indices.dropFirst())
    let metrics = [Metric.throughput, .rttP50, .rttP99]

    if format == .csv {
        var out = csvLine(compareCSVColumns)
        for c in r.changes {
            out += csvLine(["case", r.files[c.newFile].path, c.key["transport"] ?? "", c.key["pattern"] ?? "",
                            c.key["payload"] ?? "", c.key["placement"] ?? "", c.key["options"] ?? "", c.metric.name,
                            formatDecimal(c.base, places: 3), formatDecimal(c.new, places: 3),
                            formatDecimal(c.percent, places: 2), c.p.map { formatDecimal($0, places: 6) } ?? "",
                            c.test, c.significant ? "1" : "0"])
        }
        for n in newFiles {
            for m in metrics {
                if let g = r.geometricMeanChange(newFile: n, metric: m) {
                    out += csvLine(["geomean", r.files[n].path, "", "", "", "", "", m.name, "", "",
                                    formatDecimal(g, places: 2), "", "", ""])
                }
            }
        }
        return out
    }

    var header = ["case", "metric", "base"]
    for n in newFiles { header += newFiles.count > 1 ? ["new\(n)", "delta\(n)", "p\(n)"] : ["new", "delta", "p"] }
    var rows: [[String]] = []
    var pairs: [(String, Metric)] = []
    for c in r.changes where !pairs.contains(where: { $0.0 == c.caseName && $0.1 == c.metric }) {
        pairs.append((c.caseName, c.metric))
    }
    for (name, metric) in pairs {
        let matching = r.changes.filter { $0.caseName == name && $0.metric == metric }
        var row = [name, metric.name, number(matching[0].base)]
        for n in newFiles {
            if let x = matching.first(where: { $0.newFile == n }) {
                row += [number(x.new), change(x), pValue(x)]
            } else {
                row += ["", "", ""]
            }
        }
        rows.append(row)
    }
    for m in metrics {
        let values = newFiles.map { r.geometricMeanChange(newFile: $0, metric: m) }
        if values.allSatisfy({ $0 == nil }) { continue }
        var row = ["geomean", m.name, ""]
        for v in values { row += ["", v.map { ($0 >= 0 ? "+" : "") + formatDecimal($0, places: 1) + "%" } ?? "", ""] }
        rows.append(row)
    }

    var out = ""
    for (i, file) in r.files.enumerated() {
        let first = file.cases.first ?? [:]
        out += "\(i == 0 ? "base" : (newFiles.count > 1 ? "new\(i)" : "new")): \(file.path) (kernel \(first["kernel_release"] ?? "?"), host \(first["hostname"] ?? "?"), cpu \(first["cpu_model"] ?? "?"))\n"
    }
    for w in r.warnings { out += "warning: \(w)\n" }
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
    out += "\n~ : no significant change (p >= \(formatDecimal(r.alpha, places: 3)), Mann-Whitney U over the trials unless marked Welch)\n"
    func label(_ i: Int) -> String { i == 0 ? "base" : (newFiles.count > 1 ? "new\(i)" : "new") }
    for (name, present) in r.unmatched {
        out += "only in \(present.map(label).joined(separator: ", ")): \(name)\n"
    }
    for (name, statuses) in r.notCompared {
        out += "not compared: \(name): \(statuses.map { "\($0.1) in \(label($0.0))" }.joined(separator: ", "))\n"
    }
    return out
}
