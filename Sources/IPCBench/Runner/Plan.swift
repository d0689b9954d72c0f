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
    /// The values of the pattern's parameters (see `CaseParameter`); every other one reads 1.
    public var parameters: [CaseParameter: Int] = [:]
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

    public var shape: CaseShape { CaseShape(payloadBytes: payloadBytes, parameters) }

    /// The pattern's parameters with their values, as case names write them: `subscribers 4 topology broker`.
    public var parameterLabel: String {
        (pattern.parameters.map { "\($0.rawValue) \($0.text(shape[$0]))" } + (shape.rate.map { ["rate \($0)"] } ?? [])
            + (shape.wait.map { ["wait \($0.rawValue)"] } ?? [])).joined(separator: " ")
    }

    public var transportOptions: TransportOptions {
        // Patterns counted in round trips wait for an answer to every message: Nagle would hold it back.
        TransportOptions(noDelay: transport.takesNoDelay && (noDelay ?? (pattern.sizing == .count)),
                         payloadBytes: payloadBytes, verify: verify, knobs: knobs)
    }

    /// The options column: what this case set beyond the transport's defaults, with the knobs' values
    /// as the kernel put them in force (`knobsInForce`, read back by a worker) once a trial has run.
    public func optionsLabel(knobsInForce: TransportKnobs? = nil) -> String {
        IPCBench.optionsLabel(workers: workers, noDelay: transportOptions.noDelay, knobs: knobsInForce ?? knobs)
    }

    public var name: String {
        let parameters = parameterLabel.isEmpty ? "" : " " + parameterLabel
        return "\(transport.rawValue) \(pattern.rawValue) \(formatSize(payloadBytes))\(parameters) \(placement)"
    }

    /// Everything but the suite's name is equal.
    func isSameMeasurement(as other: BenchCase) -> Bool {
        var renamed = other
        renamed.suite = suite
        return renamed == self
    }

    /// The memory one trial needs: every worker's payload buffers, and the kernel buffers that
    /// pipe_size, sndbuf and rcvbuf ask for on each link (transport instance; each member's socket
    /// of a multicast group).
    public var trialMemoryBytes: Int {
        let topology = pattern.implementation.topology(shape)
        let buffers = topology.roles.indices.reduce(0) { $0 + pattern.implementation.payloadBuffers(worker: $1, shape) }
        let perLink = [Knob.pipeSize, .sendBuffer, .receiveBuffer].reduce(0) { $0 + (knobs[$1] ?? 0) }
        // A one-to-many transport's knobs apply to each member's socket; the others' to each instance.
        let knobbed = transport.oneToMany ? topology.endpointCount(oneToMany: true) : topology.instanceCount(oneToMany: false)
        return buffers * (payloadBytes + patternPeriod) + knobbed * perLink
    }

    /// The descriptors one trial holds at most, as an estimate on the safe side: four per transport
    /// instance (a pipe pair each way, two queues each way), two per worker for its control channel,
    /// and some for the runner's own files. Every worker inherits the runner's.
    public var trialDescriptors: Int {
        let topology = pattern.implementation.topology(shape)
        return 4 * topology.instanceCount(oneToMany: transport.oneToMany) + 2 * topology.roles.count + 32
    }

    /// Why this kernel cannot run the case, or nil when it can.
    public func skipReason(limits: Limits = .shared) -> String? { IPCBench.skipReason(transport, pattern, shape, limits: limits) }
}

extension BenchConfig {
    /// The cases to run, in order: suites as written, then transports, sizes and placements.
    /// Throws `InputError` for anything that would make the run fail before it starts.
    /// `memory` bounds what one trial may allocate (nil: no bound).
    public func plan(_ commandLine: SettingLayer = SettingLayer(), patterns: [PatternKind]? = nil, verify: Bool = false,
                     allowed cpus: [Int] = allowedCPUs(), memory: Bound? = InputLimits.trialMemory(),
                     descriptors: Bound? = InputLimits.descriptors()) throws -> [BenchCase] {
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
            // A case per rate and per wait mode too, where given (every other parameter reads 1 where not given).
            let combinations = s.combinations(of: suite.pattern.parameters).flatMap { values in
                (s.parameters[.rate] ?? [0]).map { rate in rate == 0 ? values : values.merging([.rate: rate]) { $1 } }
            }.flatMap { values in
                (s.parameters[.wait] ?? [0]).map { wait in wait == 0 ? values : values.merging([.wait: wait]) { $1 } }
            }
            if combinations.isEmpty {
                throw InputError("suite '\(suite.name)': subscriptions \(s.parameters[.subscriptions]!.map(String.init).joined(separator: ",")) exceed topics \(s.parameters[.topics]!.map(String.init).joined(separator: ",")); each subscriber takes at most every topic once, so subscriptions must be at most topics")
            }
            // An offered rate makes a case per rate; without one the senders go as fast as the path goes.
            if s.parameters[.rate] != nil && !suite.pattern.canPace {
                let takers = PatternKind.allCases.filter(\.canPace).map(\.rawValue)
                throw InputError("suite '\(suite.name)': rate does not apply to pattern \(suite.pattern.rawValue), whose workers each write while they read and keep no schedule (only to \(takers.joined(separator: ", "))); leave it out with -p, or set rate in the suites that take it")
            }
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
                    for values in combinations {
                        for placement in placements {
                            var next = BenchCase(
                                suite: suite.name, transport: transport, pattern: suite.pattern, payloadBytes: size,
                                messages: messages, repetitions: s.repetitions!, warmup: s.warmup!, placement: placement,
                                timeoutNs: s.timeoutNs!, minTrialNs: s.minTrialNs!, verify: verify)
                            next.settings = s.caseSettings
                            next.parameters = values
                            if let rate = values[.rate], Double(messages) / Double(rate) * 1e9 > Double(s.timeoutNs!) {
                                throw InputError("suite '\(suite.name)': a trial of \(next.name) sends \(messages) messages at \(rate) a second, which takes longer than the timeout \(formatDuration(s.timeoutNs!)); lower \(suite.pattern.sizing == .count ? "count" : "total") or raise timeout")
                            }
                            try checkKnobs(next)
                            if let memory, next.trialMemoryBytes > memory.max {
                                let workers = next.pattern.implementation.topology(next.shape).roles.count
                                throw InputError("suite '\(suite.name)': a trial of \(next.name) needs \(memoryLabel(next.trialMemoryBytes)) (the buffers of its \(workers) workers, plus pipe_size, sndbuf and rcvbuf on each link), more than \(memory.shown), \(memory.why); lower the size, the workers or the knobs")
                            }
                            if let descriptors, next.trialDescriptors > descriptors.max {
                                throw InputError("suite '\(suite.name)': a trial of \(next.name) may hold \(next.trialDescriptors) descriptors (its links' and workers'), more than \(descriptors.shown), \(descriptors.why); lower the workers (publishers, subscribers, receivers, pairs), or raise the limit")
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
