import IPCPlatform
import IPCModel

/// Each transport's type and what it is, from that type: a new transport adds its line here.
extension TransportKind {
    package var implementation: Transport.Type {
        switch self {
        case .pipe: return PipeTransport.self
        case .fifo: return FIFOTransport.self
        case .unixStream: return UnixStreamTransport.self
        case .unixDgram: return UnixDatagramTransport.self
        case .tcp: return TCPTransport.self
        case .udp: return UDPTransport.self
        case .socketpair: return SocketPairTransport.self
        case .unixSeqpacket: return UnixSeqpacketTransport.self
        case .tcp6: return TCP6Transport.self
        case .udp6: return UDP6Transport.self
        case .shmFutex: return SharedMemoryFutexTransport.self
        case .shmSpin: return SharedMemorySpinTransport.self
        case .mq: return MessageQueueTransport.self
        case .vmsplice: return VmspliceTransport.self
        case .udpMulticast: return UDPMulticastTransport.self
        }
    }

    public var semantics: MessageSemantics { implementation.semantics }

    /// Message-based: one send is one message (datagram or seqpacket sockets, message queues).
    public var isDatagram: Bool { semantics.keepsBoundaries }

    /// The largest payload one message can carry on this kernel, or nil for a byte stream.
    public func maxPayloadBytes() -> Int? { implementation.maxMessageBytes() }

    public func make(_ options: TransportOptions) -> Transport { implementation.init(options) }

    /// The knobs this transport applies (`pipe_size` on pipes, `sndbuf`/`rcvbuf` on sockets, ...).
    public var knobs: [Knob] { implementation.knobs }

    /// One send reaches every receiver (IP multicast).
    public var oneToMany: Bool { implementation.oneToMany }

    /// Why probing this machine's limits for this transport failed, or nil: its cases fail with it.
    public func probeFailure(limits: Limits = .shared) -> String? { limits.failedProbes[self] }
}
