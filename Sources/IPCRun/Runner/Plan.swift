import IPCPlatform
import IPCModel

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

/// A knob or nodelay set for a transport that does not take it is an error naming both, before anything runs.
package func checkKnobs(_ c: BenchCase) throws {
    for knob in c.knobs.present where !c.transport.knobs.contains(knob) {
        let takers = TransportKind.allCases.filter { $0.knobs.contains(knob) }.map(\.rawValue)
        throw InputError("\(knob.rawValue) does not apply to \(c.transport.rawValue) (only to \(takers.joined(separator: ", "))); set it in a suite whose transports take it")
    }
    if c.noDelay != nil && !c.transport.takesNoDelay {
        let takers = TransportKind.allCases.filter(\.takesNoDelay).map(\.rawValue)
        throw InputError("nodelay does not apply to \(c.transport.rawValue) (only to \(takers.joined(separator: ", "))); set it in a suite whose transports take it")
    }
}

/// What a case needs of this machine, from its pattern's topology and the kernel's limits.
extension BenchCase {
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
    public func skipReason(limits: Limits = .shared) -> String? { IPCRun.skipReason(transport, pattern, shape, limits: limits) }
}

extension RunOptions {
    /// The suite of `config` (or the embedded default) with these options, checked as `run` checks it.
    public func resolve(config: String?) throws -> (suite: BenchConfig, cases: [BenchCase], schedule: Schedule) {
        let suite = try config.map { try BenchConfig.load(path: $0) }
            ?? BenchConfig.parse(embeddedDefaultConfig, file: "the embedded default suite")
        let cases = try suite.plan(try layer(), patterns: try patterns(), verify: verify)
        let schedule = try self.schedule.map { try Schedule(parsing: $0, what: "--schedule") } ?? suite.schedule
        if let seed { try Schedule.checkSeed(seed, what: "--seed") }
        return (suite, cases, schedule)
    }
}
