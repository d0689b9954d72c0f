import Glibc
import IPCPlatform
import IPCModel

/// AF_UNIX SOCK_STREAM: the runner binds and listens on a path; b accepts, a connects. Each checks
/// the other end with SO_PEERCRED: b keeps only a connection made by worker a's pid, and a checks
/// that its connection leads to the listener the runner made. `unix-seqpacket` is the same with
/// SOCK_SEQPACKET.
package class UnixStreamTransport: Transport {
    package class var semantics: MessageSemantics { .stream }
    package class var socketType: Int32 { Int32(SOCK_STREAM.rawValue) }
    package class var name: String { "unix-stream" }
    package class func maxMessageBytes() -> Int? { nil }
    package class var knobs: [Knob] { [.sendBuffer, .receiveBuffer] }
    package let options: TransportOptions
    private var listener: Int32 = -1
    private(set) var path = ""

    package required init(_ options: TransportOptions) { self.options = options }

    package func prepare(in directory: String) throws {
        path = directory + "/\(Self.name).sock"
        listener = try makeSocket(AF_UNIX, Self.socketType)
        try bind(listener, unixAddress(path), path)
        try listen(listener, backlog: 1)
    }

    package func open(_ role: Role, _ peer: PeerCheck) throws -> Endpoint {
        let fd: Int32
        var rejected: UInt64 = 0
        switch role {
        case .a:
            closeDescriptor(listener)
            fd = try makeSocket(AF_UNIX, Self.socketType)
            try connect(fd, unixAddress(path), path)
            let listenerPid = peerProcessID(fd)
            guard listenerPid == peer.listenerPid else {
                closeDescriptor(fd)
                throw PeerCheckFailure(description: "\(path) leads to pid \(listenerPid), not to the runner (pid \(peer.listenerPid)): another process replaced the socket")
            }
        case .b:
            defer { closeDescriptor(listener) }
            let accepted = try acceptFromConnector(listener, peer, Self.name)
            fd = accepted.fd
            rejected = accepted.rejected
        }
        var endpoint = try endpoint(fd, peer, rejected: rejected)
        endpoint.knobsInForce = try applySocketKnobs(fd, options.knobs, taking: Self.knobs)
        return endpoint
    }

    package func endpoint(_ fd: Int32, _ peer: PeerCheck, rejected: UInt64) throws -> Endpoint {
        Endpoint(.readWrite(read: fd, write: fd), .stream, rejected: rejected)
    }

    package func close() {
        closeDescriptor(listener)
        listener = -1
        if !path.isEmpty { removeFile(path) }
    }
}
