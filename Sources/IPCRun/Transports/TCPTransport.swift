import Glibc
import IPCPlatform
import IPCModel

/// AF_INET SOCK_STREAM on 127.0.0.1 (`tcp6`: AF_INET6 on ::1): the runner listens on an ephemeral
/// port; b accepts, a connects and sends the trial's secret first. Any local user can connect to
/// the port, so b keeps only the connection that presents the secret.
package class TCPTransport: Transport {
    package static let semantics = MessageSemantics.stream
    package class var loopback: Loopback { .ipv4 }
    package class var needsIPv6: Bool { loopback == .ipv6 }
    package static let knobs: [Knob] = [.sendBuffer, .receiveBuffer, .busyPoll, .notSentLowat]
    private let options: TransportOptions
    private var listener: Int32 = -1
    private(set) var port: UInt16 = 0

    package required init(_ options: TransportOptions) { self.options = options }

    package func prepare(in directory: String) throws {
        let loopback = Self.loopback
        listener = try makeSocket(loopback.domain, Int32(SOCK_STREAM.rawValue))
        try loopback.bind(listener, port: 0)
        // Buffer sizes before listen() and connect(): TCP picks its window scale from them then,
        // and an accepted socket inherits the listener's.
        _ = try applySocketKnobs(listener, options.knobs, taking: Self.knobs)
        // Room for a few strangers' connections ahead of the peer's.
        try listen(listener, backlog: maxPendingConnections)
        port = try boundPort(listener)
    }

    package func open(_ role: Role, _ peer: PeerCheck) throws -> Endpoint {
        let fd: Int32
        var rejected: UInt64 = 0
        switch role {
        case .a:
            closeDescriptor(listener)
            fd = try makeSocket(Self.loopback.domain, Int32(SOCK_STREAM.rawValue))
            _ = try applySocketKnobs(fd, options.knobs, taking: Self.knobs)
            try Self.loopback.connect(fd, port: port)
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
        var endpoint = Endpoint(.readWrite(read: fd, write: fd), .stream, rejected: rejected)
        endpoint.knobsInForce = try applySocketKnobs(fd, options.knobs, taking: Self.knobs)
        return endpoint
    }

    package func close() {
        closeDescriptor(listener)
        listener = -1
    }
}

/// `tcp6`: TCP on ::1, set up and checked exactly like `tcp`.
package final class TCP6Transport: TCPTransport {
    package override class var loopback: Loopback { .ipv6 }
}
