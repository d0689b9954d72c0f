import Glibc

/// One `[[suite]]` of a config with `[defaults]` and built-in defaults filled in.
public struct SuiteConfig: Equatable, Sendable {
    public var name: String
    public var pattern: PatternKind
    public var transports: [TransportKind]
    public var sizes: [Int]
    /// Throughput: bytes the sender moves per trial before calibration.
    public var totalBytes: Int
    /// Latency: round trips per trial before calibration.
    public var roundTrips: Int
    public var repetitions: Int
    public var warmup: Int
    public var placements: [CPUPlacement]
    public var timeoutNs: UInt64
    /// Calibration: trials shorter than this move proportionally more messages (0 turns it off).
    public var minTrialNs: UInt64
    /// The values of each per-case parameter; a suite uses the list of its pattern's parameter.
    public var parameterValues: [CaseParameter: [Int]]
    /// Kernel settings for every case of the suite, and TCP_NODELAY where set (nil: the pattern's default).
    public var knobs = TransportKnobs()
    public var noDelay: Bool?

    /// The values this suite's pattern runs with: its parameter's list, or one case where it takes none.
    public var patternParameterValues: [Int] { pattern.parameter.map { parameterValues[$0] ?? [1] } ?? [1] }
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
    var defaults = Settings.builtIn

