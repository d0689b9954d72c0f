import ArgumentParser
import IPCPlatform

// Every setting of a suite in one file: the table (TOML key, option, how a value is read, its bound,
// what it applies to), the all-optional layer that the built-in defaults, a config's [defaults], its
// [[suite]] and the command line each are, and the command-line options. A new setting is its row in
// `Setting.all`, its field in `SettingLayer`, its option in `RunOptions` (all here), and the code that
// uses it; a new knob is its `Knob` case here and its transport's `knobs`.

/// One layer of settings: nil (or absent) where the layer leaves a setting to the one below.
/// Layers merge in order: built-in defaults <- [defaults] <- [[suite]] <- command line.
public struct SettingLayer: Equatable, Sendable {
    public var transports: [TransportKind]?
    public var sizes: [Int]?
    /// Bytes the sender moves per trial before calibration (patterns sized by total bytes).
    public var total: Int?
    /// Messages or round trips per trial before calibration (patterns sized by count).
    public var count: Int?
    public var repetitions: Int?
    public var warmup: Int?
    public var placements: [CPUPlacement]?
    public var timeoutNs: UInt64?
    /// Calibration: trials shorter than this move proportionally more messages (0 turns it off).
    public var minTrialNs: UInt64?
    /// The values of each per-case parameter; a suite uses its pattern's.
    public var parameters: [CaseParameter: [Int]] = [:]
    /// Kernel settings (knobs) for every case.
    public var knobs = TransportKnobs()
    /// TCP_NODELAY where set; unset in every layer: on for the patterns that wait for answers.
    public var noDelay: Bool?
    /// Whether a trial's workers are processes or threads of one process.
    public var workers: Workers?

    public init() {}

    /// The built-in defaults: every setting but nodelay and the knobs has a value.
    public static let builtIn: SettingLayer = {
        var s = SettingLayer()
        s.transports = TransportKind.allCases
        s.sizes = [64, 1024, 4096, 65536]
        s.total = 10 << 20
        s.count = 20_000
        s.repetitions = 5
        s.warmup = 1
        s.placements = [.auto]
        s.timeoutNs = 30_000_000_000
        s.minTrialNs = 200_000_000
        s.parameters = [.depth: [1, 4, 16, 64], .receivers: [1, 2, 4], .pairs: [1, 2, 4, 8],
                        .publishers: [1], .subscribers: [1, 2, 4], .topics: [4], .subscriptions: [1], .topology: [1, 2]]
        s.workers = .process
        return s
    }()

    /// This layer over `lower`: every setting this layer has replaces lower's.
    public func over(_ lower: SettingLayer) -> SettingLayer {
        var merged = lower
        for setting in Setting.all { setting.merge(&merged, self) }
        return merged
    }

    /// Every combination of the values of `chosen` this layer runs with (a parameter it has no values
    /// for runs with 1), the first parameter changing slowest; pubsub's with more subscriptions than
    /// topics are left out (a subscriber takes each topic once).
    public func combinations(of chosen: [CaseParameter]) -> [[CaseParameter: Int]] {
        var out: [[CaseParameter: Int]] = [[:]]
        for p in chosen {
            out = out.flatMap { partial in (parameters[p] ?? [1]).map { v in partial.merging([p: v]) { $1 } } }
        }
        return out.filter { ($0[.subscriptions] ?? 1) <= ($0[.topics] ?? 1) }
    }

    /// Reads the option text of the setting named `key` (its config key), as the command line does:
    /// errors name the option.
    public mutating func read(_ key: String, option text: String) throws {
        guard let setting = Setting.named(key) else { throw InputError("unknown setting '\(excerpt(key))'") }
        try setting.read(&self, .option(text), setting.option)
    }
}

/// A setting's value as written: in a config (a TOML value) or on the command line (text).
package enum SettingText {
    case toml(TOMLValue)
    case option(String)
}

/// What a trial's workers are: processes (each its own address space, the default) or threads of
/// one forked process (one address space), so that the two side by side show what a process switch
/// costs over a thread switch.
public enum Workers: String, Sendable {
    case process
    case thread
}

