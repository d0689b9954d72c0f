import IPCPlatform
import IPCModel

/// Which runs and cases a history command looks at. Every filter is an exact match, except the
/// times: `since` and `until` are ISO 8601 prefixes (`2026-12`, `2026-12-07`, `2026-12-07T06:50`),
/// compared with each run's `timestamp_utc` cut to their length, both ends included.
public struct SeriesFilter: Sendable {
    public var host: String?
    public var kernel: String?
    public var metric: String?
    public var since: String?
    public var until: String?
    /// Case-key columns and the value each must have (`--transport`, `--pattern`, `--size`, `--key`).
    public var key: [(name: String, value: String)] = []

    public init() {}

    /// Checks and adds a `--key NAME=VALUE`.
    public mutating func addKey(_ text: String) throws {
        let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty,
              parts[0].allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") }) else {
            throw InputError("--key \(text): expected NAME=VALUE with a case-key column's name, for example --key options=nodelay or --key depth=4")
        }
        key.append((String(parts[0]), String(parts[1])))
    }

    /// Checks `--metric`: a metric's trials column (`mib_per_s`) or its name (`MiB/s`); the column is kept.
    public mutating func setMetric(_ text: String) throws {
        guard let m = Metric.all.first(where: { $0.trialColumn == text || $0.name == text }) else {
            throw InputError("--metric \(text): not a metric ipcbench measures; expected one of \(Metric.all.map(\.trialColumn).joined(separator: ", "))")
        }
        metric = m.trialColumn
    }

    /// Checks `--since` or `--until`: an ISO 8601 date or time in UTC, or its start.
    public static func checkTime(_ text: String, option: String) throws -> String {
        let pattern = Array("0000-00-00T00:00:00Z")
        let ok = !text.isEmpty && text.count >= 4 && text.count <= pattern.count
            && zip(text, pattern).allSatisfy { c, p in p == "0" ? c.isASCII && c.isNumber : c == p }
        guard ok else { throw InputError("\(option) \(text): expected an ISO 8601 time in UTC or its start, for example 2026-12-07 or 2026-12-07T06:50:00Z") }
        return text
    }
}

/// One run's point in a series.
package struct SeriesPoint {
    package var runRow: Int64
    package var caseID: Int64
    package var digest: String
    package var timestampUTC: String
    package var hostname: String
    package var kernelRelease: String
    package var bootID: String
    package var runID: String
    package var value: Double
    package var ci95Low: Double?
    package var ci95High: Double?
}

/// One case key × metric × host, its runs in the order of their own start times.
package struct Series {
    package var hostname: String
    package var key: [(name: String, value: String)]
    package var metric: String
    package var points: [SeriesPoint]

    package var places: Int { Metric.all.first { $0.trialColumn == metric }?.places ?? 3 }
}

/// The series the filter selects, in a fixed order (host, key, metric in `Metric.all`'s order), each
/// one's points by start time (then run id and digest, so that ties too come out the same from any database).
package func loadSeries(_ db: HistoryDatabase, _ filter: SeriesFilter) throws -> [Series] {
    var sql = """
        SELECT r.id, c.id, r.digest, r.timestamp_utc, r.hostname, r.kernel_release, r.boot_id, r.run_id, c.case_key, f.metric,
               f.value, f.ci95_low, f.ci95_high
        FROM figures f JOIN cases c ON c.id = f.case_id JOIN runs r ON r.id = c.run WHERE c.status = 'ok'
        """
    var parameters: [SQLValue] = []
    for (column, value) in [("r.hostname", filter.host), ("r.kernel_release", filter.kernel), ("f.metric", filter.metric)] {
        if let value { sql += " AND \(column) = ?"; parameters.append(.text(value)) }
    }
    var groups: [String: Series] = [:]
    for row in try db.query(sql, parameters) {
        guard let runRow = row[0].integer, let caseID = row[1].integer, let value = row[10].double else { continue }
        let timestamp = row[3].string ?? ""
        if let since = filter.since, String(timestamp.prefix(since.count)) < since { continue }
        if let until = filter.until, String(timestamp.prefix(until.count)) > until { continue }
        let keyText = row[8].string ?? ""
        let key = historyKey(text: keyText)
        guard filter.key.allSatisfy({ want in key.contains { $0.name == want.name && $0.value == want.value } }) else { continue }
        let point = SeriesPoint(runRow: runRow, caseID: caseID, digest: row[2].string ?? "", timestampUTC: timestamp, hostname: row[4].string ?? "",
                                kernelRelease: row[5].string ?? "", bootID: row[6].string ?? "", runID: row[7].string ?? "",
                                value: value, ci95Low: row[11].double, ci95High: row[12].double)
        let metric = row[9].string ?? ""
        let id = point.hostname + "\u{0}" + keyText + "\u{0}" + metric
        groups[id, default: Series(hostname: point.hostname, key: key, metric: metric, points: [])].points.append(point)
    }
    func metricRank(_ m: String) -> Int { Metric.all.firstIndex { $0.trialColumn == m } ?? Metric.all.count }
    return groups.values.map { s in
        var s = s
        s.points.sort { ($0.timestampUTC, $0.runID, $0.digest, $0.caseID) < ($1.timestampUTC, $1.runID, $1.digest, $1.caseID) }
        return s
    }.sorted {
        let a = ($0.hostname, historyKeyText($0.key)), b = ($1.hostname, historyKeyText($1.key))
        return a != b ? a < b : metricRank($0.metric) < metricRank($1.metric)
    }
}