    public static let settingKeys = ["transports", "sizes", "total", "count", "repetitions", "warmup",
                                     "cpus", "timeout", "min_trial_time"] + CaseParameter.allCases.map(\.rawValue)
                                     + Knob.allCases.map(\.rawValue) + ["nodelay"]
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
            if let key = error.key, let digits = error.digits, let bound = bounds[key] {
                throw InputError("\(file):\(error.line): \(bound.refuse(key, digits).message)")
            }
            throw InputError("\(file):\(error.line): \(error.message)")
        }
        func fail(_ line: Int, _ message: String) -> InputError { InputError("\(file):\(line): \(message)") }

        for key in root.keys where key != "defaults" && key != "suite" {
            throw fail(root[key]!.line, "unknown key '\(excerpt(key))' (expected [defaults] and [[suite]] tables)")
        }
        var base = Settings.builtIn
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
            base = try base.applying(table, fail)
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
            for parameter in CaseParameter.allCases where parameter != pattern.parameter {
                if let entry = table[parameter.rawValue] {
                    let takers = PatternKind.allCases.filter { $0.parameter == parameter }.map(\.rawValue)
                    throw fail(entry.line, "\(parameter.rawValue) does not apply to pattern \(pattern.rawValue); only \(takers.joined(separator: ", ")) takes it")
                }
            }
            suites.append(try base.applying(table, fail).suite(name: name, pattern: pattern))
        }
        return BenchConfig(suites: suites, schedule: schedule, seed: seed, sha256: sha256Hex(Array(text.utf8)), defaults: base)
    }

    /// The keys a suite may inherit from [defaults].
    struct Settings: Equatable, Sendable {
        var transports = TransportKind.allCases
        var sizes = [64, 1024, 4096, 65536]
        var total = 10 << 20
        var count = 20_000
        var repetitions = 5
        var warmup = 1
        var placements = [CPUPlacement.auto]
        var timeoutNs: UInt64 = 30_000_000_000
        var minTrialNs: UInt64 = 200_000_000
        var parameterValues: [CaseParameter: [Int]] = [.depth: [1, 4, 16, 64], .receivers: [1, 2, 4], .pairs: [1, 2, 4, 8]]
        var knobs = TransportKnobs()
        var noDelay: Bool?

        static let builtIn = Settings()

        func suite(name: String, pattern: PatternKind) -> SuiteConfig {
            SuiteConfig(name: name, pattern: pattern, transports: transports, sizes: sizes, totalBytes: total,
                        roundTrips: count, repetitions: repetitions, warmup: warmup, placements: placements,
                        timeoutNs: timeoutNs, minTrialNs: minTrialNs, parameterValues: parameterValues,
                        knobs: knobs, noDelay: noDelay)
        }

        func applying(_ table: TOMLTable, _ fail: (Int, String) -> InputError) throws -> Settings {
            var s = self
            for key in table.keys {
                let entry = table[key]!
                let line = entry.line
                func wrap<T>(_ body: () throws -> T) throws -> T {
                    do { return try body() } catch let error as InputError { throw fail(line, error.message) }
                }
                switch (key, entry.value) {
                case ("transports", .string("all")):
                    s.transports = TransportKind.allCases
                case let ("transports", .array(items)):
                    s.transports = try items.map { item in
                        guard case let .string(text) = item else { throw fail(line, "transports must be \"all\" or an array of strings") }
                        return try wrap { try parseTransport(text) }
                    }
                    if s.transports.isEmpty { throw fail(line, "transports must not be empty") }
                case let ("sizes", .array(items)):
                    let payload = InputLimits.payload
                    s.sizes = try items.map { item in
                        switch item {
                        case let .string(text): return try wrap { try parseSize(text, what: key, bound: payload) }
                        case let .integer(n) where n > 0:
                            try wrap { try payload.check(n, key) }
                            return n
                        default: throw fail(line, "sizes must be sizes like 64, \"4KiB\" or \"1MiB\", each at least 1 byte")
                        }
                    }
                    if s.sizes.isEmpty { throw fail(line, "sizes must not be empty") }
                case let ("total", .string(text)):
                    s.total = try wrap { try parseSize(text, what: key, bound: InputLimits.total) }
                case let ("total", .integer(n)) where n > 0:
                    try wrap { try InputLimits.total.check(n, key) }
                    s.total = n
                case let ("count", .integer(n)) where n > 0:
                    try wrap { try InputLimits.count.check(n, key) }
                    s.count = n
                case let ("repetitions", .integer(n)) where n > 0:
                    try wrap { try InputLimits.repetitions.check(n, key) }
                    s.repetitions = n
                case let ("warmup", .integer(n)) where n >= 0:
                    try wrap { try InputLimits.warmup.check(n, key) }
                    s.warmup = n
                case let ("cpus", .string(text)):
                    s.placements = [try wrap { try CPUPlacement(parsing: text) }]
                case let ("cpus", .array(items)) where !items.isEmpty:
                    s.placements = try items.map { item in
                        guard case let .string(text) = item else { throw fail(line, "cpus must be a placement or an array of them, for example [\"same\", \"split\"]") }
                        return try wrap { try CPUPlacement(parsing: text) }
                    }
                case let ("timeout", .string(text)):
                    s.timeoutNs = try wrap { try parseDuration(text, what: key, bound: InputLimits.timeout) }
                case let ("min_trial_time", .string(text)):
                    s.minTrialNs = try wrap { try parseDuration(text, what: key, allowZero: true, bound: InputLimits.minTrialTime) }
                case ("min_trial_time", .integer(0)):
                    s.minTrialNs = 0
                case ("name", _), ("pattern", _), ("schedule", _), ("seed", _):
                    break
                case let ("nodelay", .boolean(on)):
                    s.noDelay = on
                case let (_, .string(text)) where Knob(rawValue: key) != nil && Knob(rawValue: key) != .busyPoll:
                    try wrap { try s.knobs.set(Knob(rawValue: key)!, parseSize(text, what: key, bound: Knob(rawValue: key)!.bound), what: key) }
                case let (_, .integer(n)) where Knob(rawValue: key) != nil:
                    try wrap { try s.knobs.set(Knob(rawValue: key)!, n, what: key) }
                case let (_, .integer(n)) where CaseParameter(rawValue: key) != nil:
                    let parameter = CaseParameter(rawValue: key)!
                    s.parameterValues[parameter] = [try wrap { try parameter.check(n, key) }]
                case let (_, .array(items)) where CaseParameter(rawValue: key) != nil && !items.isEmpty:
                    let parameter = CaseParameter(rawValue: key)!
                    s.parameterValues[parameter] = try items.map { item in
                        guard case let .integer(n) = item else { throw fail(line, "\(key) must be a whole number or an array of them, for example [1, 4, 16]") }
                        return try wrap { try parameter.check(n, key) }
                    }
                case let ("total", .integer(n)), let ("count", .integer(n)), let ("repetitions", .integer(n)), let ("warmup", .integer(n)):
                    throw fail(line, "\(key) \(n) is out of range; \(BenchConfig.expected[key]!)")
                default:
                    throw fail(line, "\(key) cannot be \(entry.value.typeName) like that; \(BenchConfig.expected[key] ?? "see the README")")
                }
            }
            return s
        }
    }

    /// The numeric keys' limits (durations are strings, so Int cannot overflow on them).
    static var bounds: [String: Bound] {
        ["sizes": InputLimits.payload, "total": InputLimits.total, "count": InputLimits.count,
         "repetitions": InputLimits.repetitions, "warmup": InputLimits.warmup, "seed": seedBound,
         "depth": InputLimits.depth, "receivers": InputLimits.receivers, "pairs": InputLimits.pairs]
    }

    static let seedBound = Bound(max: Int(largestSeed), shown: "\(largestSeed)", why: "the largest seed (2^53 - 1, which spreadsheets hold exactly)")

    static let expected: [String: String] = [
        "transports": "expected \"all\" or an array such as [\"pipe\", \"tcp\"]",
        "sizes": "expected an array such as [\"64\", \"4KiB\"]",
        "total": "expected a size such as \"10MiB\", at least 1 byte",
        "count": "expected a whole number of round trips, at least 1",
        "repetitions": "expected a whole number of trials, at least 1",
        "warmup": "expected a whole number of trials, 0 or more",
        "cpus": "expected \"auto\", \"split\", \"same\", \"none\", a CPU list \"A,B\" or an array of them",
        "timeout": "expected a duration such as \"30s\"",
        "min_trial_time": "expected a duration such as \"200ms\", or \"0s\" to turn calibration off",
        "depth": "expected a whole number of outstanding requests or an array of them, each at least 1",
        "receivers": "expected a whole number of readers or an array of them, each at least 1",
        "pairs": "expected a whole number of pairs or an array of them, each at least 1",
        "pipe_size": "expected a size such as \"1MiB\"",
        "sndbuf": "expected a size such as \"256KiB\"",
        "rcvbuf": "expected a size such as \"256KiB\"",
        "busy_poll": "expected a whole number of microseconds",
        "nodelay": "expected true or false",
    ]
}