/// A row of the table of settings.
package struct Setting {
    /// The config key; the option is `--key` with `-` for `_` unless `option` says otherwise.
    package let key: String
    package let option: String
    /// What a value looks like, for the error that refuses one.
    package let expected: String
    /// The largest value, for the TOML reader's refusal of a number too long to hold.
    package let bound: Bound?
    package let read: (inout SettingLayer, SettingText, String) throws -> Void
    package let merge: (inout SettingLayer, SettingLayer) -> Void

    package init(_ key: String, option: String? = nil, expected: String, bound: Bound? = nil,
         read: @escaping (inout SettingLayer, SettingText, String) throws -> Void,
         merge: @escaping (inout SettingLayer, SettingLayer) -> Void) {
        self.key = key
        self.option = option ?? "--" + key.replacing("_", with: "-")
        self.expected = expected
        self.bound = bound
        self.read = read
        self.merge = merge
    }

    /// A setting held in one optional field of the layer, read by `parse`.
    package static func field<T>(_ key: String, _ path: WritableKeyPath<SettingLayer, T?>, option: String? = nil, expected: String,
                         bound: Bound? = nil, _ parse: @escaping (SettingText, String, String) throws -> T) -> Setting {
        Setting(key, option: option, expected: expected, bound: bound,
                read: { layer, value, what in layer[keyPath: path] = try parse(value, what, expected) },
                merge: { merged, upper in if let v = upper[keyPath: path] { merged[keyPath: path] = v } })
    }

    package static func named(_ key: String) -> Setting? { all.first { $0.key == key } }

    /// The table: every setting a suite takes, in the order the README lists them.
    package static var all: [Setting] {
        [
            .field("transports", \.transports, option: "--transport", expected: "expected \"all\" or an array such as [\"pipe\", \"tcp\"]") { value, what, expected in
                let items = try list(value, what, expected, all: "all")
                guard let items else { return TransportKind.allCases }
                return try items.map { try parseTransport(try text($0, what, expected)) }
            },
            .field("sizes", \.sizes, option: "--size", expected: "expected an array such as [\"64\", \"4KiB\"]", bound: InputLimits.payload) { value, what, expected in
                try list(value, what, expected)!.map { try size($0, what, expected, bound: InputLimits.payload) }
            },
            .field("total", \.total, expected: "expected a size such as \"10MiB\", at least 1 byte", bound: InputLimits.total) { value, what, expected in
                try size(value, what, expected, bound: InputLimits.total)
            },
            .field("count", \.count, expected: "expected a whole number of round trips, at least 1", bound: InputLimits.count) { value, what, expected in
                try number(value, what, expected, from: 1, bound: InputLimits.count)
            },
            .field("repetitions", \.repetitions, expected: "expected a whole number of trials, at least 1", bound: InputLimits.repetitions) { value, what, expected in
                try number(value, what, expected, from: 1, bound: InputLimits.repetitions)
            },
            .field("warmup", \.warmup, expected: "expected a whole number of trials, 0 or more", bound: InputLimits.warmup) { value, what, expected in
                try number(value, what, expected, from: 0, bound: InputLimits.warmup)
            },
            .field("cpus", \.placements, expected: "expected \"auto\", \"split\", \"same\", \"none\", a CPU list \"A,B\" or an array of them") { value, what, expected in
                // On the command line a comma is a CPU list's, so the option takes one placement.
                if case .option(let t) = value { return [try CPUPlacement(parsing: t)] }
                if case .toml(.string(let t)) = value { return [try CPUPlacement(parsing: t)] }
                return try list(value, what, expected)!.map { try CPUPlacement(parsing: try text($0, what, expected)) }
            },
            .field("timeout", \.timeoutNs, expected: "expected a duration such as \"30s\"") { value, what, expected in
                try parseDuration(try text(value, what, expected), what: what, bound: InputLimits.timeout)
            },
            .field("min_trial_time", \.minTrialNs, expected: "expected a duration such as \"200ms\", or \"0s\" to turn calibration off") { value, what, expected in
                if case .toml(.integer(0)) = value { return 0 }
                return try parseDuration(try text(value, what, expected), what: what, allowZero: true, bound: InputLimits.minTrialTime)
            },
        ] + CaseParameter.allCases.map { p in
            Setting(p.rawValue, expected: p.expected, bound: p.bound,
                    read: { layer, value, what in
                        layer.parameters[p] = try list(value, what, p.expected)!.map { item in
                            if p.names == nil { return try number(item, what, p.expected, from: 1, bound: p.bound) }
                            let word = try text(item, what, p.expected)
                            guard let v = p.value(word.trimmingWhitespace()) else { throw InputError("\(what) '\(excerpt(word))': \(p.expected)") }
                            return v
                        }
                    },
                    merge: { merged, upper in if let v = upper.parameters[p] { merged.parameters[p] = v } })
        } + Knob.allCases.map { k in
            Setting(k.rawValue, expected: k.expected, bound: k.bound,
                    read: { layer, value, what in
                        layer.knobs[k] = k.isSize ? try size(value, what, k.expected, bound: k.bound)
                            : try number(value, what, k.expected, from: 0, bound: k.bound)
                    },
                    merge: { merged, upper in if let v = upper.knobs[k] { merged.knobs[k] = v } })
        } + [
            .field("workers", \.workers, expected: "expected \"process\" or \"thread\"") { value, what, expected in
                let word = try text(value, what, expected)
                guard let workers = Workers(rawValue: word.trimmingWhitespace()) else { throw InputError("\(what) '\(excerpt(word))': \(expected)") }
                return workers
            },
            .field("nodelay", \.noDelay, expected: "expected true or false") { value, what, expected in
                switch value {
                case .toml(.boolean(let on)): return on
                case .option("on"): return true
                case .option("off"): return false
                case .option(let t): throw InputError("\(what) '\(excerpt(t))': expected on or off")
                case .toml(let v): throw InputError("\(what) cannot be \(v.typeName) like that; \(expected)")
                }
            },
        ]
    }

    // The readers the rows share. A config's value is typed (its errors say "cannot be an array like
    // that"); an option's is text, a list split at commas.

    package static func text(_ value: SettingText, _ what: String, _ expected: String) throws -> String {
        switch value {
        case .option(let t), .toml(.string(let t)): return t
        case .toml(let v): throw InputError("\(what) cannot be \(v.typeName) like that; \(expected)")
        }
    }

    /// The items of a list (a single value is a list of one); nil for `all` where it is given.
    package static func list(_ value: SettingText, _ what: String, _ expected: String, all: String? = nil) throws -> [SettingText]? {
        let items: [SettingText]
        if let all, case .option(all) = value { return nil }
        if let all, case .toml(.string(all)) = value { return nil }
        switch value {
        case .option(let t): items = t.split(separator: ",", omittingEmptySubsequences: false).map { .option(String($0)) }
        case .toml(.array(let a)): items = a.map { .toml($0) }
        case .toml(.integer), .toml(.string): items = [value]
        case .toml(let v): throw InputError("\(what) cannot be \(v.typeName) like that; \(expected)")
        }
        guard !items.isEmpty else { throw InputError("\(what) must not be empty; \(expected)") }
        return items
    }

    package static func size(_ value: SettingText, _ what: String, _ expected: String, bound: Bound) throws -> Int {
        if case .toml(.integer(let n)) = value {
            guard n > 0 else { throw InputError("\(what) \(n) is out of range; \(expected)") }
            try bound.check(n, what)
            return n
        }
        return try parseSize(try text(value, what, expected), what: what, bound: bound)
    }

    package static func number(_ value: SettingText, _ what: String, _ expected: String, from low: Int, bound: Bound) throws -> Int {
        let n: Int
        switch value {
        case .toml(.integer(let v)): n = v
        case .option(let t):
            guard let v = Int(t.trimmingWhitespace()) else { throw InputError("\(what) '\(excerpt(t))' is not a whole number; \(expected)") }
            n = v
        case .toml(let v): throw InputError("\(what) cannot be \(v.typeName) like that; \(expected)")
        }
        guard n >= low else { throw InputError("\(what) \(n) is out of range; \(expected)") }
        try bound.check(n, what)
        return n
    }
}

