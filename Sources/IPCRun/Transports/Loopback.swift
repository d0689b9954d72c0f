import Glibc
import IPCPlatform
import IPCModel

/// The loopback address the tcp and udp transports use: 127.0.0.1, or ::1 for tcp6 and udp6.
package enum Loopback {
    case ipv4
    case ipv6

    package var domain: Int32 { self == .ipv4 ? AF_INET : AF_INET6 }
    package var name: String { self == .ipv4 ? "127.0.0.1" : "::1" }

    package func bind(_ fd: Int32, port: UInt16) throws {
        switch self {
        case .ipv4: try IPCPlatform.bind(fd, loopbackAddress(port: port), "\(name):\(port)")
        case .ipv6: try IPCPlatform.bind(fd, loopback6Address(port: port), "[\(name)]:\(port)")
        }
    }

    package func connect(_ fd: Int32, port: UInt16) throws {
        switch self {
        case .ipv4: try IPCPlatform.connect(fd, loopbackAddress(port: port), "\(name):\(port)")
        case .ipv6: try IPCPlatform.connect(fd, loopback6Address(port: port), "[\(name)]:\(port)")
        }
    }
}

package func loopback6Address(port: UInt16) -> sockaddr_in6 {
    var address = sockaddr_in6()
    address.sin6_family = sa_family_t(AF_INET6)
    address.sin6_port = port.bigEndian
    withUnsafeMutableBytes(of: &address.sin6_addr) { $0[15] = 1 }  // ::1
    return address
}
