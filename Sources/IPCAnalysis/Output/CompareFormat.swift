import Glibc
import IPCPlatform
import IPCModel

/// How `ipcbench compare` writes its report: each format is one exporter in Export/.
public enum CompareFormat: String, CaseIterable, Sendable {
    case table, csv, markdown, mail, json, ktap, bmf, lava

    package var exporter: any Exporter {
        switch self {
        case .table: return TableExporter(layout: .aligned)
        case .markdown: return TableExporter(layout: .markdown)
        case .csv: return CSVExporter()
        case .mail: return MailExporter()
        case .json: return JSONExporter()
        case .ktap: return KTAPExporter()
        case .bmf: return BMFExporter()
        case .lava: return LAVAExporter()
        }
    }
}

/// The formats that also take a run's figures (`exportFigures`), for `ipcbench convert`.
public enum FigureFormat: String, CaseIterable, Sendable {
    case ktap, bmf, lava, markdown

    package var exporter: any FigureExporter {
        switch self {
        case .ktap: return KTAPExporter()
        case .bmf: return BMFExporter()
        case .lava: return LAVAExporter()
        case .markdown: return TableExporter(layout: .markdown)
        }
    }
}

public let compareCSVColumns = ["kind", "new_file", "transport", "pattern", "payload_bytes", "placement", "options",
                                "metric", "base", "new", "change_pct", "significant",
                                "change_ci95_low_pct", "change_ci95_high_pct", "detectable_pct", "method",
                                "p_value", "q_value", "mde_pct", "note"] + CaseParameter.allCases.map(\.rawValue)

/// A change in % with its sign and one decimal: `+10.0%`.
package func percentText(_ v: Double) -> String { (v >= 0 ? "+" : "") + formatDecimal(v, places: 1) + "%" }

/// A log-ratio as a change in % with its sign.
package func signedPercent(_ logRatio: Double) -> String { percentText((exp(logRatio) - 1) * 100) }

/// A base or new figure: one decimal from 100 up, three below.
package func figureText(_ v: Double) -> String { formatDecimal(v, places: v >= 100 ? 1 : 3) }

/// `[-1.8%, +2.2%]`, or empty without a bounded interval.
package func intervalText(_ i: LogInterval?) -> String {
    guard let i, i.isBounded else { return "" }
    return "[\(signedPercent(i.low)), \(signedPercent(i.high))]"
}

/// A probability with three decimals from 0.001 up and three significant digits below, with no exponent.
package func probability(_ p: Double) -> String {
    if p >= 0.001 { return formatDecimal(p, places: 3) }
    return p < 1e-9 ? "0.000000001" : formatDecimal(p, places: Int((-log10(p)).rounded(.up)) + 2)
}

/// The report as text. For csv only the data (the CLI sends the warnings to stderr). `gate` is
/// `--fail-on-regression`'s percent: KTAP and LAVA fail the rows it fails, JSON marks them.
public func renderComparison(_ r: CompareReport, format: CompareFormat, gate: Double? = nil) -> String {
    format.exporter.render(Comparison(r, gate: gate))
}

/// A run's figures (`exportFigures`) as a lab's format; `header` are the lines it starts with (`exportHeader`).
public func renderFigures(_ figures: [ExportFigure], header: [String], format: FigureFormat) -> String {
    format.exporter.render(figures, header: header)
}
