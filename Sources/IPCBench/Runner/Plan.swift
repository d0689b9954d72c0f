/// One row of results: a transport, a pattern, a payload size and a CPU placement.
public struct BenchCase: Equatable, Sendable {
    public var suite: String
    public var transport: TransportKind
    public var pattern: PatternKind
    public var payloadBytes: Int
    /// Messages (throughput) or round trips (latency) per trial, before calibration.
    public var messages: Int
    public var placement: CPUPlacement
    public var verify: Bool
    /// The pattern's parameter (see `CaseParameter`); 1 where the pattern takes none.
    public var depth = 1
    public var receivers = 1
    public var pairs = 1
    /// The case's settings, every layer merged; the lists a suite runs over (transports, sizes,
    /// placements, parameters) are left out, since the case is one of each (the fields above).
    public var settings = SettingLayer.builtIn.caseSettings

    public init(suite: String, transport: TransportKind, pattern: PatternKind, payloadBytes: Int, messages: Int,
                repetitions: Int, warmup: Int, placement: CPUPlacement, timeoutNs: UInt64, minTrialNs: UInt64, verify: Bool) {
        self.suite = suite
        self.transport = transport
        self.pattern = pattern
        self.payloadBytes = payloadBytes
        self.messages = messages
        self.placement = placement
        self.verify = verify
        settings.repetitions = repetitions
        settings.warmup = warmup
        settings.timeoutNs = timeoutNs
        settings.minTrialNs = minTrialNs
    }

    // The settings the runner and the CSV read, by name.
    public var repetitions: Int { settings.repetitions! }
    public var warmup: Int { settings.warmup! }
    public var timeoutNs: UInt64 { settings.timeoutNs! }
    public var minTrialNs: UInt64 { settings.minTrialNs! }
    /// Kernel settings the case asks for (pipe_size, sndbuf, rcvbuf, busy_poll).
    public var knobs: TransportKnobs {
        get { settings.knobs }
        set { settings.knobs = newValue }
    }
    public var workers: Workers { settings.workers ?? .process }
    /// TCP_NODELAY as the config or command line set it; nil: on for the patterns that wait for answers.
    public var noDelay: Bool? {
        get { settings.noDelay }
        set { settings.noDelay = newValue }
    }

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
        TransportOptions(noDelay: transport.takesNoDelay && (noDelay ?? (pattern.sizing == .count)),
                         payloadBytes: payloadBytes, verify: verify, knobs: knobs)
    }

    /// The options column: what this case set beyond the transport's defaults, with the knobs' values
    /// as the kernel put them in force (`knobsInForce`, read back by a worker) once a trial has run.
    public func optionsLabel(knobsInForce: String? = nil) -> String {
        [workers == .thread ? "threads" : "", transportOptions.noDelay ? "nodelay" : "", knobsInForce ?? knobs.label]
            .filter { !$0.isEmpty }.joined(separator: " ")
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
        let perLink = [Knob.pipeSize, .sendBuffer, .receiveBuffer].reduce(0) { $0 + (knobs[$1] ?? 0) }
        return buffers * (payloadBytes + patternPeriod) + topology.links.count * perLink
    }

    /// Why this kernel cannot run the case, or nil when it can.
    public func skipReason(limits: Limits = .shared) -> String? { IPCBench.skipReason(transport, pattern, shape, limits: limits) }
}

extension BenchConfig {
    /// The cases to run, in order: suites as written, then transports, sizes and placements.
    /// Throws `InputError` for anything that would make the run fail before it starts.
    /// `memory` bounds what one trial may allocate (nil: no bound).
    public func plan(_ commandLine: SettingLayer = SettingLayer(), patterns: [PatternKind]? = nil, verify: Bool = false,
                     allowed cpus: [Int] = allowedCPUs(), memory: Bound? = InputLimits.trialMemory()) throws -> [BenchCase] {
        var chosen = suites
        if let patterns {
            chosen = chosen.filter { patterns.contains($0.pattern) }
            // A pattern no suite has runs with the config's [defaults].
            for pattern in patterns where !suites.contains(where: { $0.pattern == pattern }) {
                chosen.append(SuiteConfig(name: pattern.rawValue, pattern: pattern, settings: defaults))
            }
        }
        var cases: [BenchCase] = []
        for suite in chosen {
            let s = commandLine.over(suite.settings)
            let placements = s.placements!.map { $0.resolved(allowed: cpus) }
            for placement in placements { _ = try placement.cpus(workers: 2, allowed: cpus) }
            for transport in s.transports! {
                for size in s.sizes! {
                    let messages: Int
                    switch suite.pattern.sizing {
                    case .totalBytes: messages = max(1, s.total! / size)
                    case .count: messages = s.count!
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
                    for value in s.values(of: suite.pattern.parameter) {
                        for placement in placements {
                            var next = BenchCase(
                                suite: suite.name, transport: transport, pattern: suite.pattern, payloadBytes: size,
                                messages: messages, repetitions: s.repetitions!, warmup: s.warmup!, placement: placement,
                                timeoutNs: s.timeoutNs!, minTrialNs: s.minTrialNs!, verify: verify)
                            next.settings = s.caseSettings
                            next.parameterValue = value
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

extension SettingLayer {
    /// The settings one case keeps: without the lists its suite runs over (one case is one of each).
    var caseSettings: SettingLayer {
        var s = self
        s.transports = nil
        s.sizes = nil
        s.placements = nil
        s.parameters = [:]
        return s
    }
}

/// A knob or nodelay set for a transport that does not take it is an error naming both, before anything runs.
func checkKnobs(_ c: BenchCase) throws {
    for knob in c.knobs.present where !c.transport.knobs.contains(knob) {
        let takers = TransportKind.allCases.filter { $0.knobs.contains(knob) }.map(\.rawValue)
        throw InputError("\(knob.rawValue) does not apply to \(c.transport.rawValue) (only to \(takers.joined(separator: ", "))); set it in a suite whose transports take it")
    }
    if c.noDelay != nil && !c.transport.takesNoDelay {
        let takers = TransportKind.allCases.filter(\.takesNoDelay).map(\.rawValue)
        throw InputError("nodelay does not apply to \(c.transport.rawValue) (only to \(takers.joined(separator: ", "))); set it in a suite whose transports take it")
    }
}
