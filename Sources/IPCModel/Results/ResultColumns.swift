import IPCPlatform

/// The format version of the files a run writes: the CSV pair's columns and the JSON's
/// `schema_version`. Bump the minor when columns are added (docs/results-format.md lists them).
public let resultsFormatVersion = 4

/// `0.N.0` for a minor version.
public func formatVersionText(_ minor: Int) -> String { "0.\(minor).0" }

/// The format versions ipcbench reads (0.1.0 to this one).
public let readableFormatVersions = 1...resultsFormatVersion

/// What a cell of a column holds.
public enum ColumnKind: Sendable, Equatable {
    /// A count: a whole number of at least `least`, written without a sign or a point.
    case whole(least: Int)
    /// A figure: written with `places` decimals, never in exponent form.
    case decimal(places: Int)
    /// Text; `names`, when given, are the only values it takes.
    case text(names: [String]?)
    /// `true` or `false`.
    case flag
}

/// One typed cell. An empty CSV cell is nil (a value that does not apply).
public enum Value: Sendable, Equatable {
    case whole(Int)
    /// A figure and the decimals it is written with (the column's, or those of the file it was read from).
    case decimal(Double, places: Int)
    case text(String)
    case flag(Bool)

    /// The cell as the CSV writes it.
    public var text: String {
        switch self {
        case .whole(let n): return String(n)
        case .decimal(let d, let places): return formatDecimal(d, places: places)
        case .text(let s): return s
        case .flag(let b): return b ? "true" : "false"
        }
    }

    /// The value of a CSV cell that `ResultFile.cellProblem` accepted for `kind`; nil for an empty one.
    public init?(cell: String, _ kind: ColumnKind) {
        if cell.isEmpty { return nil }
        switch kind {
        case .whole: self = Int(cell).map(Value.whole) ?? .text(cell)
        case .decimal:
            let places = cell.firstIndex(of: ".").map { cell.distance(from: $0, to: cell.endIndex) - 1 } ?? 0
            self = Double(cell).map { .decimal($0, places: places) } ?? .text(cell)
        case .text: self = .text(cell)
        case .flag: self = cell == "true" ? .flag(true) : cell == "false" ? .flag(false) : .text(cell)
        }
    }
}

/// A column of a results or trials file, as the model knows it: its CSV name, the version that
/// added it, its unit, what it holds, and where the JSON form puts it.
public struct ResultColumn: Sendable, Equatable {
    public let name: String
    /// The minor version (0.N.0) whose files first carry it.
    public let version: Int
    /// What its numbers count, as pivot titles name it; nil for text.
    public let unit: String?
    public let kind: ColumnKind
    /// The JSON objects it is nested in, then its field's name (`figures`, `mib_per_s`, `median`).
    public let path: [String]
}

/// One row of the case or trials file as typed values, in the order of its file's columns.
public struct RowValues: Sendable, Equatable {
    public var values: [Value?]

    public init(_ values: [Value?]) { self.values = values }

    /// The row's CSV cells under `columns`.
    public func cells(_ columns: [ResultColumn]) -> [String] {
        zip(values, columns).map { value, column in value?.text ?? "" }
    }
}

/// The settings that reach the case file as columns of their own (0.4.0): the workers, TCP's
/// nodelay, and each transport knob with the value the kernel put in force.
public enum SettingColumn: Sendable, Equatable {
    case workers, nodelay
    case knob(Knob)

    public static var all: [SettingColumn] { [.workers, .nodelay] + Knob.allCases.map(SettingColumn.knob) }

    public var name: String {
        switch self {
        case .workers: return "workers"
        case .nodelay: return "nodelay"
        case .knob(let k): return k.rawValue
        }
    }
}

/// The `options` label of a case, made from its typed settings: `threads` where the workers are
/// threads, `nodelay` where TCP_NODELAY is on, each knob as `name=value`. It is a label for people
/// and for matching cases; nothing reads settings back out of it.
public func optionsLabel(workers: Workers, noDelay: Bool, knobs: TransportKnobs) -> String {
    [workers == .thread ? "threads" : "", noDelay ? "nodelay" : "", knobs.label].filter { !$0.isEmpty }.joined(separator: " ")
}

/// The same label from a file's typed setting cells (by setting name), leaving out `except`.
package func optionsLabel(settings: [String: String], except: String? = nil) -> String {
    var knobs = TransportKnobs()
    for knob in Knob.allCases where knob.rawValue != except { knobs[knob] = settings[knob.rawValue].flatMap { Int($0) } }
    let workers: Workers = except != "workers" && settings["workers"] == "thread" ? .thread : .process
    return optionsLabel(workers: workers, noDelay: except != "nodelay" && settings["nodelay"] == "true", knobs: knobs)
}
