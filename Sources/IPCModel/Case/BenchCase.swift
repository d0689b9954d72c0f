import IPCPlatform

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
        IPCModel.optionsLabel(workers: workers, noDelay: transportOptions.noDelay, knobs: knobsInForce ?? knobs)
    }

    public var name: String {
        let parameters = parameterLabel.isEmpty ? "" : " " + parameterLabel
        return "\(transport.rawValue) \(pattern.rawValue) \(formatSize(payloadBytes))\(parameters) \(placement)"
    }

    /// Everything but the suite's name is equal.
    package func isSameMeasurement(as other: BenchCase) -> Bool {
        var renamed = other
        renamed.suite = suite
        return renamed == self
    }
}
