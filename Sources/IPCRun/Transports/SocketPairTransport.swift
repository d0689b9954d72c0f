import Glibc
import IPCPlatform
import IPCModel

/// AF_UNIX SOCK_STREAM pair made by socketpair(2) before the fork: no path, no listen, no accept.
/// Each worker keeps one end. No other process can reach it (it has no name and only the two
/// workers hold its ends), so there is no peer to check.
package final class SocketPairTransport: Transport {
    package static let semantics = MessageSemantics.stream
    package static let knobs: [Knob] = [.sendBuffer, .receiveBuffer]
    private let options: TransportOptions
    private var sockets: [Int32] = [-1, -1]

    package init(_ options: TransportOptions) { self.options = options }

    package func prepare(in directory: String) throws {
        (sockets[0], sockets[1]) = try makeSocketPair(type: Int32(SOCK_STREAM.rawValue))
    }

    package func open(_ role: Role, _ peer: PeerCheck) throws -> Endpoint {
        let mine = Int(role.rawValue)
        closeDescriptor(sockets[1 - mine])
        var endpoint = Endpoint(.readWrite(read: sockets[mine], write: sockets[mine]), .stream)
        endpoint.knobsInForce = try applySocketKnobs(sockets[mine], options.knobs, taking: Self.knobs)
        return endpoint
    }

    package func close() {
        sockets.forEach(closeDescriptor)
        sockets = [-1, -1]
    }
}