extension CaseParameter {
    public var bound: Bound {
        switch self {
        case .depth: return InputLimits.depth
        case .receivers: return InputLimits.receivers
        case .pairs: return InputLimits.pairs
        case .publishers, .subscribers, .topics, .subscriptions: return InputLimits.pubsub
        case .topology: return Bound(max: 2, shown: "2", why: "the topologies")
        case .rate: return InputLimits.rate
        case .wait: return Bound(max: WaitMode.allCases.count, shown: String(WaitMode.allCases.count), why: "the wait modes")
        }
    }

    package var expected: String {
        switch self {
        case .depth: return "expected a whole number of outstanding requests or an array of them, each at least 1"
        case .receivers: return "expected a whole number of readers or an array of them, each at least 1"
        case .pairs: return "expected a whole number of pairs or an array of them, each at least 1"
        case .publishers: return "expected a whole number of publishers or an array of them, each at least 1"
        case .subscribers: return "expected a whole number of subscribers or an array of them, each at least 1"
        case .topics: return "expected a whole number of topics or an array of them, each at least 1"
        case .subscriptions: return "expected a whole number of topics each subscriber takes or an array of them, each at least 1 and at most topics"
        case .topology: return "expected \"direct\", \"broker\" or an array of them"
        case .rate: return "expected a whole number of messages a second or an array of them, each at least 1"
        case .wait: return "expected \"auto\", \"block\", \"poll\", \"epoll\", \"busy\", \"uring\" or an array of them"
        }
    }
}

