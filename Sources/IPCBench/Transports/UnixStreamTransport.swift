import CShims
import Glibc

/// AF_UNIX SOCK_STREAM: the runner binds and listens on a path; b accepts, a connects. Each checks
/// the other end with SO_PEERCRED: b keeps only a connection made by worker a's pid, and a checks
/// that its connection leads to the listener the runner made.
final class UnixStreamTransport: Transport {
    let kind = TransportKind.unixStream
    private var listener: Int32 = -1
    private(set) var path = ""

    func prepare(in directory: String) throws {
        path = directory + "/unix-stream.sock"
        listener = try makeSocket(AF_UNIX, Int32(SOCK_STREAM.rawValue))
        try bind(listener, unixAddress(path), path)
        try check("listen") { Glibc.listen(listener, 1) }
    }

    func open(_ role: Role, _ peer: PeerCheck) throws -> Endpoint {
        let fd: Int32
        var rejected: UInt64 = 0
        switch role {
        case .a:
            closeDescriptor(listener)
            fd = try makeSocket(AF_UNIX, Int32(SOCK_STREAM.rawValue))
            try connect(fd, unixAddress(path), path)
            let listenerPid = cshim_peer_pid(fd)
            guard listenerPid == peer.listenerPid else {
                closeDescriptor(fd)
                throw PeerCheckFailure(description: "\(path) leads to pid \(listenerPid), not to the runner (pid \(peer.listenerPid)): another process replaced the socket")
            }
        case .b:
            defer { closeDescriptor(listener) }
            let accepted = try acceptFromConnector(listener, peer)
            fd = accepted.fd
            rejected = accepted.rejected
        }
        return Endpoint(readFD: fd, writeFD: fd, isDatagram: false, rejected: rejected)
    }

    func close() {
        closeDescriptor(listener)
        listener = -1
        if !path.isEmpty { _ = unlink(path) }
    }
}
