/// What groups the columns of a pivot: the key that changes slowest from column to column.
public enum PivotGrouping: String, CaseIterable, Sendable {
    case transport, placement, file
}

/// One metric of one pattern as a table a spreadsheet charts in one step: a row per payload size
/// (the first column a text label such as `4 KiB`, so that Calc and Excel take it as the categories),
/// a column per transport, placement and file, the metric's values in the cells.
public struct Pivot: Equatable {
    public let pattern: String
    public let metric: String
    /// The top-left cell: pattern, metric and unit.
    public let title: String
    public let columns: [String]
    public let payloads: [Int]
    /// values[row][column]: the case file's text, "" where the case is missing, skipped or failed.
    public let values: [[String]]
    /// Cases that repeat a (transport, placement, options, payload) of the same file; the first is kept.
    public let warnings: [String]

    /// The whole table as RFC 4180 text.
    public var csv: String {
        var out = csvLine([title] + columns)
        for (payload, row) in zip(payloads, values) { out += csvLine([payloadLabel(payload)] + row) }
        return out
    }
}

/// `64 B`, `4 KiB`, `1 MiB`: always text to a spreadsheet, never a number.
public func payloadLabel(_ bytes: Int) -> String {
    let size = formatSize(bytes)
    let digits = size.prefix { $0.isNumber }
    let unit = size.dropFirst(digits.count)
    return "\(digits) \(unit.isEmpty ? "B" : unit)"
}

/// The unit of a case column, from its name; nil when the name gives none.
public func columnUnit(_ column: String) -> String? {
    if column.hasPrefix("mib_per_s") { return "MiB/s" }
    if column.hasPrefix("msgs_per_s") { return "messages/s" }
    if column.hasSuffix("_us_per_msg") { return "us per message" }
    if column.hasSuffix("_per_msg") { return "per message" }
    if column.hasPrefix("rtt_us") { return "us" }
    if column.hasSuffix("_ns") { return "ns" }
    if column.contains("bytes") { return "bytes" }
    if column.hasPrefix("msgs_") || column.hasPrefix("messages") { return "messages" }
    return nil
}

/// The metric a pattern is charted by when none is asked for.
public func defaultPivotMetric(pattern: String) -> String {
    pattern == "throughput" ? "mib_per_s_median" : "rtt_us_p50"
}

/// A plain decimal as ipcbench writes it: digits, an optional `-` and `.` (no exponent).
func isPlainNumber(_ text: String) -> Bool {
    var body = Substring(text)
    if body.hasPrefix("-") { body = body.dropFirst() }
    let parts = body.split(separator: ".", omittingEmptySubsequences: false)
    return (1...2).contains(parts.count) && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }
}

/// The columns whose every non-empty cell, in every file, is a plain number (payload_bytes aside:
/// it makes the rows), in the first file's header order.
public func numericColumns(_ files: [ResultFile]) -> [String] {
    guard let first = files.first?.cases.first else { return [] }
    // The rows are dictionaries: caseColumns gives the order of the known columns, names the rest.
    let order = caseColumns.filter { first[$0] != nil } + first.keys.filter { !caseColumns.contains($0) }.sorted()
    return order.filter { column in
        column != "payload_bytes"
            && files.allSatisfy { $0.cases.allSatisfy { ($0[column] ?? "").isEmpty || isPlainNumber($0[column]!) } }
            && files.contains { $0.cases.contains { !($0[column] ?? "").isEmpty } }
    }
}

