import IPCPlatform

/// Every transport, by the name users type: the one list that `list`, help, config validation and
/// the plan read. A new transport adds a case here, its type under IPCRun/Transports/ and a line in
/// TransportRegistry.swift.
public enum TransportKind: String, CaseIterable, Sendable {
    case pipe
    case fifo
    case socketpair
    case unixStream = "unix-stream"
    case unixDgram = "unix-dgram"
    case unixSeqpacket = "unix-seqpacket"
    case tcp
    case udp
    case tcp6
    case udp6
    case shmFutex = "shm-futex"
    case shmSpin = "shm-spin"
    case mq
    case vmsplice
    case udpMulticast = "udp-multicast"

    /// It has Nagle's algorithm, which the `nodelay` setting turns off (TCP_NODELAY).
    public var takesNoDelay: Bool { self == .tcp || self == .tcp6 }
}
