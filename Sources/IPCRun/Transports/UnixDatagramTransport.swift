import Glibc
import IPCPlatform
import IPCModel

/// AF_UNIX SOCK_DGRAM: one socket per worker bound to its own path, each connected to the other's.
/// Once connected, the kernel refuses datagrams from any socket but the peer; what was queued
/// before is drained and counted, and every datagram carries the trial's key as well.
package final class UnixDatagramTransport: Transport {
    package static let semantics = MessageSemantics.reliableMessages
    package static func maxMessageBytes() -> Int? { Limits.shared.unixDatagramMax }
    package static let knobs: [Knob] = [.sendBuffer, .receiveBuffer]
    private let options: TransportOptions
    private var sockets: [Int32] = [-1, -1]
    private(set) var paths = ["", ""]

    package init(_ options: TransportOptions) { self.options = options }

    package func prepare(in directory: String) throws {
        paths = [directory + "/unix-dgram-a.sock", directory + "/unix-dgram-b.sock"]
        for i in 0..<2 {
            sockets[i] = try makeSocket(AF_UNIX, Int32(SOCK_DGRAM.rawValue))
            try bind(sockets[i], unixAddress(paths[i]), paths[i])
        }
    }

    package func open(_ role: Role, _ peer: PeerCheck) throws -> Endpoint {
        let mine = Int(role.rawValue), other = 1 - mine
        closeDescriptor(sockets[other])
        try connect(sockets[mine], unixAddress(paths[other]), paths[other])
        let rejected = drainQueuedDatagrams(sockets[mine])
        try setReceiveTimeout(sockets[mine], nanoseconds: untilDeadline(peer))
        var endpoint = Endpoint(.sendReceive(sockets[mine]), Self.semantics,
                                datagramKey: peer.secret.datagramKey, rejected: rejected)
        endpoint.knobsInForce = try applySocketKnobs(sockets[mine], options.knobs, taking: Self.knobs)
        return endpoint
    }

    package func close() {
        sockets.forEach(closeDescriptor)
        sockets = [-1, -1]
        for path in paths where !path.isEmpty { removeFile(path) }
    }
}
