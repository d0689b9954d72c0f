import Glibc

/// AF_INET SOCK_STREAM on 127.0.0.1: the runner listens on an ephemeral port; b accepts, a connects.
final class TCPTransport: Transport {
    let kind = TransportKind.tcp
    private let options: TransportOptions
    private var listener: Int32 = -1
    private var port: UInt16 = 0

    init(_ options: TransportOptions) { self.options = options }

    func prepare(in directory: String) throws {
        listener = try makeSocket(AF_INET, Int32(SOCK_STREAM.rawValue))
        try bind(listener, loopbackAddress(port: 0), "127.0.0.1:0")
        try check("listen") { Glibc.listen(listener, 1) }
        port = try boundPort(listener)
    }

    func open(_ role: Role) throws -> Endpoint {
        let fd: Int32
        switch role {
        case .a:
            closeDescriptor(listener)
            fd = try makeSocket(AF_INET, Int32(SOCK_STREAM.rawValue))
            try connect(fd, loopbackAddress(port: port), "127.0.0.1:\(port)")
        case .b:
            fd = try accept(listener)
            closeDescriptor(listener)
        }
        if options.noDelay {
            try setSocketOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1, "TCP_NODELAY")
        }
        return Endpoint(readFD: fd, writeFD: fd, isDatagram: false)
    }

    func close() {
        closeDescriptor(listener)
        listener = -1
    }
}