/// Builds the pivot of `metric` (default: by pattern) for `pattern` (default: the first pattern,
/// in file order, that has a value in the metric), one column per transport, placement mode,
/// options and file. `names` label the files in column names when there are several.
public func makePivot(_ files: [ResultFile], names: [String], pattern: String?, metric: String?,
                      grouping: PivotGrouping = .transport) throws -> Pivot {
    let rows = files.enumerated().flatMap { i, file in file.cases.map { (i, $0) } }
    let patterns = rows.map { $0.1["pattern"] ?? "" }.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
    let numeric = numericColumns(files)
    if let metric, !numeric.contains(metric) {
        let why = files[0].cases[0][metric] == nil ? "no such column" : "not a column of numbers"
        throw InputError("--metric \(metric): \(why); use one of \(numeric.joined(separator: ", "))")
    }
    if let pattern, !patterns.contains(pattern) {
        throw InputError("--pattern \(pattern): no case has this pattern; the files have \(patterns.joined(separator: ", "))")
    }
    let chosenPattern = pattern
        ?? metric.flatMap { m in patterns.first { p in rows.contains { $0.1["pattern"] == p && !($0.1[m] ?? "").isEmpty } } }
        ?? patterns[0]
    let chosenMetric = metric ?? defaultPivotMetric(pattern: chosenPattern)
    let selected = rows.filter { $0.1["pattern"] == chosenPattern }
    guard selected.contains(where: { $0.1["status"] == "ok" && !($0.1[chosenMetric] ?? "").isEmpty }) else {
        throw InputError("no \(chosenPattern) case has a value in \(chosenMetric); choose another --metric or --pattern")
    }

    struct Series: Hashable { let file: Int; let transport: String; let placement: String; let options: String }
    func series(_ file: Int, _ row: [String: String]) -> Series {
        Series(file: file, transport: row["transport"] ?? "", placement: JoinKey.placement.value(row), options: row["options"] ?? "")
    }
    var found: [Series] = []
    var cells: [Series: [Int: String]] = [:]
    var payloads: Set<Int> = []
    var warnings: [String] = []
    for (file, row) in selected {
        let s = series(file, row)
        guard let payload = Int(row["payload_bytes"] ?? "") else {
            throw InputError("\(files[file].path): payload_bytes '\(row["payload_bytes"] ?? "")' is not a whole number")
        }
        if !found.contains(s) { found.append(s) }
        payloads.insert(payload)
        guard row["status"] == "ok" else { continue }
        if cells[s]?[payload] != nil {
            warnings.append("\(files[file].path): \(s.transport) \(chosenPattern) \(payloadLabel(payload)) \(s.placement) appears twice; the first is kept")
            continue
        }
        cells[s, default: [:]][payload] = row[chosenMetric] ?? ""
    }

    // Columns grouped by the chosen key, then by the others in first-seen order.
    func rank<T: Equatable>(_ value: T, in list: [T]) -> Int { list.firstIndex(of: value) ?? 0 }
    let transports = found.map(\.transport).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
    let placements = found.map(\.placement).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
    let options = found.map(\.options).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
    func sortKey(_ s: Series) -> [Int] {
        let t = rank(s.transport, in: transports), p = rank(s.placement, in: placements), o = rank(s.options, in: options)
        switch grouping {
        case .transport: return [t, p, o, s.file]
        case .placement: return [p, t, o, s.file]
        case .file: return [s.file, t, p, o]
        }
    }
    let ordered = found.sorted { sortKey($0).lexicographicallyPrecedes(sortKey($1)) }
    func name(_ s: Series) -> String {
        var parts = [s.transport, s.placement]
        // Options only where a transport and placement have several in one file.
        if found.contains(where: { $0.file == s.file && $0.transport == s.transport && $0.placement == s.placement && $0.options != s.options }) {
            parts.append(s.options.isEmpty ? "default" : s.options)
        }
        if files.count > 1 { parts.append("(\(names[s.file]))") }
        return parts.filter { !$0.isEmpty }.joined(separator: " ")
    }
    let sortedPayloads = payloads.sorted()
    let unit = columnUnit(chosenMetric).map { " (\($0))" } ?? ""
    return Pivot(pattern: chosenPattern, metric: chosenMetric, title: "\(chosenPattern) \(chosenMetric)\(unit)",
                 columns: ordered.map(name), payloads: sortedPayloads,
                 values: sortedPayloads.map { p in ordered.map { cells[$0]?[p] ?? "" } }, warnings: warnings)
}

/// Short names for files in column names: the stems, or the paths where two stems are the same.
public func fileLabels(_ paths: [String]) -> [String] {
    let stems = paths.map { path -> String in
        let base = path.split(separator: "/").last.map(String.init) ?? path
        return base.hasSuffix(".csv") ? String(base.dropLast(4)) : base
    }
    return Set(stems).count == stems.count ? stems : paths
}
