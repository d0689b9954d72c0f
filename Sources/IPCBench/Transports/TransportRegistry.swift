/// Every transport, by the name users type: the one list that `list`, help, config validation and
/// the plan read. A new transport adds a case here and its type in `implementation`.
public enum TransportKind: String, CaseIterable, Sendable {
    case pipe
    case fifo
    case unixStream = "unix-stream"
    case unixDgram = "unix-dgram"
    case tcp
    case udp

    var implementation: Transport.Type {
        switch self {
        case .pipe: return PipeTransport.self
        case .fifo: return FIFOTransport.self
        case .unixStream: return UnixStreamTransport.self
        case .unixDgram: return UnixDatagramTransport.self
        case .tcp: return TCPTransport.self
        case .udp: return UDPTransport.self
        }
    }

    public var semantics: MessageSemantics { implementation.semantics }

    /// Message-based: one send is one message (datagram or seqpacket sockets, message queues).
    public var isDatagram: Bool { semantics.keepsBoundaries }

    /// The largest payload one message can carry on this kernel, or nil for a byte stream.
    public func maxPayloadBytes() -> Int? { implementation.maxMessageBytes() }

    public func make(_ options: TransportOptions) -> Transport { implementation.init(options) }
}
