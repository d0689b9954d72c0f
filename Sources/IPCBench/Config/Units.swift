/// A value the user wrote that ipcbench cannot use; the message names it and says what is accepted.
public struct InputError: Error, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Parses a byte count: `64`, `4K`/`4KiB` (1024), `4kB` (1000), likewise M/MiB/MB and G/GiB/GB.
public func parseSize(_ text: String, what: String = "size") throws -> Int {
    let trimmed = text.trimmingWhitespace()
    let digits = trimmed.prefix { $0.isASCII && $0.isNumber }
    let unit = trimmed.dropFirst(digits.count)
    let multipliers: [String: Int] = [
        "": 1, "B": 1,
        "K": 1 << 10, "KiB": 1 << 10, "k": 1 << 10, "kiB": 1 << 10, "kB": 1000, "KB": 1000,
        "M": 1 << 20, "MiB": 1 << 20, "MB": 1_000_000,
        "G": 1 << 30, "GiB": 1 << 30, "GB": 1_000_000_000,
    ]
    guard !digits.isEmpty, let n = Int(digits), let m = multipliers[String(unit)] else {
        throw InputError("\(what) '\(text)' is not a size: use a whole number of bytes with an optional unit, for example 64, 4KiB, 1MiB (K/KiB = 1024, kB = 1000)")
    }
    let (bytes, overflow) = n.multipliedReportingOverflow(by: m)
    guard !overflow else { throw InputError("\(what) '\(text)' is too large") }
    guard bytes > 0 else { throw InputError("\(what) '\(text)' must be at least 1 byte") }
    return bytes
}

/// Parses a duration into nanoseconds: `30s`, `500ms`, `250us`, `2m`, `1.5s`; a bare number is seconds.
public func parseDuration(_ text: String, what: String = "duration", allowZero: Bool = false) throws -> UInt64 {
    let trimmed = text.trimmingWhitespace()
    let number = trimmed.prefix { ($0.isASCII && $0.isNumber) || $0 == "." }
    let unit = String(trimmed.dropFirst(number.count))
    let scale: [String: Double] = ["": 1e9, "s": 1e9, "ms": 1e6, "us": 1e3, "ns": 1, "m": 60e9, "min": 60e9]
    guard !number.isEmpty, let value = Double(number), let s = scale[unit] else {
        throw InputError("\(what) '\(text)' is not a duration: use a number with a unit, for example 30s, 500ms or 2m")
    }
    let ns = value * s
    if allowZero && ns == 0 { return 0 }
    guard ns >= 1, ns < 1e15 else { throw InputError("\(what) '\(text)' must be between 1ns and 11 days") }
    return UInt64(ns)
}

/// Formats a byte count the way users write it: 65536 → 64KiB, 1000 → 1000.
public func formatSize(_ bytes: Int) -> String {
    for (unit, shift) in [("GiB", 30), ("MiB", 20), ("KiB", 10)] where bytes >= 1 << shift && bytes % (1 << shift) == 0 {
        return "\(bytes >> shift)\(unit)"
    }
    return "\(bytes)"
}
