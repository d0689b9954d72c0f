import Glibc

/// Which of the two workers: `a` sends (throughput) or asks (latency); `b` receives or echoes.
public enum Role: Int32, Sendable {
    case a = 0
    case b = 1
}

/// One worker's side of a connection: where it reads and where it writes (the same fd for sockets).
public struct Endpoint: Sendable {
    public let readFD: Int32
    public let writeFD: Int32
    public let isDatagram: Bool
    /// True where the kernel may drop a datagram (UDP); AF_UNIX datagrams block instead.
    public let losesDatagrams: Bool
    /// The trial's 64-bit key, first in every datagram's header; 0 for byte streams.
    public let datagramKey: UInt64
    /// Connections and datagrams from strangers that `open` refused while setting up.
    public let rejected: UInt64

    public init(readFD: Int32, writeFD: Int32, isDatagram: Bool, losesDatagrams: Bool = false,
                datagramKey: UInt64 = 0, rejected: UInt64 = 0) {
        self.readFD = readFD
        self.writeFD = writeFD
        self.isDatagram = isDatagram
        self.losesDatagrams = losesDatagrams
        self.datagramKey = datagramKey
        self.rejected = rejected
    }

    public func close() {
        closeDescriptor(readFD)
        if writeFD != readFD { closeDescriptor(writeFD) }
    }
}

/// Per-case choices a transport applies when it makes its endpoints.
public struct TransportOptions: Sendable, Equatable {
    /// TCP_NODELAY, on for latency so Nagle does not hold back small messages.
    public var noDelay = false
    /// How long a datagram receiver waits for the next message before it gives up.
    public var receiveTimeoutNs: UInt64 = 1_000_000_000

    public init(noDelay: Bool = false, receiveTimeoutNs: UInt64 = 1_000_000_000) {
        self.noDelay = noDelay
        self.receiveTimeoutNs = receiveTimeoutNs
    }
}

/// Makes connected endpoints for two workers. The runner calls `prepare` before it forks, each
/// worker calls `open` for its own role after the fork, and the runner calls `close` after reaping.
public protocol Transport: AnyObject {
    var kind: TransportKind { get }
    /// In the runner: make what both workers share (pipes, FIFOs, bound sockets) inside `directory`.
    func prepare(in directory: String) throws
    /// In a worker: the endpoint for `role`, its peer authenticated with `peer`; closes everything
    /// that belongs to the other role.
    func open(_ role: Role, _ peer: PeerCheck) throws -> Endpoint
    /// In the runner: close what `prepare` made and remove its files.
    func close()
}

/// The six transports, by the names users type.
public enum TransportKind: String, CaseIterable, Sendable {
    case pipe
    case fifo
    case unixStream = "unix-stream"
    case unixDgram = "unix-dgram"
    case tcp
    case udp

    public var isDatagram: Bool { self == .unixDgram || self == .udp }

    public func make(_ options: TransportOptions) -> Transport {
        switch self {
        case .pipe: return PipeTransport()
        case .fifo: return FIFOTransport()
        case .unixStream: return UnixStreamTransport()
        case .unixDgram: return UnixDatagramTransport(options)
        case .tcp: return TCPTransport(options)
        case .udp: return UDPTransport(options)
        }
    }

    /// The largest payload one message can carry on this kernel, or nil for a byte stream.
    public func maxPayloadBytes() -> Int? {
        switch self {
        case .unixDgram: return Limits.shared.unixDatagramMax
        case .udp: return Limits.shared.udpDatagramMax
        default: return nil
        }
    }
}

// MARK: - Socket helpers shared by the socket transports

func makeSocket(_ domain: Int32, _ type: Int32) throws -> Int32 {
    try check("socket") { Glibc.socket(domain, type | Int32(SOCK_CLOEXEC.rawValue), 0) }
}

func unixAddress(_ path: String) throws -> sockaddr_un {
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

func loopbackAddress(port: UInt16) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
    return address
}

func bind<Address>(_ fd: Int32, _ address: Address, _ what: String) throws {
    var a = address
    try check("bind(\(what))") {
        withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(fd, $0, socklen_t(MemoryLayout<Address>.size))
            }
        }
    }
}

func connect<Address>(_ fd: Int32, _ address: Address, _ what: String) throws {
    var a = address
    try check("connect(\(what))") {
        withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<Address>.size))
            }
        }
    }
}

/// The port the kernel gave a socket bound to port 0.
func boundPort(_ fd: Int32) throws -> UInt16 {
    var address = sockaddr_in()
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    try check("getsockname") {
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.getsockname(fd, $0, &length) }
        }
    }
    return UInt16(bigEndian: address.sin_port)
}
