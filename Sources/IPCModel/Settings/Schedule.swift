import IPCPlatform

/// The order in which a run's trials happen.
public enum Schedule: String, CaseIterable, Sendable {
    /// Every case is calibrated first; then each round runs one measured trial of every case, in an
    /// order shuffled per round, so that a case's trials sample the whole run rather than one moment.
    case interleaved
    /// Each case runs all its trials back to back, then the next case.
    case sequential

    /// Checks a seed from the command line or a config.
    public static func checkSeed(_ seed: UInt64, what: String) throws {
        guard seed <= largestSeed else {
            throw InputError("\(what) \(seed) is too large: seeds go from 0 to \(largestSeed) (2^53 - 1), so that spreadsheets keep them exact")
        }
    }

    public init(parsing text: String, what: String) throws {
        guard let schedule = Schedule(rawValue: text.trimmingWhitespace()) else {
            throw InputError("\(what) '\(excerpt(text))': expected \(Schedule.allCases.map(\.rawValue).joined(separator: " or "))")
        }
        self = schedule
    }
}

/// SplitMix64 (Steele, Lea and Flood 2014): a small, fast generator whose sequence for a seed is
/// fixed here, so a recorded seed replays a run's order on any Swift version.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1), 53 random bits.
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// A uniform integer in 0..<bound, without modulo bias (Lemire's method).
    public mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0)
        let range = UInt64(bound)
        var product = next().multipliedFullWidth(by: range)
        if product.low < range {
            let threshold = (0 &- range) % range
            while product.low < threshold { product = next().multipliedFullWidth(by: range) }
        }
        return Int(product.high)
    }

    /// Fisher-Yates, written out so that the order depends only on the seed.
    public mutating func shuffle<T>(_ items: inout [T]) {
        guard items.count > 1 else { return }
        for i in stride(from: items.count - 1, to: 0, by: -1) {
            items.swapAt(i, below(i + 1))
        }
    }
}

/// Seeds stay below 2^53 so that a spreadsheet, which holds numbers as doubles, keeps them exact.
public let largestSeed: UInt64 = (1 << 53) - 1

/// A seed from the kernel's random source (getrandom), for runs that do not ask for one.
public func randomSeed() -> UInt64 {
    var seed: UInt64 = 0
    let made = (try? withUnsafeMutableBytes(of: &seed) { try fillWithRandomBytes($0) }) != nil
    return (made ? seed : monotonicNanoseconds()) & largestSeed
}
