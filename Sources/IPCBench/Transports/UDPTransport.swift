import Glibc

/// AF_INET SOCK_DGRAM on 127.0.0.1: one socket per worker on an ephemeral port, each connected to
/// the other's so that plain send/recv carry the traffic. Once connected, the kernel delivers only
/// datagrams from the peer's address and port (which the peer holds); what strangers sent before
/// that is drained and counted, and every datagram carries the trial's key as well.
final class UDPTransport: Transport {
    let kind = TransportKind.udp
    private let options: TransportOptions
    private(set) var sockets: [Int32] = [-1, -1]
    private(set) var ports: [UInt16] = [0, 0]

    init(_ options: TransportOptions) { self.options = options }

    func prepare(in directory: String) throws {
        for i in 0..<2 {
            sockets[i] = try makeSocket(AF_INET, Int32(SOCK_DGRAM.rawValue))
            try bind(sockets[i], loopbackAddress(port: 0), "127.0.0.1:0")
            ports[i] = try boundPort(sockets[i])
        }
    }

    func open(_ role: Role, _ peer: PeerCheck) throws -> Endpoint {
        let mine = Int(role.rawValue), other = 1 - mine
        closeDescriptor(sockets[other])
        try connect(sockets[mine], loopbackAddress(port: ports[other]), "127.0.0.1:\(ports[other])")
        let rejected = drainQueuedDatagrams(sockets[mine])
        try setReceiveTimeout(sockets[mine], nanoseconds: options.receiveTimeoutNs)
        return Endpoint(readFD: sockets[mine], writeFD: sockets[mine], isDatagram: true, losesDatagrams: true,
                        datagramKey: peer.secret.datagramKey, rejected: rejected)
    }

    func close() {
        sockets.forEach(closeDescriptor)
        sockets = [-1, -1]
    }
}
