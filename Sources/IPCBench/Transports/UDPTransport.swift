import Glibc

/// AF_INET SOCK_DGRAM on 127.0.0.1: one socket per worker on an ephemeral port, each connected to
/// the other's so that plain send/recv carry the traffic.
final class UDPTransport: Transport {
    let kind = TransportKind.udp
    private let options: TransportOptions
    private var sockets: [Int32] = [-1, -1]
    private var ports: [UInt16] = [0, 0]

    init(_ options: TransportOptions) { self.options = options }

    func prepare(in directory: String) throws {
        for i in 0..<2 {
            sockets[i] = try makeSocket(AF_INET, Int32(SOCK_DGRAM.rawValue))
            try bind(sockets[i], loopbackAddress(port: 0), "127.0.0.1:0")
            ports[i] = try boundPort(sockets[i])
        }
    }

    func open(_ role: Role) throws -> Endpoint {
        let mine = Int(role.rawValue), other = 1 - mine
        closeDescriptor(sockets[other])
        try connect(sockets[mine], loopbackAddress(port: ports[other]), "127.0.0.1:\(ports[other])")
        try setReceiveTimeout(sockets[mine], nanoseconds: options.receiveTimeoutNs)
        return Endpoint(readFD: sockets[mine], writeFD: sockets[mine], isDatagram: true, losesDatagrams: true)
    }

    func close() {
        sockets.forEach(closeDescriptor)
        sockets = [-1, -1]
    }
}
