import Glibc

/// AF_UNIX SOCK_SEQPACKET on a path in the run directory, set up and checked like unix-stream
/// (SO_PEERCRED both ways), but one send is one message and none is lost.
final class UnixSeqpacketTransport: UnixStreamTransport {
    override class var semantics: MessageSemantics { .reliableMessages }
    override class var socketType: Int32 { Int32(SOCK_SEQPACKET.rawValue) }
    override class var name: String { "unix-seqpacket" }
    override class func maxMessageBytes() -> Int? { Limits.shared.unixSeqpacketMax }

    override func endpoint(_ fd: Int32, _ peer: PeerCheck, rejected: UInt64) throws -> Endpoint {
        try setReceiveTimeout(fd, nanoseconds: untilDeadline(peer))
        return Endpoint(.packets(fd), Self.semantics, datagramKey: peer.secret.datagramKey, rejected: rejected)
    }
}
