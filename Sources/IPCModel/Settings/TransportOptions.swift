import IPCPlatform

/// Per-case choices a transport applies when it makes its endpoints.
public struct TransportOptions: Sendable, Equatable {
    /// TCP_NODELAY, on for latency so Nagle does not hold back small messages.
    public var noDelay = false
    /// How long a datagram receiver waits for the next message before it gives up.
    public var receiveTimeoutNs: UInt64 = 1_000_000_000
    /// The case's payload size: mq makes its queues' message size exactly this (0: not known).
    public var payloadBytes = 0
    /// The receiver checks every byte (`--verify`): vmsplice then reads with read(2) instead of
    /// splicing into /dev/null, so that the bytes reach the checker.
    public var verify = false
    /// Kernel settings beyond the defaults; each transport applies those in its `knobs`.
    public var knobs = TransportKnobs()

    public init(noDelay: Bool = false, receiveTimeoutNs: UInt64 = 1_000_000_000, payloadBytes: Int = 0, verify: Bool = false,
                knobs: TransportKnobs = TransportKnobs()) {
        self.noDelay = noDelay
        self.receiveTimeoutNs = receiveTimeoutNs
        self.payloadBytes = payloadBytes
        self.verify = verify
        self.knobs = knobs
    }
}
