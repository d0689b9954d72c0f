import IPCPlatform

/// Where a case's message count comes from before calibration.
public enum WorkSizing: Sendable {
    /// `total` bytes (the config's `total`, `--total`) in messages of the payload.
    case totalBytes
    /// `count` messages or round trips (the config's `count`, `--count`).
    case count
}

/// The per-case parameters beyond the payload; each pattern reads the ones it takes (default 1).
/// A value is a whole number, or for `topology` one of its `names` (1 is the first).
public enum CaseParameter: String, CaseIterable, Sendable {
    /// async-request: requests the client keeps outstanding.
    case depth
    /// fanout: readers each message goes to.
    case receivers
    /// pairs: independent sender/receiver pairs.
    case pairs
    /// pubsub: workers that publish, subscribe; topics published; topics each subscriber takes.
    case publishers
    case subscribers
    case topics
    case subscriptions
    /// pubsub: direct (each publisher writes to every subscriber of a topic) or broker (through
    /// one broker worker).
    case topology
    /// The patterns that pace: the messages a second each sender offers (`--rate`); a case without
    /// one sends as fast as the path goes, and has no value (not 1).
    case rate
    /// Every pattern: how a worker waits for data to read (`--wait`, `WaitMode`); a case without
    /// one does what the pattern does by itself (`auto`), and has no value.
    case wait

    /// The words a value is written as, where it is not a number.
    public var names: [String]? {
        switch self {
        case .topology: return PubSubTopology.allCases.map(\.rawValue)
        case .wait: return WaitMode.allCases.map(\.rawValue)
        case .depth, .receivers, .pairs, .publishers, .subscribers, .topics, .subscriptions, .rate: return nil
        }
    }

    /// The minor version (0.N.0) whose files first carry its column.
    package var version: Int {
        switch self {
        case .depth, .receivers, .pairs: return 2
        case .publishers, .subscribers, .topics, .subscriptions, .topology: return 3
        case .rate, .wait: return 4
        }
    }

    /// A value as the files and case names write it: the number, or its name.
    public func text(_ value: Int) -> String { names.map { value >= 1 && value <= $0.count ? $0[value - 1] : String(value) } ?? String(value) }

    /// The value of `text` as the files write it; nil where it is not one.
    public func value(_ text: String) -> Int? { names.map { $0.firstIndex(of: text).map { $0 + 1 } } ?? Int(text) }
}

/// pubsub's topologies, as `topology` values.
public enum PubSubTopology: String, CaseIterable, Sendable {
    case direct
    case broker
}

/// What a case asks of a trial: the payload and the values of its pattern's parameters (every
/// parameter it does not hold reads 1).
public struct CaseShape: Equatable, Sendable {
    public var payloadBytes: Int
    public var values: [CaseParameter: Int] = [:]

    public init(payloadBytes: Int, _ values: [CaseParameter: Int] = [:]) {
        self.payloadBytes = payloadBytes
        self.values = values
    }

    public init(payloadBytes: Int, depth: Int = 1, receivers: Int = 1, pairs: Int = 1) {
        self.init(payloadBytes: payloadBytes, [.depth: depth, .receivers: receivers, .pairs: pairs])
    }

    /// Equal when every parameter reads the same (a value of 1 is the same as none, except for the
    /// rate, where none is no rate at all).
    public static func == (a: CaseShape, b: CaseShape) -> Bool {
        a.payloadBytes == b.payloadBytes && CaseParameter.allCases.allSatisfy { a[$0] == b[$0] } && a.rate == b.rate && a.wait == b.wait
    }

    public subscript(parameter: CaseParameter) -> Int {
        get { values[parameter] ?? 1 }
        set { values[parameter] = newValue }
    }

    public var depth: Int { self[.depth] }
    public var receivers: Int { self[.receivers] }
    public var pairs: Int { self[.pairs] }
    package var publishers: Int { self[.publishers] }
    package var subscribers: Int { self[.subscribers] }
    package var topics: Int { self[.topics] }
    package var subscriptions: Int { self[.subscriptions] }
    package var topology: PubSubTopology { self[.topology] == 2 ? .broker : .direct }
    /// Messages a second each sender offers; nil: as fast as the path goes.
    public var rate: Int? { values[.rate] }
    /// How the workers wait for data; nil: as the pattern does by itself (`auto`).
    public var wait: WaitMode? { values[.wait].flatMap { $0 >= 1 && $0 <= WaitMode.allCases.count ? WaitMode.allCases[$0 - 1] : nil } }
}

/// One trial's figures. Time runs from `startNs` to `endNs` (CLOCK_MONOTONIC, shared by all the
/// workers).
package struct TrialFigures {
    package var durationNs: UInt64 = 0
    /// Bytes delivered (all receivers together).
    package var bytes: UInt64 = 0
    /// Messages sent, round trips or requests answered: the unit of the per-message columns.
    package var messages: UInt64 = 0
    /// The values of the pattern's own metrics (`Metric.Source.pattern`), where it has them.
    package var values: [Metric: Double] = [:]
    /// (nanoseconds, count) pairs for the latency histogram, where the pattern times each message;
    /// at an offered rate, from each message's intended send time (corrected).
    package var latencies: [(UInt64, UInt64)] = []
    /// At an offered rate: the same latencies from each message's actual send (uncorrected).
    package var uncorrectedLatencies: [(UInt64, UInt64)] = []
    /// Message transports: what was sent, received, lost, reordered and duplicated.
    package var datagrams: DatagramCounts?
    package init() {}
}

/// Counts a datagram receiver keeps; 64-bit so that nothing wraps.
public struct DatagramCounts: Sendable, Equatable {
    public var sent: UInt64 = 0
    public var received: UInt64 = 0
    public var lost: UInt64 = 0
    public var reordered: UInt64 = 0
    public var duplicated: UInt64 = 0
    public init() {}
}

extension DatagramCounts {
    /// Several receivers' counts together, against the `due` copies: lost is what did not arrive.
    package init(due: UInt64, receivers: some Sequence<WorkerReport>) {
        sent = due
        for r in receivers {
            received += r.datagrams.received
            reordered += r.datagrams.reordered
            duplicated += r.datagrams.duplicated
        }
        lost = sent - min(sent, received)
    }
}
