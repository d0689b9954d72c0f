import IPCPlatform
import IPCModel

/// `compare --format csv`: one record per row, in `compareCSVColumns`' order, as a spreadsheet and
/// `scripts/plot.py` read it (docs/results-format.md lists the columns).
package struct CSVExporter: Exporter {
    package func render(_ comparison: Comparison) -> String {
        comparison.rows.reduce(csvLine(compareCSVColumns)) { $0 + spreadsheetLine(cells($1)) }
    }

    /// The row's cells as text, in `compareCSVColumns`' order; an empty cell where there is no value.
    package func cells(_ row: CompareRow) -> [String] {
        func number(_ v: Double?, _ places: Int) -> String { v.map { formatDecimal($0, places: places) } ?? "" }
        let key = row.key
        return [row.kind.rawValue, row.newFile, key?.transport ?? "", key?.pattern ?? "", key?.payloadBytes ?? "",
                key?.placement ?? "", key?.options ?? "", row.metric.name, number(row.base, 3), number(row.new, 3),
                number(row.changePercent, 2), row.significant ? "1" : "0",
                number(row.lowPercent, 2), number(row.highPercent, 2), number(row.detectablePercent, 2), row.method.rawValue,
                row.pValue.map(probability) ?? "", row.qValue.map(probability) ?? "", number(row.mdePercent, 2), row.note ?? ""]
            + CaseParameter.allCases.map { key?.value(of: $0) ?? "" }
    }
}
