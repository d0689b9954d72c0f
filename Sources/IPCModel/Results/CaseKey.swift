import IPCPlatform

/// Which case a row of a results or trials file belongs to: the fields cases are matched on.
public struct CaseKey: Hashable, Sendable {
    public var transport: String
    public var pattern: String
    public var payloadBytes: String
    /// The placement mode only (split, same, none, pinned): CPU numbers differ between machines.
    public var placement: String
    public var options: String
    /// The pattern's parameter and its value, as "depth 4"; empty where it takes none, and in files from before 0.2.0.
    public var parameter: String

    package init(_ row: [String: String]) {
        transport = row["transport"] ?? ""
        pattern = row["pattern"] ?? ""
        payloadBytes = row["payload_bytes"] ?? ""
        placement = String((row["cpu_placement"] ?? "").prefix { $0 != ":" })
        options = row["options"] ?? ""
        parameter = CaseParameter.allCases.compactMap { p in row[p.rawValue].flatMap { $0.isEmpty ? nil : "\(p.rawValue) \($0)" } }
            .joined(separator: " ")
    }

    /// The value of parameter `p` (depth, receivers, pairs) as the files write it; empty where the case has none.
    package func value(of p: CaseParameter) -> String {
        let words = parameter.split(separator: " ")
        return words.indices.first { $0 % 2 == 0 && words[$0] == p.rawValue && $0 + 1 < words.count }.map { String(words[$0 + 1]) } ?? ""
    }

    /// The key with the `ignored` fields left empty.
    package func ignoring(_ ignored: Set<JoinKey>) -> CaseKey {
        var key = self
        for field in ignored { key[keyPath: field.keyPath] = "" }
        return key
    }

    /// The case's name in the report: its fields that are not empty, joined with spaces.
    package var name: String { JoinKey.allCases.map { self[keyPath: $0.keyPath] }.filter { !$0.isEmpty }.joined(separator: " ") }
}

/// The fields cases are matched on; `--ignore` drops some.
public enum JoinKey: String, CaseIterable, Sendable {
    case transport, pattern, payload, placement, options, parameter

    package var keyPath: WritableKeyPath<CaseKey, String> {
        switch self {
        case .transport: return \.transport
        case .pattern: return \.pattern
        case .payload: return \.payloadBytes
        case .placement: return \.placement
        case .options: return \.options
        case .parameter: return \.parameter
        }
    }

    /// This field of a row read by column name.
    package func value(_ row: [String: String]) -> String { CaseKey(row)[keyPath: keyPath] }
}
