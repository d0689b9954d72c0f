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
    /// Values for the pattern parameters (depth, receivers, pairs); only suites whose pattern takes one use it.
    public var parameterValues: [CaseParameter: [Int]] = [:]
    /// Knobs from the command line; each replaces the config's value.
    public var knobs = TransportKnobs()
    public var noDelay: Bool?

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
    /// Kernel settings the case asks for (pipe_size, sndbuf, rcvbuf, busy_poll).
    public var knobs = TransportKnobs()
    /// TCP_NODELAY as the config or command line set it; nil: on for the patterns that wait for answers.
    public var noDelay: Bool?

    public var shape: CaseShape { CaseShape(payloadBytes: payloadBytes, depth: depth, receivers: receivers, pairs: pairs) }

    /// The value of the pattern's parameter, or nil when it takes none. Setting it sets that one.
    public var parameterValue: Int? {
        get {
            switch pattern.parameter {
            case .depth: return depth
            case .receivers: return receivers
            case .pairs: return pairs
            case nil: return nil
            }
        }
        set {
            switch pattern.parameter {
            case .depth: depth = newValue ?? 1
            case .receivers: receivers = newValue ?? 1
            case .pairs: pairs = newValue ?? 1
            case nil: break
            }
        }
    }

    public var transportOptions: TransportOptions {
        // Patterns counted in round trips wait for an answer to every message: Nagle would hold it back.
        TransportOptions(noDelay: (transport == .tcp || transport == .tcp6) && (noDelay ?? (pattern.sizing == .count)),
                         payloadBytes: payloadBytes, verify: verify, knobs: knobs)
    }

    /// The options column: what this case set beyond the transport's defaults, with the knobs' values
    /// as the kernel put them in force (`knobsInForce`, read back by a worker) once a trial has run.
    public func optionsLabel(knobsInForce: String? = nil) -> String {
        [transportOptions.noDelay ? "nodelay" : "", knobsInForce ?? knobs.label].filter { !$0.isEmpty }.joined(separator: " ")
    }

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

    /// The memory one trial needs: every worker's payload buffers, and the kernel buffers that
    /// pipe_size, sndbuf and rcvbuf ask for on each link.
    public var trialMemoryBytes: Int {
        let topology = pattern.implementation.topology(shape)
        let buffers = topology.roles.indices.reduce(0) { $0 + pattern.implementation.payloadBuffers(worker: $1, shape) }
        let perLink = (knobs.pipeSize ?? 0) + (knobs.sendBuffer ?? 0) + (knobs.receiveBuffer ?? 0)
        return buffers * (payloadBytes + patternPeriod) + topology.links.count * perLink
    }

    /// Why this kernel cannot run the case, or nil when it can.
    public func skipReason(limits: Limits = .shared) -> String? {
        if let reason = transport.skipReason(pattern, payloadBytes: payloadBytes, depth: depth, limits: limits) { return reason }
        return pattern.implementation.skipReason(transport, shape)
    }
}

extension BenchConfig {
    /// The cases to run, in order: suites as written, then transports, sizes and placements.
    /// Throws `InputError` for anything that would make the run fail before it starts.
    /// `memory` bounds what one trial may allocate (nil: no bound).
    public func plan(_ overrides: RunOverrides, allowed cpus: [Int] = allowedCPUs(),
                     memory: Bound? = InputLimits.trialMemory()) throws -> [BenchCase] {
        var chosen = suites
        if let patterns = overrides.patterns {
            chosen = chosen.filter { patterns.contains($0.pattern) }
            // A pattern no suite has runs with the config's [defaults].
            for pattern in patterns where !suites.contains(where: { $0.pattern == pattern }) {
                chosen.append(defaults.suite(name: pattern.rawValue, pattern: pattern))
            }
        }
        var cases: [BenchCase] = []
        for suite in chosen {
            let placements = (overrides.placement.map { [$0] } ?? suite.placements).map { $0.resolved(allowed: cpus) }
            for placement in placements { _ = try placement.cpus(workers: 2, allowed: cpus) }
            for transport in overrides.transports ?? suite.transports {
                for size in overrides.sizes ?? suite.sizes {
                    let messages: Int
                    switch suite.pattern.sizing {
                    case .totalBytes: messages = max(1, (overrides.totalBytes ?? suite.totalBytes) / size)
                    case .count: messages = overrides.roundTrips ?? suite.roundTrips
                    }
                    // Parsing bounded size (2^30), total (2^40) and count (< 2^30), so the product
                    // fits. Refusing trials over 2^40 bytes keeps the calibrated trial (× 10,000 <
                    // 2^14, so under 2^54 bytes and messages) and its sum over at most 1000
                    // repetitions (< 2^64 messages) within Int and UInt64.
                    let bound = InputLimits.bytesPerTrial
                    let (bytes, overflow) = size.multipliedReportingOverflow(by: messages)
                    if overflow || bytes > bound.max {
                        let what = suite.pattern.sizing == .count ? "round trips" : "messages"
                        throw InputError("suite '\(suite.name)': \(messages) \(what) of \(formatSize(size)) are more than \(bound.shown), \(bound.why); lower count or the size")
                    }
                    let values = suite.pattern.parameter.flatMap { overrides.parameterValues[$0] } ?? suite.patternParameterValues
                    for value in values {
                        for placement in placements {
                            var next = BenchCase(
                                suite: suite.name, transport: transport, pattern: suite.pattern, payloadBytes: size,
                                messages: messages, repetitions: overrides.repetitions ?? suite.repetitions,
                                warmup: overrides.warmup ?? suite.warmup, placement: placement,
                                timeoutNs: overrides.timeoutNs ?? suite.timeoutNs,
                                minTrialNs: overrides.minTrialNs ?? suite.minTrialNs, verify: overrides.verify)
                            next.parameterValue = value
                            next.knobs = suite.knobs.overridden(by: overrides.knobs)
                            next.noDelay = overrides.noDelay ?? suite.noDelay
                            try checkKnobs(next)
                            if let memory, next.trialMemoryBytes > memory.max {
                                let workers = next.pattern.implementation.topology(next.shape).roles.count
                                throw InputError("suite '\(suite.name)': a trial of \(next.name) needs \(memoryLabel(next.trialMemoryBytes)) (the buffers of its \(workers) workers, plus pipe_size, sndbuf and rcvbuf on each link), more than \(memory.shown), \(memory.why); lower the size, the workers or the knobs")
                            }
                            // Overrides can make two suites ask for the same case: run it once.
                            if !cases.contains(where: { $0.isSameMeasurement(as: next) }) { cases.append(next) }
                        }
                    }
                }
            }
        }
        if cases.isEmpty { throw InputError("nothing to run: the config and options select no case") }
        return cases
    }
}

/// A knob or nodelay set for a transport that does not take it is an error naming both, before anything runs.
func checkKnobs(_ c: BenchCase) throws {
    for knob in c.knobs.set where !c.transport.knobs.contains(knob) {
        let takers = TransportKind.allCases.filter { $0.knobs.contains(knob) }.map(\.rawValue)
        throw InputError("\(knob.rawValue) does not apply to \(c.transport.rawValue) (only to \(takers.joined(separator: ", "))); set it in a suite whose transports take it")
    }
    if c.noDelay != nil && c.transport != .tcp && c.transport != .tcp6 {
        throw InputError("nodelay does not apply to \(c.transport.rawValue) (only to tcp, tcp6); set it in a suite whose transports take it")
    }
}
