import IPCPlatform

/// One run's results (or several runs' rows kept in one file): the case rows and the trial rows as
/// typed values. The CSV pair and the JSON are two renderings of it, each lossless: a CSV pair
/// read into a record and written again is the same bytes, and so is the JSON.
public struct ResultsRecord: Sendable, Equatable {
    /// The format version (the minor, 0.N.0) whose columns the rows hold.
    public var version: Int
    /// The case rows, each matching `caseFileColumns(version:)`.
    public var cases: [RowValues]
    /// The trial rows in the order they were measured, each matching `trialFileColumns(version:)`;
    /// nil where there is no trials file.
    public var trials: [RowValues]?

    public init(version: Int = resultsFormatVersion, cases: [RowValues] = [], trials: [RowValues]? = []) {
        self.version = version
        self.cases = cases
        self.trials = trials
    }

    public var caseColumns: [ResultColumn] { caseFileColumns(version: version) }
    public var trialColumns: [ResultColumn] { trialFileColumns(version: version) }

    /// The case file's text: the header and a CSV record per case row.
    public var casesCSV: String {
        let columns = caseColumns
        return csvLine(columns.map(\.name)) + cases.map { csvLine($0.cells(columns).map { escapingControlCharacters($0) }) }.joined()
    }

    /// The trials file's text; nil where there is no trials file.
    public var trialsCSV: String? {
        let columns = trialColumns
        return trials.map { rows in csvLine(columns.map(\.name)) + rows.map { csvLine($0.cells(columns).map { escapingControlCharacters($0) }) }.joined() }
    }
}