public func parseTransport(_ text: String) throws -> TransportKind {
    guard let kind = TransportKind(rawValue: text.trimmingWhitespace()) else {
        throw InputError("unknown transport '\(text)': expected one of \(TransportKind.allCases.map(\.rawValue).joined(separator: ", ")), or all")
    }
    return kind
}

public func parsePattern(_ text: String) throws -> PatternKind {
    guard let kind = PatternKind(rawValue: text.trimmingWhitespace()) else {
        throw InputError("unknown pattern '\(text)': expected one of \(PatternKind.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    return kind
}

/// The names in a folder, less `.` and `..`; nil when it cannot be read.
public func directoryNames(_ path: String) -> [String]? {
    guard let dir = opendir(path) else { return nil }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        if name != "." && name != ".." { names.append(name) }
    }
    return names
}

func readWholeFile(_ path: String) -> String? {
    guard let file = fopen(path, "rb") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&chunk, 1, chunk.count, file)
        if n > 0 { bytes.append(contentsOf: chunk[0..<n]) }
        if n < chunk.count { break }
    }
    if ferror(file) != 0 { return nil }
    return String(decoding: bytes, as: UTF8.self)
}

extension CaseParameter {
    public var bound: Bound {
        switch self {
        case .depth: return InputLimits.depth
        case .receivers: return InputLimits.receivers
        case .pairs: return InputLimits.pairs
        }
    }

    /// A value from a config or the command line (`what` names it): at least 1 and at most the bound.
    public func check(_ value: Int, _ what: String) throws -> Int {
        guard value >= 1 else { throw InputError("\(what) \(value) must be at least 1") }
        try bound.check(value, what)
        return value
    }
}

extension Knob {
    public var bound: Bound {
        switch self {
        case .pipeSize, .sendBuffer, .receiveBuffer: return Bound(max: 1 << 30, shown: "1GiB", why: "the largest buffer ipcbench asks for")
        case .busyPoll: return Bound(max: 1_000_000, shown: "1000000", why: "the longest busy poll (1 s)")
        }
    }
}

extension TransportKnobs {
    /// Sets `knob` to `value` (at least 1 byte or 0 µs, at most its bound); `what` names it in errors.
    public mutating func set(_ knob: Knob, _ value: Int, what: String) throws {
        guard value >= (knob == .busyPoll ? 0 : 1) else { throw InputError("\(what) \(value) is too small; \(BenchConfig.expected[knob.rawValue] ?? "")") }
        try knob.bound.check(value, what)
        switch knob {
        case .pipeSize: pipeSize = value
        case .sendBuffer: sendBuffer = value
        case .receiveBuffer: receiveBuffer = value
        case .busyPoll: busyPollMicroseconds = value
        }
    }

    /// The knobs that have a value.
    var set: [Knob] {
        [(Knob.pipeSize, pipeSize), (.sendBuffer, sendBuffer), (.receiveBuffer, receiveBuffer), (.busyPoll, busyPollMicroseconds)]
            .compactMap { $0.1 == nil ? nil : $0.0 }
    }

    /// `other`'s values where it has them, else these.
    func overridden(by other: TransportKnobs) -> TransportKnobs {
        TransportKnobs(pipeSize: other.pipeSize ?? pipeSize, sendBuffer: other.sendBuffer ?? sendBuffer,
                       receiveBuffer: other.receiveBuffer ?? receiveBuffer,
                       busyPollMicroseconds: other.busyPollMicroseconds ?? busyPollMicroseconds)
    }
}
