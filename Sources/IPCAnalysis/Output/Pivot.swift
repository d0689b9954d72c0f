import IPCPlatform
import IPCModel

/// What groups the columns of a pivot: the key that changes slowest from column to column.
public enum PivotGrouping: String, CaseIterable, Sendable {
    case transport, placement, file
}

/// What makes the rows of a pivot.
public enum PivotRows: Equatable, Sendable {
    /// A row per payload size; a pattern's parameter values join the column names.
    case payload
    /// A row per value of one of the pattern's parameters at one payload size (nil: its only one);
    /// its other parameters join the column names, so that each column holds them fixed.
    case parameter(CaseParameter?)

    /// `payload`, `parameter`, or a parameter's name (`subscribers`).
    public init(parsing text: String) throws {
        if text == "payload" { self = .payload; return }
        if text == "parameter" { self = .parameter(nil); return }
        guard let p = CaseParameter(rawValue: text) else {
            throw InputError("--rows \(text): expected payload, parameter or a parameter's name (\(CaseParameter.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        self = .parameter(p)
    }
}

/// One metric of one pattern as a table a spreadsheet charts in one step: a row per payload size or
/// per parameter value (the first column a text label such as `4 KiB` or `pairs 4`, so that Calc and
/// Excel take it as the categories), a column per transport, placement, parameter value and file,
/// the metric's values in the cells.
public struct Pivot: Equatable {
    public let pattern: String
    public let metric: String
    /// The top-left cell: pattern, metric and unit (and the payload, for parameter rows).
    public let title: String
    public let columns: [String]
    /// The first cell of each row: `4 KiB`, or `pairs 4`.
    public let rowLabels: [String]
    /// values[row][column]: the case file's text, "" where the case is missing, skipped or failed.
    public let values: [[String]]
    /// Cases that repeat a (transport, placement, options, parameter, payload) of the same file; the first is kept.
    public let warnings: [String]

    /// The whole table as RFC 4180 text, each cell as `spreadsheetCell` writes it.
    public var csv: String {
        var out = spreadsheetLine([title] + columns)
        for (label, row) in zip(rowLabels, values) { out += spreadsheetLine([label] + row) }
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

/// The unit of a case column (the results file's own definition); nil for text and unknown names.
public func columnUnit(_ column: String) -> String? {
    caseFileColumns().first { $0.name == column }?.unit
}

/// The metric a pattern is charted by when none is asked for: its main metric (PatternRegistry).
public func defaultPivotMetric(pattern: String) -> String {
    PatternKind(rawValue: pattern)?.metrics.first?.caseColumn ?? Metric.throughput.caseColumn
}

/// A plain decimal as ipcbench writes it: digits, an optional `-` and `.` (no exponent).
package func isPlainNumber(_ text: String) -> Bool {
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

/// Builds the pivot of `metric` (default: the pattern's main metric) for `pattern` (default: the
/// first pattern, in file order, that has a value in the metric), one column per transport, placement
/// mode, options, parameter value and file. `names` label the files in column names when there are
/// several. With `rows: .parameter`, a row per parameter value at payload `size` (default: the
/// largest payload at which every column has a value, else the largest payload).
public func makePivot(_ files: [ResultFile], names: [String], pattern: String?, metric: String?,
                      grouping: PivotGrouping = .transport, rows rowKind: PivotRows = .payload, size: Int? = nil) throws -> Pivot {
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
    if size != nil && rowKind == .payload {
        throw InputError("--size picks the payload of --rows parameter; with payload rows every payload is a row")
    }
    let chosenPattern = pattern
        ?? metric.flatMap { m in patterns.first { p in rows.contains { $0.1["pattern"] == p && !($0.1[m] ?? "").isEmpty } } }
        ?? patterns[0]
    // The pattern's parameters, and the rate and wait mode where its cases in the files have them.
    let measured = [CaseParameter.rate, .wait].filter { p in rows.contains { $0.1["pattern"] == chosenPattern && !($0.1[p.rawValue] ?? "").isEmpty } }
    let taken = (PatternKind(rawValue: chosenPattern)?.parameters ?? []) + measured
    // The parameter that makes the rows, if any; the others go into the column names.
    var parameter: CaseParameter?
    if case .parameter(let named) = rowKind {
        if taken.isEmpty {
            let takers = PatternKind.allCases.filter { !$0.parameters.isEmpty }.map { k in "\(k.rawValue) (\(k.parameters.map(\.rawValue).joined(separator: ", ")))" }
            throw InputError("--rows \(named?.rawValue ?? "parameter"): \(chosenPattern) takes no parameter; choose --pattern \(takers.joined(separator: ", ")) or --rows payload")
        }
        if let named, !taken.contains(named) {
            throw InputError("--rows \(named.rawValue): \(chosenPattern) takes \(taken.map(\.rawValue).joined(separator: ", ")), not \(named.rawValue)")
        }
        if named == nil && taken.count > 1 {
            throw InputError("--rows parameter: \(chosenPattern) takes several parameters; name the one for the rows: --rows \(taken.map(\.rawValue).joined(separator: " or --rows "))")
        }
        parameter = named ?? taken[0]
    }
    let columnParameters = taken.filter { $0 != parameter }
    let chosenMetric = metric ?? defaultPivotMetric(pattern: chosenPattern)
    let selected = rows.filter { $0.1["pattern"] == chosenPattern }
    guard selected.contains(where: { $0.1["status"] == "ok" && !($0.1[chosenMetric] ?? "").isEmpty }) else {
        throw InputError("no \(chosenPattern) case has a value in \(chosenMetric); choose another --metric or --pattern")
    }

    struct Series: Hashable {
        let file: Int; let transport: String; let placement: String; let options: String
        /// The values of the parameters that do not make the rows, as the files write them.
        let parameters: [String]
    }
    // A cell: payload rows key by payload, parameter rows by parameter value at one payload.
    struct Cell: Hashable { let payload: Int; let parameter: Int }
    var found: [Series] = []
    var cells: [Series: [Cell: String]] = [:]
    var payloads: Set<Int> = []
    var parameterValues: Set<Int> = []
    var warnings: [String] = []
    for (file, row) in selected {
        guard let payload = Int(row["payload_bytes"] ?? "") else {
            throw InputError("\(files[file].path): payload_bytes '\(row["payload_bytes"] ?? "")' is not a whole number")
        }
        var cell = Cell(payload: payload, parameter: 0)
        if let parameter {
            let value = row[parameter.rawValue] ?? ""
            guard let n = parameter.value(value) else {
                throw InputError("\(files[file].path): \(chosenPattern) case with \(parameter.rawValue) '\(value)', not one of its values; --rows \(parameter.rawValue) needs the \(parameter.rawValue) column")
            }
            cell = Cell(payload: payload, parameter: n)
            parameterValues.insert(n)
        }
        let s = Series(file: file, transport: row["transport"] ?? "", placement: JoinKey.placement.value(row),
                       options: row["options"] ?? "", parameters: columnParameters.map { row[$0.rawValue] ?? "" })
        if !found.contains(s) { found.append(s) }
        payloads.insert(payload)
        guard row["status"] == "ok" else { continue }
        if cells[s]?[cell] != nil {
            let what = taken.map { " \($0.rawValue) \(row[$0.rawValue] ?? "")" }.joined()
            warnings.append("\(files[file].path): \(s.transport) \(chosenPattern)\(what) \(payloadLabel(payload)) \(s.placement) appears twice; the first is kept")
            continue
        }
        cells[s, default: [:]][cell] = row[chosenMetric] ?? ""
    }

    // Columns grouped by the chosen key, then by the others in first-seen order; parameter values ascending.
    func rank<T: Equatable>(_ value: T, in list: [T]) -> Int { list.firstIndex(of: value) ?? 0 }
    let transports = found.map(\.transport).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
    let placements = found.map(\.placement).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
    let options = found.map(\.options).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
    func sortKey(_ s: Series) -> [Int] {
        let t = rank(s.transport, in: transports), p = rank(s.placement, in: placements), o = rank(s.options, in: options)
        let v = zip(columnParameters, s.parameters).map { $0.value($1) ?? 0 }
        switch grouping {
        case .transport: return [t, p, o] + v + [s.file]
        case .placement: return [p, t, o] + v + [s.file]
        case .file: return [s.file, t, p, o] + v
        }
    }
    let ordered = found.sorted { sortKey($0).lexicographicallyPrecedes(sortKey($1)) }
    // A parameter with one value in every column is named once, in the title.
    let fixed = columnParameters.indices.filter { i in Set(found.map { $0.parameters[i] }).count == 1 && !found[0].parameters[i].isEmpty }
    let fixedText = fixed.map { ", \(columnParameters[$0].rawValue) \(found[0].parameters[$0])" }.joined()
    func name(_ s: Series) -> String {
        var parts = [s.transport, s.placement]
        // Options only where a transport and placement have several in one file.
        if found.contains(where: { $0.file == s.file && $0.transport == s.transport && $0.placement == s.placement && $0.options != s.options }) {
            parts.append(s.options.isEmpty ? "default" : s.options)
        }
        for (i, p) in columnParameters.enumerated() where !s.parameters[i].isEmpty && !fixed.contains(i) { parts.append("\(p.rawValue) \(s.parameters[i])") }
        if files.count > 1 { parts.append("(\(names[s.file]))") }
        return parts.filter { !$0.isEmpty }.joined(separator: " ")
    }
    let unit = columnUnit(chosenMetric).map { " (\($0))" } ?? ""
    let sortedPayloads = payloads.sorted()
    guard let parameter else {
        return Pivot(pattern: chosenPattern, metric: chosenMetric, title: "\(chosenPattern) \(chosenMetric)\(unit)\(fixedText)",
                     columns: ordered.map(name), rowLabels: sortedPayloads.map(payloadLabel),
                     values: sortedPayloads.map { p in ordered.map { cells[$0]?[Cell(payload: p, parameter: 0)] ?? "" } },
                     warnings: warnings)
    }
    let values = parameterValues.sorted()
    func hasValue(_ s: Series, _ payload: Int) -> Bool { values.contains { !(cells[s]?[Cell(payload: payload, parameter: $0)] ?? "").isEmpty } }
    let payload: Int
    if let size {
        guard payloads.contains(size) else {
            throw InputError("--size \(formatSize(size)): no \(chosenPattern) case has this payload; the files have \(sortedPayloads.map(formatSize).joined(separator: ", "))")
        }
        payload = size
    } else {
        payload = sortedPayloads.last { p in ordered.allSatisfy { hasValue($0, p) } } ?? sortedPayloads.last!
    }
    return Pivot(pattern: chosenPattern, metric: chosenMetric, title: "\(chosenPattern) \(chosenMetric)\(unit) at \(payloadLabel(payload))\(fixedText)",
                 columns: ordered.map(name), rowLabels: values.map { "\(parameter.rawValue) \(parameter.text($0))" },
                 values: values.map { v in ordered.map { cells[$0]?[Cell(payload: payload, parameter: v)] ?? "" } },
                 warnings: warnings)
}

/// Short names for files in column names: the stems, or the paths where two stems are the same.
public func fileLabels(_ paths: [String]) -> [String] {
    let stems = paths.map { path -> String in
        let base = path.split(separator: "/").last.map(String.init) ?? path
        return base.hasSuffix(".csv") ? String(base.dropLast(4)) : base
    }
    return Set(stems).count == stems.count ? stems : paths
}
