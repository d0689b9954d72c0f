import IPCPlatform

/// Every pattern, by the name users type: the one list that `list`, help, config validation, the
/// plan and `compare` read, with what each is (its loops are IPCRun's, Patterns/). A new pattern adds
/// a case and its facts here, its type under IPCRun/Patterns/ and a line in PatternRegistry.swift.
public enum PatternKind: String, CaseIterable, Sendable {
    case throughput
    case latency
    case syncMessage = "sync-message"
    case asyncRequest = "async-request"
    case duplex
    case fanout
    case pairs
    case pubsub

    /// One line for `ipcbench list`: what it does, in the four elementary modes' words.
    public var summary: String {
        switch self {
        case .throughput: return "one-way transfer (asynchronous message); MiB/s per trial, median with a 95% interval"
        case .latency: return "ping-pong (synchronous request); round-trip time percentiles from an HDR histogram"
        case .syncMessage: return "send, then wait for a small acknowledgement (synchronous message); msgs/s, MiB/s and send-to-ack percentiles"
        case .asyncRequest: return "pipelined requests, up to depth outstanding (asynchronous request); requests/s and request-to-reply percentiles"
        case .duplex: return "two-way transfer (asynchronous messages both ways at once); combined MiB/s, and each direction's"
        case .fanout: return "one writer to N readers (broadcast as one copy per reader); delivered MiB/s and the slowest reader's MiB/s"
        case .pairs: return "N independent sender/receiver pairs at once (scaling); aggregate MiB/s and msgs/s, and the slowest pair's MiB/s"
        case .pubsub: return "P publishers, S subscribers of K of T topics, direct or through a broker; delivered MiB/s and msgs/s, the slowest subscriber, publish-to-delivery latency"
        }
    }

    /// The per-case parameters it takes beyond the payload (depth, receivers, pairs, ...), in the
    /// order case names and rows show them; a case is one value of each.
    public var parameters: [CaseParameter] {
        switch self {
        case .throughput: return []
        case .latency: return []
        case .syncMessage: return []
        case .asyncRequest: return [.depth]
        case .duplex: return []
        case .fanout: return [.receivers]
        case .pairs: return [.pairs]
        case .pubsub: return [.publishers, .subscribers, .topics, .subscriptions, .topology]
        }
    }

    /// How a trial's messages are counted before calibration: `total / payload` (transfers) or `count`.
    public var sizing: WorkSizing {
        switch self {
        case .throughput: return .totalBytes
        case .latency: return .count
        case .syncMessage: return .count
        case .asyncRequest: return .count
        case .duplex: return .totalBytes
        case .fanout: return .totalBytes
        case .pairs: return .totalBytes
        case .pubsub: return .totalBytes
        }
    }

    /// Its senders can pace themselves at an offered rate (`--rate`).
    public var canPace: Bool {
        switch self {
        case .throughput: return true
        case .latency: return true
        case .syncMessage: return true
        case .asyncRequest: return true
        case .duplex: return false  // both workers write while they read: neither keeps a schedule
        case .fanout: return true
        case .pairs: return true
        case .pubsub: return true
        }
    }

    /// What `compare` compares for it, first the main one.
    package var ownMetrics: [Metric] {
        switch self {
        case .throughput: return [Metric.throughput]
        case .latency: return [Metric.rttP50, .rttP99]
        case .syncMessage: return [Metric.throughput, .messagesPerSecond, .rttP50, .rttP99]
        case .asyncRequest: return [Metric.messagesPerSecond, .rttP50, .rttP99]
        case .duplex: return [Metric.throughput, .forward, .backward]
        case .fanout: return [Metric.throughput, .slowest]
        case .pairs: return [Metric.throughput, .messagesPerSecond, .slowest]
        case .pubsub: return [Metric.throughput, .messagesPerSecond, .slowest, .deliveryP50, .deliveryP99]
        }
    }

    /// A case of it can have a value of `p`: its own parameters, and the rate where it paces.
    public func takes(_ p: CaseParameter) -> Bool { parameters.contains(p) || (p == .rate && canPace) || p == .wait }
    /// Its own metrics, first the main one, then those every pattern has.
    public var metrics: [Metric] { ownMetrics + Metric.everyPattern }
}
