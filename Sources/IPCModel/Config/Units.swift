import IPCPlatform


/// At most the first `limit` characters of something the user wrote, to be quoted in a message.
public func excerpt(_ text: String, limit: Int = 40) -> String {
    text.count <= limit ? text : text.prefix(limit) + "..."
}

/// The largest value a setting takes, how users write it, and why: the message that refuses a
/// larger value names all three.
public struct Bound: Sendable {
    public let max: Int
    public let shown: String
    public let why: String

    public init(max: Int, shown: String, why: String) {
        self.max = max
        self.shown = shown
        self.why = why
    }

    /// `what` (an option, or a config key after its file and line) and the value as written.
    package func refuse(_ what: String, _ value: String) -> InputError {
        InputError("\(what) \(excerpt(value)) is more than \(shown), \(why); use \(shown) or less")
    }

    /// Throws unless `value` is at most the bound.
    public func check(_ value: Int, _ what: String) throws {
        if value > max { throw refuse(what, "\(value)") }
    }
}

/// The largest numbers ipcbench takes from a config or the command line (the README lists them).
/// Checked before any arithmetic; together they keep every product the runner forms within Int.
public enum InputLimits {
    /// Payload bytes; what a whole trial's buffers add up to is bounded by `trialMemory`.
    public static let payload = Bound(max: 1 << 30, shown: "1GiB", why: "the largest payload ipcbench takes")
    public static let total = Bound(max: 1 << 40, shown: "1024GiB", why: "the most a throughput trial moves before calibration")
    public static let count = Bound(max: 1_000_000_000, shown: "1000000000", why: "the most round trips per latency trial before calibration")
    public static let repetitions = Bound(max: 1000, shown: "1000", why: "the most measured trials per case")
    public static let warmup = Bound(max: 100, shown: "100", why: "the most warmup trials per case")
    public static let timeout = Bound(max: 24 * 3_600_000_000_000, shown: "24h", why: "the longest a trial may run")
    public static let minTrialTime = Bound(max: 3_600_000_000_000, shown: "1h", why: "the longest calibration aims for")
    public static let depth = Bound(max: 1024, shown: "1024", why: "the most requests async-request keeps outstanding")
    public static let receivers = Bound(max: 64, shown: "64", why: "the most readers of a fanout (each is a process)")
    public static let pairs = Bound(max: 64, shown: "64", why: "the most sender/receiver pairs (each a process)")
    public static let pubsub = Bound(max: 64, shown: "64", why: "the most publishers, subscribers or topics of a pubsub case (each worker a process)")
    public static let rate = Bound(max: 100_000_000, shown: "100000000", why: "the highest offered rate (one message every 10 ns)")
    /// payload × messages of one trial before calibration (one way).
    public static let bytesPerTrial = Bound(max: 1 << 40, shown: "1024GiB", why: "the most one trial moves before calibration")
}

extension InputLimits {
    /// The most memory one trial may ask for: half of the smaller of MemTotal and MemAvailable in
    /// /proc/meminfo; nil when it says neither.
    public static func trialMemory() -> Bound? { trialMemory(meminfo: readWholeFile("/proc/meminfo")) }

    package static func trialMemory(meminfo: String?) -> Bound? {
        func kibibytes(_ name: String) -> Int? {
            let line = meminfo?.split(separator: "\n").first { $0.hasPrefix(name + ":") }
            return line.flatMap { Int($0.dropFirst(name.count + 1).split(separator: " ").first ?? "") }
        }
        guard let memory = [kibibytes("MemTotal"), kibibytes("MemAvailable")].compactMap({ $0 }).min() else { return nil }
        let half = memory / 2 * 1024
        return Bound(max: half, shown: memoryLabel(half), why: "half of the smaller of MemTotal and MemAvailable in /proc/meminfo")
    }
}

extension InputLimits {
    /// The most descriptors one trial may hold: RLIMIT_NOFILE's hard limit (the runner raises its soft
    /// limit to it, `raiseDescriptorLimit`); nil when it cannot be read or is unlimited.
    public static func descriptors() -> Bound? {
        guard let hard = descriptorLimit()?.hard, hard < UInt64(Int.max) else { return nil }
        return Bound(max: Int(hard), shown: String(hard), why: "the descriptors a process may open (RLIMIT_NOFILE's hard limit; ulimit -Hn)")
    }
}