/// A kernel setting a case may change beyond the transport's defaults, by the name users type (its
/// config key; the option is `--` and the key with `-` for `_`). Each transport lists the knobs it
/// applies (`Transport.knobs`); the others are refused for it before anything runs.
public enum Knob: String, CaseIterable, Sendable {
    /// F_SETPIPE_SZ on the pipes (pipe, fifo, vmsplice).
    case pipeSize = "pipe_size"
    /// SO_SNDBUF and SO_RCVBUF on the sockets.
    case sendBuffer = "sndbuf"
    case receiveBuffer = "rcvbuf"
    /// SO_BUSY_POLL on the tcp and udp sockets: how long a blocking receive polls the device queue
    /// before it sleeps, in µs (loopback has no device queue to poll: it shows the cost of asking).
    case busyPoll = "busy_poll"
    /// TCP_NOTSENT_LOWAT on the tcp sockets: how many unsent bytes the socket holds before a writer
    /// waits (and poll(2) stops saying writable), instead of the whole send buffer.
    case notSentLowat = "notsent_lowat"

    /// A size in bytes (`1MiB`), else a plain number.
    package var isSize: Bool { self != .busyPoll }

    public var bound: Bound {
        switch self {
        case .pipeSize, .sendBuffer, .receiveBuffer: return Bound(max: 1 << 30, shown: "1GiB", why: "the largest buffer ipcbench asks for")
        case .busyPoll: return Bound(max: 1_000_000, shown: "1000000", why: "the longest busy poll (1 s)")
        case .notSentLowat: return Bound(max: 1 << 30, shown: "1GiB", why: "the largest buffer ipcbench asks for")
        }
    }

    package var expected: String {
        switch self {
        case .pipeSize: return "expected a size such as \"1MiB\""
        case .sendBuffer, .receiveBuffer: return "expected a size such as \"256KiB\""
        case .busyPoll: return "expected a whole number of microseconds"
        case .notSentLowat: return "expected a size such as \"16KiB\""
        }
    }
}

/// Values for the knobs: what a case asks for (in `TransportOptions`), or what the kernel put in
/// force (in `Endpoint`, read back with F_GETPIPE_SZ or getsockopt). An absent knob keeps the default.
public struct TransportKnobs: Sendable, Equatable {
    public var values: [Knob: Int] = [:]