/// A JSON value, as the record's JSON form is made of: objects keep no order (the encoder sorts
/// their keys), numbers are whole or not.
package indirect enum JSONTree: Codable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONTree])
    case object([String: JSONTree])

    package init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Int.self) { self = .int(n) }
        else if let d = try? c.decode(Double.self) { self = .double(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONTree].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONTree].self)) }
    }

    package func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .int(let n): try c.encode(n)
        case .double(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    /// What it is, for an error message.
    package var kindName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .int, .double: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

/// The JSON form was not one ipcbench writes: says where (`case 3: figures.mib_per_s.median`) and what.
package struct RecordFormatError: Error {
    package let message: String
    package init(message: String) { self.message = message }
}

extension Value {
    /// The JSON value of a cell.
    package var json: JSONTree {
        switch self {
        case .whole(let n): return .int(n)
        case .decimal(let d, _): return .double(d)
        case .text(let s): return .string(s)
        case .flag(let b): return .bool(b)
        }
    }

    /// The value of a JSON value in a column of `kind`; nil for null; throws where the kind does not match.
    package init?(json: JSONTree, _ kind: ColumnKind, at place: String) throws {
        func wrong(_ expected: String) -> RecordFormatError { RecordFormatError(message: "\(place) is \(json.kindName), expected \(expected)") }
        switch (kind, json) {
        case (_, .null): return nil
        case (.whole, .int(let n)): self = .whole(n)
        case (.whole, _): throw wrong("a whole number")
        case (.decimal(let places), .int(let n)): self = .decimal(Double(n), places: places)
        case (.decimal(let places), .double(let d)): self = .decimal(d, places: places)
        case (.decimal, _): throw wrong("a number")
        case (.text, .string(let s)): self = .text(s)
        case (.text, _): throw wrong("a string")
        case (.flag, .bool(let b)): self = .flag(b)
        case (.flag, _): throw wrong("true or false")
        }
    }
}

/// A row's values as nested JSON objects, each column at its `path`; empty cells left out, except
/// where `keepingNulls` (an environment that differs from the run's by an empty cell).
package func jsonObject(_ row: RowValues, _ columns: [ResultColumn], keepingNulls: Bool = false) -> [String: JSONTree] {
    var object: [String: JSONTree] = [:]
    func put(_ value: JSONTree, _ path: ArraySlice<String>, into o: inout [String: JSONTree]) {
        let head = path.first!
        if path.count == 1 { o[head] = value; return }
        var inner: [String: JSONTree] = [:]
        if case .object(let existing) = o[head] { inner = existing }
        put(value, path.dropFirst(), into: &inner)
        o[head] = .object(inner)
    }
    for (value, column) in zip(row.values, columns) {
        if let value { put(value.json, column.path[...], into: &object) } else if keepingNulls { put(.null, column.path[...], into: &object) }
    }
    return object
}

/// The row a JSON object holds under `columns`; throws for a field of the wrong kind or one no column has.
package func rowValues(_ object: [String: JSONTree], _ columns: [ResultColumn], at place: String) throws -> RowValues {
    var used = 0
    var values: [Value?] = []
    values.reserveCapacity(columns.count)
    for column in columns {
        var node: JSONTree? = .object(object)
        for name in column.path {
            guard case .object(let o) = node else { node = nil; break }
            node = o[name]
        }
        if node != nil { used += 1 }
        values.append(try node.flatMap { try Value(json: $0, column.kind, at: "\(place): \(column.path.joined(separator: "."))") })
    }
    let leaves = leafPaths(object)
    if leaves.count != used {
        let known = Set(columns.map { $0.path.joined(separator: ".") })
        let unknown = leaves.first { !known.contains($0) } ?? "?"
        throw RecordFormatError(message: "\(place): \(unknown) is not a field of an ipcbench results file of this schema_version")
    }
    return RowValues(values)
}

/// The paths (`figures.mib_per_s.median`) of an object's values that are not objects.
private func leafPaths(_ object: [String: JSONTree], _ prefix: String = "") -> [String] {
    object.flatMap { name, value -> [String] in
        if case .object(let inner) = value { return leafPaths(inner, prefix + name + ".") }
        return [prefix + name]
    }
}

extension ResultsRecord: Codable {
    package enum Keys: String, CodingKey {
        case schemaVersion = "schema_version", decimalPlaces = "decimal_places", environment, cases, trials
    }

    /// The columns whose figures `rows` write with other decimals than the model's (an older
    /// ipcbench's), by name. A column that mixes several counts (a hand-edited file) gets none: its
    /// numbers stay exact, but its CSV would not come back the same, which `convert` refuses to write.
    private static func placesOverrides(_ rows: [RowValues], _ columns: [ResultColumn]) -> [String: Int] {
        var overrides: [String: Int] = [:]
        for (index, column) in columns.enumerated() {
            guard case .decimal(let model) = column.kind else { continue }
            var seen = Set<Int>()
            for row in rows { if case .decimal(_, let places)? = row.values[index] { seen.insert(places) } }
            if seen.count == 1, let places = seen.first, places != model { overrides[column.name] = places }
        }
        return overrides
    }

    /// `columns` with the decimals `overrides` names.
    private static func applying(_ overrides: [String: Int], to columns: [ResultColumn]) -> [ResultColumn] {
        columns.map { c in
            guard let places = overrides[c.name], case .decimal = c.kind else { return c }
            return ResultColumn(name: c.name, version: c.version, unit: c.unit, kind: .decimal(places: places), path: c.path)
        }
    }

    /// `schema_version`; `environment`: the first case's environment; `cases`: each case's fields,
    /// its `environment` holding only what differs from the first's; `trials`: the trial rows.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(formatVersionText(version), forKey: .schemaVersion)
        let places = ["cases": Self.placesOverrides(cases, caseColumns),
                      "trials": Self.placesOverrides(trials ?? [], trialColumns)].filter { !$0.value.isEmpty }
        if !places.isEmpty { try c.encode(places, forKey: .decimalPlaces) }
        let columns = caseColumns
        let environment = columns.filter { $0.path.first == "environment" }
        let first = cases.first.map { environmentValues($0, columns) }
        if let first { try c.encode(jsonObject(first, environment)["environment"] ?? .object([:]), forKey: .environment) }
        let derived = derivedFigures()
        let caseObjects = zip(cases, derived).map { row, derived -> JSONTree in
            var object = jsonObject(row, columns).filter { $0.key != "environment" }
            object["derived"] = derived
            // Only the fields that differ from the first case's; an empty one as null.
            var differing: [String: JSONTree] = [:]
            for ((own, firsts), column) in zip(zip(environmentValues(row, columns).values, first?.values ?? []), environment) where own != firsts {
                differing[column.path.last!] = own?.json ?? .null
            }
            if !differing.isEmpty { object["environment"] = .object(differing) }
            return .object(object)
        }
        try c.encode(caseObjects, forKey: .cases)
        if let trials {
            let columns = trialColumns
            try c.encode(trials.map { JSONTree.object(jsonObject($0, columns)) }, forKey: .trials)
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        let text = try c.decode(String.self, forKey: .schemaVersion)
        guard let version = readableFormatVersions.first(where: { formatVersionText($0) == text }) else {
            throw RecordFormatError(message: "schema_version \(text) is not one this ipcbench reads (\(formatVersionText(readableFormatVersions.lowerBound)) to \(formatVersionText(readableFormatVersions.upperBound)))")
        }
        self.version = version
        let places = try c.decodeIfPresent([String: [String: Int]].self, forKey: .decimalPlaces) ?? [:]
        let columns = Self.applying(places["cases"] ?? [:], to: caseFileColumns(version: version))
        let runEnvironment = try c.decodeIfPresent([String: JSONTree].self, forKey: .environment) ?? [:]
        let caseObjects = try c.decode([[String: JSONTree]].self, forKey: .cases)
        cases = try caseObjects.enumerated().map { index, object in
            var merged = object
            var env = runEnvironment
            if case .object(let own)? = object["environment"] {
                for (name, value) in own { env[name] = value }
            } else if let own = object["environment"] {
                throw RecordFormatError(message: "case \(index + 1): environment is \(own.kindName), expected an object")
            }
            merged["environment"] = .object(env.filter { $0.value != .null })
            merged["derived"] = nil  // made again from the trials whenever the JSON is written
            return try rowValues(merged, columns, at: "case \(index + 1)")
        }
        let trialColumns = Self.applying(places["trials"] ?? [:], to: trialFileColumns(version: version))
        trials = try c.decodeIfPresent([[String: JSONTree]].self, forKey: .trials)?.enumerated().map { index, object in
            try rowValues(object, trialColumns, at: "trial \(index + 1)")
        }
    }

    /// The row's environment values, in the order of the environment columns.
    private func environmentValues(_ row: RowValues, _ columns: [ResultColumn]) -> RowValues {
        RowValues(zip(row.values, columns).filter { $0.1.path.first == "environment" }.map(\.0))
    }

    /// Per case, what ipcbench computes from the record for programs that read the JSON, so that
    /// none computes its own: the case's name (compare's case key) and, per metric of its pattern
    /// with trials, the median of the trials' figures and its distribution-free 95% interval (as
    /// the case file's MiB/s interval), with the count. Not part of the record: ignored when read.
    package func derivedFigures() -> [JSONTree] {
        let caseColumns = self.caseColumns, trialColumns = self.trialColumns
        func cells(_ row: RowValues, _ columns: [ResultColumn]) -> [String: String] {
            Dictionary(uniqueKeysWithValues: zip(columns, row.values).map { ($0.name, $1?.text ?? "") })
        }
        var trialsByCase: [CaseKey: [[String: String]]] = [:]
        for trial in trials ?? [] {
            let t = cells(trial, trialColumns)
            trialsByCase[CaseKey(t), default: []].append(t)
        }
        return cases.map { row in
            let c = cells(row, caseColumns)
            let key = CaseKey(c)
            var figures: [String: JSONTree] = [:]
            for metric in Metric.of(pattern: key.pattern) {
                let values = (trialsByCase[key] ?? []).compactMap { positiveFigure($0[metric.trialColumn] ?? "") }
                guard let summary = Summary(values) else { continue }
                func rounded(_ v: Double) -> JSONTree { .double(Double(formatDecimal(v, places: metric.places)) ?? v) }
                figures[metric.trialColumn] = .object(["median": rounded(summary.median), "ci95_low": rounded(summary.ci95Low),
                                                       "ci95_high": rounded(summary.ci95High), "trials": .int(summary.count)])
            }
            return .object(["case": .string(key.name), "figures": .object(figures)])
        }
    }
}