/// A byte count for a person: `65.0 GiB`, `512.0 MiB`.
public func memoryLabel(_ bytes: Int) -> String {
    bytes >= 1 << 30 ? formatDecimal(Double(bytes) / Double(1 << 30), places: 1) + " GiB"
        : formatDecimal(Double(bytes) / Double(1 << 20), places: 1) + " MiB"
}

/// Parses a byte count: `64`, `4K`/`4KiB` (1024), `4kB` (1000), likewise M/MiB/MB and G/GiB/GB.
/// A count above `bound` (or too large for Int) is refused with the bound's message.
public func parseSize(_ text: String, what: String = "size", bound: Bound? = nil) throws -> Int {
    let trimmed = text.trimmingWhitespace()
    let digits = trimmed.prefix { $0.isASCII && $0.isNumber }
    let unit = trimmed.dropFirst(digits.count)
    let multipliers: [String: Int] = [
        "": 1, "B": 1,
        "K": 1 << 10, "KiB": 1 << 10, "k": 1 << 10, "kiB": 1 << 10, "kB": 1000, "KB": 1000,
        "M": 1 << 20, "MiB": 1 << 20, "MB": 1_000_000,
        "G": 1 << 30, "GiB": 1 << 30, "GB": 1_000_000_000,
    ]
    guard !digits.isEmpty, let m = multipliers[String(unit)] else {
        throw InputError("\(what) '\(excerpt(text))' is not a size: use a whole number of bytes with an optional unit, for example 64, 4KiB, 1MiB (K/KiB = 1024, kB = 1000)")
    }
    let tooLarge = bound.map { $0.refuse(what, "'\(excerpt(text))'") } ?? InputError("\(what) '\(excerpt(text))' is too large")
    guard let n = Int(digits) else { throw tooLarge }
    let (bytes, overflow) = n.multipliedReportingOverflow(by: m)
    guard !overflow, bytes <= bound?.max ?? Int.max else { throw tooLarge }
    guard bytes > 0 else { throw InputError("\(what) '\(excerpt(text))' must be at least 1 byte") }
    return bytes
}

/// Parses a duration into nanoseconds: `30s`, `500ms`, `250us`, `2m`, `1h`, `1.5s`; a bare number is
/// seconds. A duration above `bound` is refused with the bound's message.
public func parseDuration(_ text: String, what: String = "duration", allowZero: Bool = false,
                          bound: Bound = InputLimits.timeout) throws -> UInt64 {
    let trimmed = text.trimmingWhitespace()
    let number = trimmed.prefix { ($0.isASCII && $0.isNumber) || $0 == "." }
    let unit = String(trimmed.dropFirst(number.count))
    let scale: [String: Double] = ["": 1e9, "s": 1e9, "ms": 1e6, "us": 1e3, "ns": 1, "m": 60e9, "min": 60e9, "h": 3600e9]
    guard !number.isEmpty, let value = Double(number), let s = scale[unit] else {
        throw InputError("\(what) '\(excerpt(text))' is not a duration: use a number with a unit, for example 30s, 500ms or 2m")
    }
    let ns = value * s
    if allowZero && ns == 0 { return 0 }
    guard ns >= 1 else { throw InputError("\(what) '\(excerpt(text))' must be at least 1ns") }
    // Compared as Doubles first: the value may be infinite or beyond UInt64.
    guard ns <= Double(bound.max) else { throw bound.refuse(what, "'\(excerpt(text))'") }
    return UInt64(ns)
}

/// Formats a byte count the way users write it: 65536 → 64KiB, 1000 → 1000.
public func formatSize(_ bytes: Int) -> String {
    for (unit, shift) in [("GiB", 30), ("MiB", 20), ("KiB", 10)] where bytes >= 1 << shift && bytes % (1 << shift) == 0 {
        return "\(bytes >> shift)\(unit)"
    }
    return "\(bytes)"
}