/// The key columns of these series: the known ones in `historyKeyColumns`' order, then any other by name.
package func keyColumns(_ series: [Series]) -> [String] {
    let names = Set(series.flatMap { $0.key.map(\.name) })
    return historyKeyColumns.filter(names.contains) + names.subtracting(historyKeyColumns).sorted()
}

/// How series and changes are printed.
public enum HistoryFormat: String, CaseIterable, Sendable {
    case table, csv, json
}

/// The columns of `history series --format csv`.
package func seriesHeader(_ keys: [String]) -> [String] {
    ["timestamp_utc", "hostname", "kernel_release", "boot_id", "run_id"] + keys + ["metric", "value", "ci95_low", "ci95_high"]
}

/// `ipcbench history series`: one row per run of each series the filter selects.
public func historySeries(database location: String, filter: SeriesFilter, format: HistoryFormat) throws -> String {
    let db = try openHistoryDatabase(location, create: false)
    defer { db.close() }
    try HistorySchema.checkReadable(db)
    return formatSeries(try loadSeries(db, filter), format)
}

package func formatSeries(_ series: [Series], _ format: HistoryFormat) -> String {
    let keys = keyColumns(series)
    let header = seriesHeader(keys)
    var rows: [[String]] = []
    for s in series {
        let keyCells = keys.map { name in s.key.first { $0.name == name }?.value ?? "" }
        for p in s.points {
            func number(_ v: Double?) -> String { v.map { formatDecimal($0, places: s.places) } ?? "" }
            rows.append([p.timestampUTC, p.hostname, p.kernelRelease, p.bootID, p.runID] + keyCells
                        + [s.metric, number(p.value), number(p.ci95Low), number(p.ci95High)])
        }
    }
    return renderRows(header, rows, format, numeric: Set(["value", "ci95_low", "ci95_high"]))
}

/// Rows as a CSV, a JSON array of objects (the CSV's columns as members; numbers as numbers), or aligned columns.
package func renderRows(_ header: [String], _ rows: [[String]], _ format: HistoryFormat, numeric: Set<String>) -> String {
    switch format {
    case .csv:
        return csvLine(header) + rows.map(csvLine).joined()
    case .json:
        let items: [JSON] = rows.map { row in
            .object(zip(header, row).map { name, cell in
                (name, numeric.contains(name) ? (cell.isEmpty ? .null : Double(cell).map(JSON.number) ?? .string(cell)) : .string(cell))
            })
        }
        return JSON.array(items).text(indent: "") + "\n"
    case .table:
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        func line(_ cells: [String]) -> String {
            var text = cells.enumerated().map { i, cell in
                numeric.contains(header[i]) ? String(repeating: " ", count: widths[i] - cell.count) + cell
                                            : cell + String(repeating: " ", count: widths[i] - cell.count)
            }.joined(separator: "  ")
            while text.hasSuffix(" ") { text.removeLast() }
            return text + "\n"
        }
        return escapingControlCharacters(line(header) + rows.map(line).joined(), keepingLineBreaks: true)
    }
}
