import Glibc
import IPCPlatform
import IPCModel

/// `compare --format mail`: plain fixed-width text for a mail to a kernel list, in the manner of the
/// 0-day robot's reports: what differs between the sides first, then per case base, its spread, the
/// change with its interval, new and its spread, the verdict and the case, under 100 columns.
package struct MailExporter: Exporter {
    package func render(_ comparison: Comparison) -> String {
        let r = comparison.report
        let (number, interval) = (figureText, intervalText)
        // Like the 0-day reports, a spread is shown only where it is 2% or more.
        func spread(_ sd: Double?) -> String {
            guard let sd, sd.isFinite else { return "" }
            let percent = (exp(sd) - 1) * 100
            return percent >= 2 ? formatDecimal(percent, places: 0) + "%" : ""
        }
        // Words on lines of at most 99 columns; lines after the first indented by `indent`.
        func wrapped(_ text: String, lead: String = "", indent: Int) -> String {
            var lines: [String] = [], current = lead, empty = true
            for word in text.split(separator: " ") {
                if !empty && current.count + 1 + word.count > 99 {
                    lines.append(current)
                    current = String(repeating: " ", count: indent)
                    empty = true
                }
                current += (empty ? "" : " ") + word
                empty = false
            }
            lines.append(current)
            return lines.joined(separator: "\n") + "\n"
        }
        func cells(_ c: [String]) -> String {
            let widths = [10, 6, 8, 18, 10, 6, 7]
            var line = ""
            for (i, cell) in c.enumerated() {
                if i < widths.count {
                    let pad = String(repeating: " ", count: max(0, widths[i] - cell.count))
                    line += (i == 3 ? cell + pad : pad + cell) + " "
                } else {
                    line += " " + cell
                }
            }
            while line.hasSuffix(" ") { line.removeLast() }
            return line + "\n"
        }

        var out = "ipcbench \(ipcbenchVersion) compare: 95% intervals; better/worse where q < 0.05 (Benjamini-Hochberg)\n\n"
        for (i, side) in r.sides.enumerated() where r.within == nil || i == 0 {
            let first = side.files[0].rows[0]
            let name = r.within == nil ? r.sideName(i) : "runs"
            out += "\(name): \(side.unitsLabel(r.units[i])) of kernel \(first.kernelRelease) on \(first.hostname) (\(first.cpuModel))\n"
            for file in side.files {
                out += "    \(file.path)\n"
                // How the run was made, where the file records it (0.3.0 and later).
                if let command = file.cases.first?["command"], !command.isEmpty { out += wrapped(command, lead: "      ", indent: 8) }
            }
        }
        if let w = r.within {
            out += wrapped("within: \(w.key)=\(w.base) (base) against \(w.key)=\(w.new) (new), paired by round", indent: 4)
        }
        for line in r.notes + r.warnings where line.hasPrefix("the sides differ in ") {
            out += wrapped("differs: " + line.dropFirst("the sides differ in ".count), indent: 4)
        }
        let prefix = { (side: Int) in r.within == nil && r.sides.count > 2 ? "\(r.sideName(side)): " : "" }
        let trials = r.changes.contains { $0.spreadOfTrials }
        out += "spread: sd of the \(trials ? "trials (one run a side: no verdict)" : r.within != nil && r.sides[0].files.count == 1 ? "rounds" : "runs"), shown where 2% or more\n\n"
        out += cells(["base", "±sd", "%change", "[95% interval]", "new", "±sd", "verdict", "metric"])
        var shown = ""
        for row in comparison.rows {
            let name = prefix(row.newSide) + row.name
            if name != shown { out += name + "\n"; shown = name }
            if let base = row.base, let new = row.new {
                out += cells([number(base), spread(row.baseSpread), signedPercent(log(new / base)), interval(row.interval),
                              number(new), spread(row.newSpread), row.shortVerdict, row.metric.name])
            } else {
                let cases = row.cases ?? 0
                out += cells(["", "", signedPercent(log(1 + row.changePercent / 100)), interval(row.interval), "", "",
                              row.shortVerdict, "\(row.metric.name) over \(cases) case\(cases == 1 ? "" : "s")"])
            }
        }
        return escapingControlCharacters(out, keepingLineBreaks: true)  // text from the files is shown, never acted on
    }
}