    public init(_ values: [Knob: Int] = [:]) { self.values = values }

    public subscript(knob: Knob) -> Int? {
        get { values[knob] }
        set { values[knob] = newValue }
    }

    /// The knobs that have a value, in `Knob` order.
    package var present: [Knob] { Knob.allCases.filter { values[$0] != nil } }

    /// The knobs that have a value, with it: `pipe_size=1048576 sndbuf=262144`.
    public var label: String { present.map { "\($0.rawValue)=\(values[$0]!)" }.joined(separator: " ") }
}

/// The options that shape a suite, shared by `run` and `kernels` (which passes them to `run` in
/// each guest): one per setting of the table, plus the patterns and the run-wide ones.
public struct RunOptions: ParsableArguments {
    public init() {}

    @Option(name: [.short, .long], help: ArgumentHelp("Transports, comma-separated: \(TransportKind.allCases.map(\.rawValue).joined(separator: ",")), or all.", valueName: "list"))
    public var transport: String?

    @Option(name: [.short, .long], help: ArgumentHelp("Patterns, comma-separated: \(PatternKind.allCases.map(\.rawValue).joined(separator: ",")), or all. A pattern the config has no suite for runs with its [defaults].", valueName: "list"))
    public var pattern: String?

    @Option(parsing: .unconditional, help: "async-request: requests kept outstanding, comma-separated (default 1,4,16,64).")
    package var depth: String?

    @Option(parsing: .unconditional, help: "fanout: readers, comma-separated (default 1,2,4).")
    package var receivers: String?

    @Option(parsing: .unconditional, help: "pairs: sender/receiver pairs, comma-separated (default 1,2,4,8).")
    package var pairs: String?

    @Option(parsing: .unconditional, help: "pubsub: publishers, comma-separated (default 1).")
    package var publishers: String?

    @Option(parsing: .unconditional, help: "pubsub: subscribers, comma-separated (default 1,2,4).")
    package var subscribers: String?

    @Option(parsing: .unconditional, help: "pubsub: topics the publishers publish on in turn, comma-separated (default 4).")
    package var topics: String?

    @Option(parsing: .unconditional, help: "pubsub: topics each subscriber takes, comma-separated, at most topics (default 1).")
    package var subscriptions: String?

