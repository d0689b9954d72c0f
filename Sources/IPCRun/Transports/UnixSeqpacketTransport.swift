import Glibc
import IPCPlatform
import IPCModel

/// AF_UNIX SOCK_SEQPACKET on a path in the run directory, set up and checked like unix-stream
/// (SO_PEERCRED both ways), but one send is one message and none is lost.
package final class UnixSeqpacketTransport: UnixStreamTransport {
    package override class var semantics: MessageSemantics { .reliableMessages }
    package override class var socketType: Int32 { Int32(SOCK_SEQPACKET.rawValue) }
    package override class var name: String { "unix-seqpacket" }
    package override class func maxMessageBytes() -> Int? { Limits.shared.unixSeqpacketMax }

    package override func endpoint(_ fd: Int32, _ peer: PeerCheck, rejected: UInt64) throws -> Endpoint {
        try setReceiveTimeout(fd, nanoseconds: untilDeadline(peer))
        return Endpoint(.packets(fd), Self.semantics, datagramKey: peer.secret.datagramKey, rejected: rejected)
    }
}
