import Glibc

/// AF_INET SOCK_STREAM on 127.0.0.1: the runner listens on an ephemeral port; b accepts, a connects
/// and sends the trial's secret first. Any local user can connect to the port, so b keeps only the
/// connection that presents the secret.
final class TCPTransport: Transport {
    let kind = TransportKind.tcp
    private let options: TransportOptions
    private var listener: Int32 = -1
    private(set) var port: UInt16 = 0

    init(_ options: TransportOptions) { self.options = options }

    func prepare(in directory: String) throws {
        listener = try makeSocket(AF_INET, Int32(SOCK_STREAM.rawValue))
        try bind(listener, loopbackAddress(port: 0), "127.0.0.1:0")
        // Room for a few strangers' connections ahead of the peer's.
        try check("listen") { Glibc.listen(listener, Int32(maxPendingConnections)) }
        port = try boundPort(listener)
    }

    func open(_ role: Role, _ peer: PeerCheck) throws -> Endpoint {
        let fd: Int32
        var rejected: UInt64 = 0
        switch role {
        case .a:
            closeDescriptor(listener)
            fd = try makeSocket(AF_INET, Int32(SOCK_STREAM.rawValue))
            try connect(fd, loopbackAddress(port: port), "127.0.0.1:\(port)")
            let sent = peer.secret.bytes.withUnsafeBytes { writeFully(fd, $0.baseAddress!, $0.count) }
            if sent < 0 { throw SystemCallError("write(trial secret)", code: Int32(-sent)) }
        case .b:
            defer { closeDescriptor(listener) }
            let accepted = try acceptPresentingSecret(listener, peer)
            fd = accepted.fd
            rejected = accepted.rejected
        }
        if options.noDelay {
            try setSocketOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1, "TCP_NODELAY")
        }
        return Endpoint(readFD: fd, writeFD: fd, isDatagram: false, rejected: rejected)
    }

    func close() {
        closeDescriptor(listener)
        listener = -1
    }
}