    @Option(help: "pubsub: direct (each publisher writes to every subscriber of a topic), broker (through one broker worker), or both comma-separated (default direct,broker).")
    package var topology: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("Messages a second each sender offers, comma-separated for a sweep (throughput, latency, sync-message, async-request, fanout, pairs, pubsub); latency is then timed from each message's intended send. Default: as fast as the path goes.", valueName: "list"))
    package var rate: String?

    @Option(help: ArgumentHelp("How workers wait for data to read, comma-separated for a case each: block (a blocking read), poll (poll(2), then the read), epoll (epoll_wait(2), then the read), busy (non-blocking reads in a loop), uring (each read through an io_uring ring), or auto (the pattern's own way, the default).", valueName: "list"))
    package var wait: String?

    @Option(name: .customLong("pipe-size"), parsing: .unconditional, help: ArgumentHelp("pipe, fifo, vmsplice: the pipe's capacity (F_SETPIPE_SZ), for example 1MiB.", valueName: "size"))
    package var pipeSize: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("Sockets: SO_SNDBUF, for example 256KiB (the kernel doubles it and caps it at net.core.wmem_max).", valueName: "size"))
    package var sndbuf: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("Sockets: SO_RCVBUF, for example 256KiB (the kernel doubles it and caps it at net.core.rmem_max).", valueName: "size"))
    package var rcvbuf: String?

    @Option(name: .customLong("busy-poll"), parsing: .unconditional, help: ArgumentHelp("tcp, udp (and IPv6): SO_BUSY_POLL in microseconds.", valueName: "us"))
    package var busyPoll: String?

    @Option(name: .customLong("notsent-lowat"), parsing: .unconditional, help: ArgumentHelp("tcp, tcp6: TCP_NOTSENT_LOWAT, the unsent bytes a socket holds before a writer waits, for example 16KiB.", valueName: "size"))
    package var notSentLowat: String?

    @Option(help: "process (each worker a process, the default) or thread (the workers are threads of one process).")
    package var workers: String?

    @Option(help: "tcp, tcp6: TCP_NODELAY on or off (default: on for the patterns that wait for answers).")
    package var nodelay: String?

    @Option(name: [.short, .long], parsing: .unconditional, help: ArgumentHelp("Payload sizes, comma-separated: 64,1K,64KiB,1MiB (K/KiB = 1024; kB = 1000).", valueName: "sizes"))
    package var size: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("Throughput: bytes the sender moves per trial before calibration (default 10MiB).", valueName: "size"))
    package var total: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("Latency: round trips per trial before calibration (default 20000).", valueName: "n"))
    package var count: String?

    @Option(name: [.short, .long], parsing: .unconditional, help: ArgumentHelp("Measured trials per case (default 5).", valueName: "n"))
    package var repetitions: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("Trials run and discarded before the measured ones; the last one calibrates (default 1).", valueName: "n"))
    package var warmup: String?

    @Option(help: "Worker placement: split (round-robin on the last CPUs), same (one CPU), none, a CPU list A,B[,C...] (one per worker, used in turn), or auto (split if there are two CPUs, else same).")
    package var cpus: String?

    @Option(name: .customLong("min-trial-time"), parsing: .unconditional, help: ArgumentHelp("Calibrate trials to last at least this long, 0s to turn off (default 200ms).", valueName: "duration"))
    package var minTrialTime: String?

    @Option(help: "interleaved (calibrate every case, then rounds of one trial per case in a shuffled order) or sequential (each case's trials back to back). Default interleaved.")
    package var schedule: String?

    @Option(parsing: .unconditional, help: "Seed for the order of the interleaved rounds (default: random; always recorded in the seed column).")
    public var seed: UInt64?

    @Option(parsing: .unconditional, help: ArgumentHelp("Kill a trial that runs longer than this (default 30s).", valueName: "duration"))
    package var timeout: String?

    @Flag(help: "Check every byte that arrives (slower; for checking ipcbench, not for numbers).")
    package var verify = false

    /// Each setting's option text, by its config key.
    private var settingTexts: [(key: String, text: String?)] {
        [("transports", transport), ("sizes", size), ("total", total), ("count", count), ("repetitions", repetitions),
         ("warmup", warmup), ("cpus", cpus), ("timeout", timeout), ("min_trial_time", minTrialTime),
         ("depth", depth), ("receivers", receivers), ("pairs", pairs), ("publishers", publishers), ("subscribers", subscribers),
         ("topics", topics), ("subscriptions", subscriptions), ("topology", topology), ("rate", rate), ("wait", wait),
         ("pipe_size", pipeSize), ("sndbuf", sndbuf), ("rcvbuf", rcvbuf), ("busy_poll", busyPoll), ("notsent_lowat", notSentLowat), ("nodelay", nodelay), ("workers", workers)]
    }

    /// The command line's layer of settings; every value checked against its bound.
    public func layer() throws -> SettingLayer {
        var layer = SettingLayer()
        for (key, text) in settingTexts { if let text { try layer.read(key, option: text) } }
        return layer
    }

    public func patterns() throws -> [PatternKind]? {
        guard let pattern else { return nil }
        return pattern == "all" ? PatternKind.allCases : try pattern.split(separator: ",").map { try parsePattern(String($0)) }
    }

    /// The options as `ipcbench run` takes them, for the run inside each guest.
    public var arguments: [String] {
        var out: [String] = []
        if let pattern { out += ["--pattern", pattern] }
        for (key, text) in settingTexts { if let text, let setting = Setting.named(key) { out += [setting.option, text] } }
        if let schedule { out += ["--schedule", schedule] }
        if let seed { out += ["--seed", String(seed)] }
        if verify { out.append("--verify") }
        return out
    }
}
