import Glibc
import IPCPlatform

/// One `[[suite]]` of a config: its pattern and its settings, with [defaults] and the built-in
/// defaults under them (every setting but nodelay and the knobs has a value).
public struct SuiteConfig: Equatable, Sendable {
    public var name: String
    public var pattern: PatternKind
    public var settings: SettingLayer
    package init(name: String, pattern: PatternKind, settings: SettingLayer) {
        self.name = name
        self.pattern = pattern
        self.settings = settings
    }
}

/// The largest config file ipcbench reads, in bytes.
public let configFileLimit = 1 << 20

/// A decoded config file: its suites, in order.
public struct BenchConfig: Equatable, Sendable {
    public var suites: [SuiteConfig]
    /// Run-wide, from [defaults]: the order of the trials and the seed of the interleaved rounds.
    public var schedule = Schedule.interleaved
    public var seed: UInt64?
    /// The SHA-256 of the config's text: which config a run read (the `command` column).
    public var sha256 = ""
    /// [defaults] with the built-in values filled in: a pattern the command line asks for that no
    /// suite has runs with these.
    package var defaults = SettingLayer.builtIn

    public static var settingKeys: [String] { Setting.all.map(\.key) }
    public static let suiteKeys = ["name", "pattern"] + settingKeys
    /// Keys that apply to the whole run, so only [defaults] takes them.
    public static let runKeys = ["schedule", "seed"]

    /// Reads and decodes a config file; every error names the file and line.
    public static func load(path: String) throws -> BenchConfig {
        guard let text = try readRegularFile(path, limit: configFileLimit, what: "a config file (.toml)") else {
            throw InputError("\(path): cannot read the config file (does it exist?)")
        }
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String) throws -> BenchConfig {
        let root: TOMLTable
        do {
            root = try TOMLParser.parse(text)
        } catch let error as TOMLError {
            if let key = error.key, let digits = error.digits, let bound = key == "seed" ? seedBound : Setting.named(key)?.bound {
                throw InputError("\(file):\(error.line): \(bound.refuse(key, digits).message)")
            }
            throw InputError("\(file):\(error.line): \(error.message)")
        }
        func fail(_ line: Int, _ message: String) -> InputError { InputError("\(file):\(line): \(message)") }

        for key in root.keys where key != "defaults" && key != "suite" {
            throw fail(root[key]!.line, "unknown key '\(excerpt(key))' (expected [defaults] and [[suite]] tables)")
        }
        var base = SettingLayer.builtIn
        var schedule = Schedule.interleaved
        var seed: UInt64? = nil
        if let entry = root["defaults"] {
            guard case let .table(table) = entry.value else { throw fail(entry.line, "'defaults' must be a [defaults] table") }
            for key in table.keys where !settingKeys.contains(key) && !runKeys.contains(key) {
                throw fail(table[key]!.line, "unknown key '\(excerpt(key))' in [defaults] (expected one of: \((settingKeys + runKeys).joined(separator: ", ")))")
            }
            if let entry = table["schedule"] {
                guard case let .string(text) = entry.value else { throw fail(entry.line, "schedule must be \"interleaved\" or \"sequential\"") }
                do { schedule = try Schedule(parsing: text, what: "schedule") } catch let error as InputError { throw fail(entry.line, error.message) }
            }
            if let entry = table["seed"] {
                guard case let .integer(n) = entry.value, n >= 0 else { throw fail(entry.line, "seed must be a whole number, 0 or more") }
                do { try Schedule.checkSeed(UInt64(n), what: "seed") } catch let error as InputError { throw fail(entry.line, error.message) }
                seed = UInt64(n)
            }
            base = try base.reading(table, fail)
        }
        guard let suitesEntry = root["suite"] else { throw fail(1, "no [[suite]] table: a config needs at least one") }
        guard case let .tableArray(tables) = suitesEntry.value else {
            throw fail(suitesEntry.line, "'suite' must be written [[suite]] (an array of tables)")
        }
        var suites: [SuiteConfig] = []
        for table in tables {
            for key in table.keys where !suiteKeys.contains(key) {
                throw fail(table[key]!.line, "unknown key '\(excerpt(key))' in [[suite]] (expected one of: \(suiteKeys.joined(separator: ", ")))")
            }
            guard let patternEntry = table["pattern"] else {
                throw fail(table.line, "[[suite]] needs a pattern (\(PatternKind.allCases.map(\.rawValue).joined(separator: " or ")))")
            }
            guard case let .string(patternText) = patternEntry.value, let pattern = PatternKind(rawValue: patternText) else {
                throw fail(patternEntry.line, "pattern must be one of: \(PatternKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            var name = pattern.rawValue
            if let entry = table["name"] {
                guard case let .string(text) = entry.value, !text.isEmpty else { throw fail(entry.line, "name must be a non-empty string") }
                name = text
            }
            for parameter in CaseParameter.allCases where !pattern.takes(parameter) {
                if let entry = table[parameter.rawValue] {
                    let takers = PatternKind.allCases.filter { $0.takes(parameter) }.map(\.rawValue)
                    throw fail(entry.line, "\(parameter.rawValue) does not apply to pattern \(pattern.rawValue); only \(takers.joined(separator: ", ")) takes it")
                }
            }
            suites.append(SuiteConfig(name: name, pattern: pattern, settings: try base.reading(table, fail)))
        }
        return BenchConfig(suites: suites, schedule: schedule, seed: seed, sha256: sha256Hex(Array(text.utf8)), defaults: base)
    }

    package static let seedBound = Bound(max: Int(largestSeed), shown: "\(largestSeed)", why: "the largest seed (2^53 - 1, which spreadsheets hold exactly)")

}

public func parseTransport(_ text: String) throws -> TransportKind {
    guard let kind = TransportKind(rawValue: text.trimmingWhitespace()) else {
        throw InputError("unknown transport '\(excerpt(text))': expected one of \(TransportKind.allCases.map(\.rawValue).joined(separator: ", ")), or all")
    }
    return kind
}

public func parsePattern(_ text: String) throws -> PatternKind {
    guard let kind = PatternKind(rawValue: text.trimmingWhitespace()) else {
        throw InputError("unknown pattern '\(excerpt(text))': expected one of \(PatternKind.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    return kind
}


extension SettingLayer {
    /// This layer with the settings of a [defaults] or [[suite]] table over it; errors name the line.
    package func reading(_ table: TOMLTable, _ fail: (Int, String) -> InputError) throws -> SettingLayer {
        var upper = SettingLayer()
        for key in table.keys where Setting.named(key) != nil {
            let entry = table[key]!
            do { try Setting.named(key)!.read(&upper, .toml(entry.value), key) } catch let error as InputError { throw fail(entry.line, error.message) }
        }
        return upper.over(self)
    }
}

extension SettingLayer {
    /// The settings one case keeps: without the lists its suite runs over (one case is one of each).
    package var caseSettings: SettingLayer {
        var s = self
        s.transports = nil
        s.sizes = nil
        s.placements = nil
        s.parameters = [:]
        return s
    }
}
