/// Every pattern, by the name users type: the one list that `list`, help, config validation, the
/// plan and `compare` read. A new pattern adds a case here and its type in `implementation`.
public enum PatternKind: String, CaseIterable, Sendable {
    case throughput
    case latency
    case syncMessage = "sync-message"
    case asyncRequest = "async-request"
    case duplex
    case fanout
    case pairs
    case pubsub

    var implementation: Pattern.Type {
        switch self {
        case .throughput: return ThroughputPattern.self
        case .latency: return LatencyPattern.self
        case .syncMessage: return SyncMessagePattern.self
        case .asyncRequest: return AsyncRequestPattern.self
        case .duplex: return DuplexPattern.self
        case .fanout: return FanoutPattern.self
        case .pairs: return PairsPattern.self
        case .pubsub: return PubSubPattern.self
        }
    }

    public var summary: String { implementation.summary }
    public var parameters: [CaseParameter] { implementation.parameters }
    /// Its senders can pace themselves at an offered rate (`--rate`).
    public var canPace: Bool { implementation.canPace }
    /// A case of it can have a value of `p`: its own parameters, and the rate where it paces.
    public func takes(_ p: CaseParameter) -> Bool { parameters.contains(p) || (p == .rate && canPace) || p == .wait }
    /// Its own metrics, first the main one, then those every pattern has.
    public var metrics: [Metric] { implementation.metrics + Metric.everyPattern }
    public var sizing: WorkSizing { implementation.sizing }
}
