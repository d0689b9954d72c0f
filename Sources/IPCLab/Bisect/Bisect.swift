import IPCPlatform
import IPCModel
import IPCRun
import IPCAnalysis

/// `ipcbench bisect` over an ordered list of kernels: the list, the decision on one step, and the
/// search. What a step measures comes from a `BisectDriver` (the real one runs a kernel comparison
/// of the step's kernel against the good one; the tests' returns known results).

/// One line of a bisect list: a kernel (an image's path or a release in /boot) and the kernel
/// arguments it boots with.
public struct BisectKernel: Equatable, Sendable {
    public let kernel: String
    public let append: String

    public init(kernel: String, append: String) {
        self.kernel = kernel
        self.append = append
    }
}

/// The most kernels a list may hold.
public let bisectListLimit = 1000

/// The kernels of the `--list` file at `path` (a regular file of at most 1 MiB).
public func readBisectList(_ path: String) throws -> [BisectKernel] {
    guard let text = try readRegularFile(path, limit: 1 << 20, what: "a bisect list") else {
        throw InputError("--list \(path): no such file; give a file with a kernel a line, the good one first and the bad one last")
    }
    return try parseBisectList(text, path: path)
}

/// The kernels of a `--list` file, in its order: the first is good, the last is bad. A line is a
/// kernel, then its arguments; empty lines and lines starting with `#` are left out.
public func parseBisectList(_ text: String, path: String) throws -> [BisectKernel] {
    var kernels: [BisectKernel] = []
    for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
        let line = String(raw).replacing("\t", with: " ").trimmingSpaces()
        if line.isEmpty || line.hasPrefix("#") { continue }
        if hasControlCharacter(line) {
            throw InputError("\(path): line \(number + 1) has a control character; a line is a kernel image or release, then its kernel arguments")
        }
        let kernel = String(line.prefix { $0 != " " })
        kernels.append(BisectKernel(kernel: kernel, append: String(line.dropFirst(kernel.count)).trimmingSpaces()))
        guard kernels.count <= bisectListLimit else { throw InputError("\(path): more than \(bisectListLimit) kernels") }
    }
    guard kernels.count >= 2 else {
        throw InputError("\(path): \(kernels.count) kernel\(kernels.count == 1 ? "" : "s"); a bisect list needs a good kernel first and a bad one last, one a line")
    }
    return kernels
}

/// What a step's comparison against the good kernel said of the bisected case and metric: the
/// change in % (step over good), its 95% interval, compare's q, and which way is worse.
public struct BisectMeasurement: Equatable, Sendable {
    public var percent: Double
    public var low: Double?
    public var high: Double?
    public var q: Double?
    public var higherIsBetter: Bool

    public init(percent: Double, low: Double?, high: Double?, q: Double?, higherIsBetter: Bool = true) {
        self.percent = percent
        self.low = low
        self.high = high
        self.q = q
        self.higherIsBetter = higherIsBetter
    }
}

public enum BisectDecision: String, Sendable {
    case good, bad, undecided
    /// The kernel did not boot (or its comparison failed): left out, as `git bisect skip`.
    case skipped
}

/// A step is bad when its change exceeds the threshold in the bad direction with q < 0.05, good
/// when its whole interval lies within the threshold either way, undecided otherwise.
public func bisectDecision(_ m: BisectMeasurement, thresholdPct: Double, higherIsBetter: Bool) -> BisectDecision {
    let worse = higherIsBetter ? -m.percent : m.percent
    if worse > thresholdPct, let q = m.q, q < significanceLevel { return .bad }
    if let low = m.low, let high = m.high, low >= -thresholdPct, high <= thresholdPct { return .good }
    return .undecided
}

/// One step as the table shows it: the kernel's place in the list, the boots a side, what the
/// comparison said (nil where the kernel did not boot) and the decision.
public struct BisectStep: Equatable, Sendable {
    public var index: Int
    public var boots: Int
    public var measurement: BisectMeasurement?
    public var decision: BisectDecision
}

/// Measures a step: kernel `index` of the list against the first, with `boots` boots a side; nil
/// when the kernel does not boot.
public protocol BisectDriver {
    mutating func measure(_ index: Int, boots: Int) throws -> BisectMeasurement?
}

public struct BisectOutcome: Equatable, Sendable {
    public var steps: [BisectStep]
    /// The good kernel the search ended next to, and the first bad one.
    public var lastGood: Int
    public var firstBad: Int
    /// The kernels between them that were skipped or left undecided: where there are any, the first
    /// bad kernel is one of them or `firstBad`.
    public var unsure: [Int]
}

/// Bisects a list of `count` kernels whose first is good and last is bad: each step is the kernel
/// nearest the middle of what is left that has not been skipped; while it is undecided, boots are
/// added (`boots` more each time) up to `maxBoots`; a kernel still undecided then, or one that does
/// not boot, is skipped.
public func runBisect<D: BisectDriver>(count: Int, driver: inout D, thresholdPct: Double,
                                       boots: Int, maxBoots: Int, onStep: (BisectStep) -> Void = { _ in }) throws -> BisectOutcome {
    var good = 0, bad = count - 1
    var left: Set<Int> = []
    var steps: [BisectStep] = []
    while true {
        let open = (good + 1..<bad).filter { !left.contains($0) }
        let middle = Double(good + bad) / 2
        guard let index = open.min(by: { (abs(Double($0) - middle), $0) < (abs(Double($1) - middle), $1) }) else { break }
        var n = boots
        var decision = BisectDecision.undecided
        while true {
            let measured = try driver.measure(index, boots: n)
            decision = measured.map { bisectDecision($0, thresholdPct: thresholdPct, higherIsBetter: $0.higherIsBetter) } ?? .skipped
            let step = BisectStep(index: index, boots: n, measurement: measured, decision: decision)
            steps.append(step)
            onStep(step)
            if decision != .undecided || n >= maxBoots { break }
            n = min(maxBoots, n + boots)
        }
        switch decision {
        case .good: good = index
        case .bad: bad = index
        case .undecided, .skipped: left.insert(index)
        }
    }
    return BisectOutcome(steps: steps, lastGood: good, firstBad: bad, unsure: (good + 1..<bad).filter(left.contains))
}
