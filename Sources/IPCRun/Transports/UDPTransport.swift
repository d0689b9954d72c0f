import Glibc
import IPCPlatform
import IPCModel

/// AF_INET SOCK_DGRAM on 127.0.0.1 (`udp6`: AF_INET6 on ::1): one socket per worker on an
/// ephemeral port, each connected to the other's so that plain send/recv carry the traffic. Once
/// connected, the kernel delivers only datagrams from the peer's address and port (which the peer
/// holds); what strangers sent before that is drained and counted, and every datagram carries the
/// trial's key as well.
package class UDPTransport: Transport {
    package static let semantics = MessageSemantics.lossyMessages
    package class var loopback: Loopback { .ipv4 }
    package class var needsIPv6: Bool { loopback == .ipv6 }
    package static let knobs: [Knob] = [.sendBuffer, .receiveBuffer, .busyPoll]
    package class func maxMessageBytes() -> Int? { Limits.shared.udpDatagramMax }
    private let options: TransportOptions
    private(set) var sockets: [Int32] = [-1, -1]
    private(set) var ports: [UInt16] = [0, 0]

    package required init(_ options: TransportOptions) { self.options = options }

    package func prepare(in directory: String) throws {
        for i in 0..<2 {
            sockets[i] = try makeSocket(Self.loopback.domain, Int32(SOCK_DGRAM.rawValue))
            try Self.loopback.bind(sockets[i], port: 0)
            ports[i] = try boundPort(sockets[i])
        }
    }

    package func open(_ role: Role, _ peer: PeerCheck) throws -> Endpoint {
        let mine = Int(role.rawValue), other = 1 - mine
        closeDescriptor(sockets[other])
        try Self.loopback.connect(sockets[mine], port: ports[other])
        let rejected = drainQueuedDatagrams(sockets[mine])
        try setReceiveTimeout(sockets[mine], nanoseconds: options.receiveTimeoutNs)
        var endpoint = Endpoint(.sendReceive(sockets[mine]), Self.semantics,
                                datagramKey: peer.secret.datagramKey, rejected: rejected)
        endpoint.knobsInForce = try applySocketKnobs(sockets[mine], options.knobs, taking: Self.knobs)
        return endpoint
    }

    package func close() {
        sockets.forEach(closeDescriptor)
        sockets = [-1, -1]
    }
}

/// `udp6`: UDP on ::1, set up and checked exactly like `udp`; its datagram limit is IPv6's.
package final class UDP6Transport: UDPTransport {
    package override class var loopback: Loopback { .ipv6 }
    package override class func maxMessageBytes() -> Int? { Limits.shared.udp6DatagramMax }
}
