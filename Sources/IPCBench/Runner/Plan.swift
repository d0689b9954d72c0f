/// Command-line options that override a config; nil leaves the config's value.
public struct RunOverrides: Sendable {
    public var transports: [TransportKind]?
    public var patterns: [PatternKind]?
    public var sizes: [Int]?
    public var totalBytes: Int?
    public var roundTrips: Int?
    public var repetitions: Int?
    public var warmup: Int?
    public var placement: CPUPlacement?
    public var timeoutNs: UInt64?
    public var minTrialNs: UInt64?
    public var verify = false

    public init() {}
}

/// One row of results: a transport, a pattern, a payload size and a CPU placement.
public struct BenchCase: Equatable, Sendable {
    public var suite: String
    public var transport: TransportKind
    public var pattern: PatternKind
    public var payloadBytes: Int
    /// Messages (throughput) or round trips (latency) per trial, before calibration.
    public var messages: Int
    public var repetitions: Int
    public var warmup: Int
    public var placement: CPUPlacement
    public var timeoutNs: UInt64
    public var minTrialNs: UInt64
    public var verify: Bool
    /// The pattern's parameter (see `CaseParameter`); 1 where the pattern takes none.
    public var depth = 1
    public var receivers = 1
    public var pairs = 1

    public var shape: CaseShape { CaseShape(payloadBytes: payloadBytes, depth: depth, receivers: receivers, pairs: pairs) }

    /// The value of the pattern's parameter, or nil when it takes none.
    public var parameterValue: Int? {
        switch pattern.parameter {
        case .depth: return depth
        case .receivers: return receivers
        case .pairs: return pairs
        case nil: return nil
        }
    }

    public var transportOptions: TransportOptions {
        TransportOptions(noDelay: transport == .tcp && pattern == .latency)
    }

    /// The options column: what this case set beyond the transport's defaults.
    public var optionsLabel: String { transportOptions.noDelay ? "nodelay" : "" }

    public var name: String {
        let parameter = pattern.parameter.map { " \($0.rawValue) \(parameterValue ?? 1)" } ?? ""
        return "\(transport.rawValue) \(pattern.rawValue) \(formatSize(payloadBytes))\(parameter) \(placement)"
    }

    /// Everything but the suite's name is equal.
    func isSameMeasurement(as other: BenchCase) -> Bool {
        var renamed = other
        renamed.suite = suite
        return renamed == self
    }

    /// Why this kernel cannot run the case, or nil when it can.
    public func skipReason(limits: Limits = .shared) -> String? {
        if let max = transport.maxPayloadBytes(), payloadBytes > max {
            return "payload of \(payloadBytes) bytes exceeds this kernel's \(transport.rawValue) datagram limit of \(max) bytes"
        }
        return pattern.implementation.skipReason(transport, shape)
    }
}

extension BenchConfig {
    /// The cases to run, in order: suites as written, then transports, sizes and placements.
    /// Throws `InputError` for anything that would make the run fail before it starts.
    public func plan(_ overrides: RunOverrides, allowed cpus: [Int] = allowedCPUs()) throws -> [BenchCase] {
        var chosen = suites
        if let patterns = overrides.patterns {
            chosen = chosen.filter { patterns.contains($0.pattern) }
            for pattern in patterns where !suites.contains(where: { $0.pattern == pattern }) {
                throw InputError("--pattern \(pattern.rawValue): the config has no suite with that pattern")
            }
        }
        var cases: [BenchCase] = []
        for suite in chosen {
            let placements = (overrides.placement.map { [$0] } ?? suite.placements).map { $0.resolved(allowed: cpus) }
            for placement in placements { _ = try placement.cpus(workers: 2, allowed: cpus) }
            for transport in overrides.transports ?? suite.transports {
                for size in overrides.sizes ?? suite.sizes {
                    let messages: Int
                    switch suite.pattern {
                    case .throughput: messages = max(1, (overrides.totalBytes ?? suite.totalBytes) / size)
                    case .latency, .syncMessage, .asyncRequest: messages = overrides.roundTrips ?? suite.roundTrips
                    }
                    for placement in placements {
                        let next = BenchCase(
                            suite: suite.name, transport: transport, pattern: suite.pattern, payloadBytes: size,
                            messages: messages, repetitions: overrides.repetitions ?? suite.repetitions,
                            warmup: overrides.warmup ?? suite.warmup, placement: placement,
                            timeoutNs: overrides.timeoutNs ?? suite.timeoutNs,
                            minTrialNs: overrides.minTrialNs ?? suite.minTrialNs, verify: overrides.verify)
                        // Overrides can make two suites ask for the same case: run it once.
                        if !cases.contains(where: { $0.isSameMeasurement(as: next) }) { cases.append(next) }
                    }
                }
            }
        }
        if cases.isEmpty { throw InputError("nothing to run: the config and options select no case") }
        return cases
    }
}
