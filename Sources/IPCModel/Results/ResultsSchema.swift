import FoundationEssentials
import IPCPlatform

/// The JSON Schema (draft 2020-12) of the results' JSON form, made from the same column list as the
/// files: docs/results.schema.json is this text (a test fails when it is stale).
public func resultsJSONSchema() throws -> String {
    func type(_ kind: ColumnKind, nullable: Bool = false) -> JSONTree {
        var o: [String: JSONTree]
        switch kind {
        case .whole(let least): o = ["type": .string("integer"), "minimum": .int(least)]
        case .decimal: o = ["type": .string("number"), "minimum": .double(-largestFigure), "maximum": .double(largestFigure)]
        case .text(let names):
            o = ["type": .string("string"), "pattern": .string("^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
            if let names { o["enum"] = .array(names.map(JSONTree.string)) }
        case .flag: o = ["type": .string("boolean")]
        }
        if nullable, case .string(let t)? = o["type"] {
            o["type"] = .array([.string(t), .string("null")])
            if case .array(let names)? = o["enum"] { o["enum"] = .array(names + [.null]) }
        }
        return .object(o)
    }
    /// An object schema of `columns` nested by their paths (less `dropping` leading names).
    func object(_ columns: [ResultColumn], dropping: Int = 0, nullable: Bool = false, required: [String] = []) -> JSONTree {
        var properties: [String: [ResultColumn]] = [:]
        var order: [String] = []
        for c in columns {
            let head = c.path[dropping]
            if properties[head] == nil { order.append(head) }
            properties[head, default: []].append(c)
        }
        var schema: [String: JSONTree] = ["type": .string("object"), "additionalProperties": .bool(false)]
        schema["properties"] = .object(Dictionary(uniqueKeysWithValues: order.map { name in
            let group = properties[name]!
            if group.count == 1 && group[0].path.count == dropping + 1 { return (name, type(group[0].kind, nullable: nullable)) }
            return (name, object(group, dropping: dropping + 1, nullable: nullable))
        }))
        if !required.isEmpty { schema["required"] = .array(required.map(JSONTree.string)) }
        return .object(schema)
    }
    let cases = caseFileColumns()
    let environment = cases.filter { $0.path.first == "environment" }
    guard case .object(var caseObject) = object(cases.filter { $0.path.first != "environment" }, required: ["key"]),
          case .object(var caseProperties)? = caseObject["properties"],
          case .object(var key)? = caseProperties["key"] else { fatalError("the case schema is an object with a key") }
    key["required"] = .array([.string("transport"), .string("pattern")])
    caseProperties["key"] = .object(key)
    // A case's environment holds what differs from the run's, an empty cell as null.
    caseProperties["environment"] = object(environment, dropping: 1, nullable: true)
    let figure: JSONTree = .object(["type": .string("object"), "additionalProperties": .bool(false), "required": .array(["median", "ci95_low", "ci95_high", "trials"].map(JSONTree.string)),
                                    "properties": .object(["median": .object(["type": .string("number")]), "ci95_low": .object(["type": .string("number")]),
                                                           "ci95_high": .object(["type": .string("number")]), "trials": .object(["type": .string("integer"), "minimum": .int(1)])])])
    caseProperties["derived"] = .object([
        "description": .string("Computed by ipcbench from the record when it writes the JSON, for programs that read it: the case's name (compare's case key) and per metric with trials the median of the trials and its distribution-free 95% interval. Ignored when read."),
        "type": .string("object"), "additionalProperties": .bool(false),
        "properties": .object(["case": .object(["type": .string("string")]),
                               "figures": .object(["type": .string("object"), "additionalProperties": figure])]),
    ])
    caseObject["properties"] = .object(caseProperties)
    let placesMap: JSONTree = .object(["type": .string("object"), "additionalProperties": .object(["type": .string("integer"), "minimum": .int(0), "maximum": .int(30)])])
    let schema: JSONTree = .object([
        "$schema": .string("https://json-schema.org/draft/2020-12/schema"),
        "title": .string("ipcbench results"),
        "description": .string("The JSON form of an ipcbench results file (docs/results-format.md): the same record as the CSV pair <stem>.csv and <stem>-trials.csv, lossless. Each field is the CSV column of the same name (docs/results-format.md), nested by group."),
        "type": .string("object"),
        "additionalProperties": .bool(false),
        "required": .array([.string("schema_version"), .string("cases")]),
        "properties": .object([
            "schema_version": .object(["enum": .array(readableFormatVersions.map { .string(formatVersionText($0)) })]),
            "decimal_places": .object(["type": .string("object"), "additionalProperties": .bool(false),
                                       "description": .string("Columns whose figures the file writes with other decimals than this version's (files of an older ipcbench)"),
                                       "properties": .object(["cases": placesMap, "trials": placesMap])]),
            "environment": object(environment, dropping: 1),
            "cases": .object(["type": .string("array"), "minItems": .int(1), "items": .object(caseObject)]),
            "trials": .object(["type": .string("array"), "items": object(trialFileColumns(), required: ["run_id", "key"])]),
        ]),
    ])
    return try jsonText(schema)
}
