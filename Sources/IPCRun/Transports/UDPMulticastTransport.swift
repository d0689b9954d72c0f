import Glibc
import IPCPlatform
import IPCModel

/// udp-multicast: IP multicast on the loopback, the kernel's own one-to-many delivery. The sender's
/// socket (made by the runner: bound to 127.0.0.1, IP_MULTICAST_IF 127.0.0.1, IP_MULTICAST_LOOP on,
/// TTL 0 so that nothing leaves the host) is connected to a group in 239.0.0.0/8 chosen at random per
/// trial; each receiver makes its own socket in its worker, binds the group's address and port
/// (SO_REUSEADDR, so that every receiver of the group gets a copy) and joins the group on 127.0.0.1.
/// One send reaches every receiver. A group takes anyone's datagrams: what strangers sent before the
/// trial is drained and counted, and during it every datagram must carry the trial's key, else the
/// receiver drops and counts it (`peers_rejected`).
package final class UDPMulticastTransport: Transport {
    package static let semantics = MessageSemantics.lossyMessages
    package static let oneToMany = true
    package static let needsMulticastLoopback = true
    package static let knobs: [Knob] = [.sendBuffer, .receiveBuffer]
    package static func maxMessageBytes() -> Int? { Limits.shared.udpDatagramMax }
    private let options: TransportOptions
    private var sender: Int32 = -1
    /// Held by the runner so that no other socket takes the group's port on 127.0.0.1 meanwhile.
    private var portHolder: Int32 = -1
    private(set) var group = sockaddr_in()

    package init(_ options: TransportOptions) { self.options = options }

    package func prepare(in directory: String) throws {
        portHolder = try makeSocket(AF_INET, Int32(SOCK_DGRAM.rawValue))
        try Loopback.ipv4.bind(portHolder, port: 0)
        var low: UInt32 = 0
        try withUnsafeMutableBytes(of: &low) { try fillWithRandomBytes(UnsafeMutableRawBufferPointer(rebasing: $0[0..<3])) }
        group = multicastGroup(low, port: try boundPort(portHolder))
        sender = try makeMulticastSender()
        try connect(sender, group, "the group \(describe(group))")
    }

    package func open(_ role: Role, _ peer: PeerCheck) throws -> Endpoint {
        // Nothing here changes the transport: workers that are threads share it. The sender's socket
        // and the port holder stay open in the receivers until they exit.
        let fd: Int32
        var rejected: UInt64 = 0
        if role == .a {
            fd = sender
        } else {
            fd = try joinGroup(group)
            rejected = drainQueuedDatagrams(fd)
            try setReceiveTimeout(fd, nanoseconds: options.receiveTimeoutNs)
        }
        var endpoint = Endpoint(.sendReceive(fd), Self.semantics, datagramKey: peer.secret.datagramKey, rejected: rejected)
        endpoint.seal = peer.secret.macKey  // anyone in the group reads the key: a MAC authenticates instead
        endpoint.knobsInForce = try applySocketKnobs(fd, options.knobs, taking: Self.knobs)
        return endpoint
    }

    package func close() {
        closeDescriptor(sender)
        closeDescriptor(portHolder)
        sender = -1
        portHolder = -1
    }
}

/// 239.x.y.z (the low 24 bits of `low`) and `port`.
package func multicastGroup(_ low: UInt32, port: UInt16) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = (UInt32(239) << 24 | low & 0xff_ffff).bigEndian
    return address
}

package func describe(_ address: sockaddr_in) -> String {
    let a = UInt32(bigEndian: address.sin_addr.s_addr)
    return "\(a >> 24).\(a >> 16 & 255).\(a >> 8 & 255).\(a & 255):\(UInt16(bigEndian: address.sin_port))"
}

/// A UDP socket on 127.0.0.1 that sends multicast out of the loopback only: IP_MULTICAST_IF
/// 127.0.0.1, IP_MULTICAST_LOOP on (the receivers are on this host), TTL 0 (nothing leaves it).
package func makeMulticastSender() throws -> Int32 {
    let fd = try makeSocket(AF_INET, Int32(SOCK_DGRAM.rawValue))
    do {
        try Loopback.ipv4.bind(fd, port: 0)
        try setSocketOption(fd, Int32(IPPROTO_IP), IP_MULTICAST_IF, value: in_addr(s_addr: UInt32(0x7f00_0001).bigEndian),
                            "IP_MULTICAST_IF 127.0.0.1")
        try setSocketOption(fd, Int32(IPPROTO_IP), IP_MULTICAST_LOOP, 1, "IP_MULTICAST_LOOP 1")
        try setSocketOption(fd, Int32(IPPROTO_IP), IP_MULTICAST_TTL, 0, "IP_MULTICAST_TTL 0")
        return fd
    } catch {
        closeDescriptor(fd)
        throw error
    }
}

/// A receiving socket bound to `group` (shared with the group's other receivers), a member of it on
/// 127.0.0.1 and of no other group (IP_MULTICAST_ALL off).
package func joinGroup(_ group: sockaddr_in) throws -> Int32 {
    let fd = try makeSocket(AF_INET, Int32(SOCK_DGRAM.rawValue))
    do {
        try setSocketOption(fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR 1")
        try bind(fd, group, describe(group))
        let membership = ip_mreq(imr_multiaddr: group.sin_addr, imr_interface: in_addr(s_addr: UInt32(0x7f00_0001).bigEndian))
        try setSocketOption(fd, Int32(IPPROTO_IP), IP_ADD_MEMBERSHIP, value: membership, "IP_ADD_MEMBERSHIP \(describe(group)) on 127.0.0.1")
        try setSocketOption(fd, Int32(IPPROTO_IP), IP_MULTICAST_ALL, 0, "IP_MULTICAST_ALL 0")
        return fd
    } catch {
        closeDescriptor(fd)
        throw error
    }
}

/// A network namespace of a udp-multicast trial's own: the runner enters a new one (with `lo` up)
/// before it prepares the transport, forks the workers in it, and returns to its own; the namespace
/// goes when the last worker's socket closes. No process outside it can see, join or send to the
/// trial's groups. Entering takes CAP_SYS_ADMIN (root); where the kernel refuses, the trial runs in
/// the runner's namespace, where any local user can join the group and read the payload (the MACs
/// still refuse what they send).
package struct TrialNetworkNamespace {
    /// The runner's own namespace, to return to.
    private let original: Int32

    /// Set (to anything) in tests, to force the path without a namespace.
    package static let testSwitch = "IPCBENCH_TEST_NO_NETNS"

    /// Enters a new network namespace with `lo` up; nil where the kernel refuses it (or the test
    /// switch is set), leaving the runner where it was.
    package static func enter() throws -> TrialNetworkNamespace? {
        if environmentValue(testSwitch) != nil { return nil }
        let original = openNetworkNamespace()
        if original < 0 { return nil }
        if enterNewNetworkNamespace() != 0 {
            closeDescriptor(original)
            return nil  // EPERM without CAP_SYS_ADMIN, EINVAL without network namespaces
        }
        let namespace = TrialNetworkNamespace(original: original)
        let up = bringLoopbackUp()
        if up != 0 {
            try namespace.leave()
            throw SystemCallError("ioctl(SIOCSIFFLAGS lo up) in the trial's network namespace", code: -up)
        }
        return namespace
    }

    /// Returns the runner to its own namespace.
    package func leave() throws {
        defer { closeDescriptor(original) }
        let r = enterNetworkNamespace(original)
        if r != 0 { throw SystemCallError("setns(the runner's network namespace)", code: -r) }
    }
}
