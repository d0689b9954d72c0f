import Glibc
import CShims

// Sockets as the transports set them up: made, bound, connected, accepted; their options; the
// address of a path or of the loopback.

/// A new socket, close-on-exec.
package func makeSocket(_ domain: Int32, _ type: Int32) throws -> Int32 {
    try check("socket") { socket(domain, type | Int32(SOCK_CLOEXEC.rawValue), 0) }
}

/// Two connected AF_UNIX sockets of `type`, close-on-exec.
package func makeSocketPair(type: Int32) throws -> (Int32, Int32) {
    var fds: [Int32] = [-1, -1]
    try check("socketpair") { cshim_socketpair_cloexec(type, &fds) }
    return (fds[0], fds[1])
}

/// The address of an AF_UNIX socket at `path`; throws when the path is too long for one.
package func unixAddress(_ path: String) throws -> sockaddr_un {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    let capacity = MemoryLayout.size(ofValue: address.sun_path)
    guard bytes.count < capacity else {
        throw SystemCallError("socket path \(path) is longer than \(capacity - 1) bytes; set TMPDIR to a shorter directory", code: ENAMETOOLONG)
    }
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        raw.copyBytes(from: bytes)
        raw[bytes.count] = 0
    }
    return address
}

/// 127.0.0.1 at `port`.
package func loopbackAddress(port: UInt16) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
    return address
}

package func bind<Address>(_ fd: Int32, _ address: Address, _ what: String) throws {
    var a = address
    try check("bind(\(what))") {
        withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<Address>.size)) }
        }
    }
}

package func connect<Address>(_ fd: Int32, _ address: Address, _ what: String) throws {
    var a = address
    try check("connect(\(what))") {
        withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<Address>.size)) }
        }
    }
}

/// Makes a bound stream socket listen, with room for `backlog` connections not yet accepted.
package func listen(_ fd: Int32, backlog: Int) throws {
    try check("listen") { Glibc.listen(fd, Int32(backlog)) }
}

/// The next connection waiting on a listening socket (close-on-exec), or -errno.
package func acceptConnection(_ fd: Int32) -> Int32 {
    Int32(retryingInterrupts { Int(cshim_accept_cloexec(fd)) })
}

/// The port the kernel gave a socket bound to port 0 (IPv4 or IPv6: the port is at the same place).
package func boundPort(_ fd: Int32) throws -> UInt16 {
    var address = sockaddr_in6()
    var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
    try check("getsockname") {
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.getsockname(fd, $0, &length) }
        }
    }
    return UInt16(bigEndian: address.sin6_port)
}

/// The pid of the process at the other end of a connected AF_UNIX socket (SO_PEERCRED), or -1.
package func peerProcessID(_ fd: Int32) -> pid_t { cshim_peer_pid(fd) }

/// A socket option's value, read as a `Value`; throws naming `what` (ENOTSOCK when `fd` is no socket).
package func socketOption<Value>(_ fd: Int32, _ level: Int32, _ name: Int32, as: Value.Type, _ what: String) throws -> Value {
    let value = UnsafeMutablePointer<Value>.allocate(capacity: 1)
    defer { value.deallocate() }
    var length = socklen_t(MemoryLayout<Value>.size)
    try check("getsockopt(\(what))") { getsockopt(fd, level, name, value, &length) }
    return value.pointee
}

/// True when `fd` is a socket.
package func isSocket(_ fd: Int32) -> Bool { (try? socketOption(fd, SOL_SOCKET, SO_TYPE, as: Int32.self, "SO_TYPE")) != nil }

/// Sets a socket option of any type; throws naming `what`.
package func setSocketOption<Value>(_ fd: Int32, _ level: Int32, _ name: Int32, value: Value, _ what: String) throws {
    try check("setsockopt(\(what))") {
        withUnsafeBytes(of: value) { setsockopt(fd, level, name, $0.baseAddress, socklen_t($0.count)) }
    }
}

/// One send that does not wait (MSG_DONTWAIT): the bytes taken, or -errno (-EAGAIN when none).
@inlinable @inline(__always)
package func sendWithoutWaiting(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    retryingInterrupts { send(fd, buffer, count, Int32(MSG_DONTWAIT)) }
}

/// One recv that does not wait (MSG_DONTWAIT): its length, 0 at the end of a stream, or -errno.
@inlinable @inline(__always)
package func receiveWithoutWaiting(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ capacity: Int) -> Int {
    retryingInterrupts { recv(fd, buffer, capacity, Int32(MSG_DONTWAIT)) }
}
