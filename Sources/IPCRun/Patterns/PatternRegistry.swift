import IPCPlatform
import IPCModel

/// Each pattern's type: a new pattern adds its line here.
extension PatternKind {
    package var implementation: Pattern.Type {
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
}
