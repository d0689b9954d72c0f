import CShims
import Glibc

/// A kernel setting a case may change beyond the transport's defaults, by the name users type.
public enum Knob: String, CaseIterable, Sendable {
    /// F_SETPIPE_SZ on the pipes (pipe, fifo, vmsplice).
    case pipeSize = "pipe_size"
    /// SO_SNDBUF and SO_RCVBUF on the sockets.
    case sendBuffer = "sndbuf"
    case receiveBuffer = "rcvbuf"
    /// SO_BUSY_POLL on the tcp and udp sockets: how long a blocking receive polls the device queue
    /// before it sleeps, in µs (loopback has no device queue to poll: it shows the cost of asking).
    case busyPoll = "busy_poll"
}

/// Values for the knobs: what a case asks for (in `TransportOptions`), or what the kernel put in
/// force (in `Endpoint`, read back with F_GETPIPE_SZ or getsockopt). nil leaves the default.
public struct TransportKnobs: Sendable, Equatable {
    /// Bytes; the kernel rounds a pipe up to a power-of-two number of pages.
    public var pipeSize: Int?
    /// Bytes; Linux doubles what it is given, for its bookkeeping, and caps it at
    /// net.core.wmem_max / rmem_max.
    public var sendBuffer: Int?
    public var receiveBuffer: Int?
    /// Microseconds; above net.core.busy_read only with CAP_NET_ADMIN.
    public var busyPollMicroseconds: Int?

    public init(pipeSize: Int? = nil, sendBuffer: Int? = nil, receiveBuffer: Int? = nil, busyPollMicroseconds: Int? = nil) {
        self.pipeSize = pipeSize
        self.sendBuffer = sendBuffer
        self.receiveBuffer = receiveBuffer
        self.busyPollMicroseconds = busyPollMicroseconds
    }

    /// The knobs that have a value, with it: `pipe_size=1048576 sndbuf=262144`.
    public var label: String {
        let pairs: [(Knob, Int?)] = [(.pipeSize, pipeSize), (.sendBuffer, sendBuffer),
                                     (.receiveBuffer, receiveBuffer), (.busyPoll, busyPollMicroseconds)]
        return pairs.compactMap { knob, value in value.map { "\(knob.rawValue)=\($0)" } }.joined(separator: " ")
    }
}

/// Pipes: sets the asked-for size on every pipe `fds` lead to and reads back the size in force.
func applyPipeKnobs(_ fds: [Int32], _ wanted: TransportKnobs) throws -> TransportKnobs {
    var inForce = TransportKnobs()
    guard let size = wanted.pipeSize else { return inForce }
    for fd in fds where fd >= 0 {
        let set = retryingInterrupts { Int(cshim_set_pipe_size(fd, Int32(clamping: size))) }
        if set == -Int(EPERM) {
            throw SystemCallError("fcntl(F_SETPIPE_SZ, \(size)) above fs.pipe-max-size (\(Limits.shared.pipeMaxSize) bytes) needs CAP_SYS_RESOURCE or a larger sysctl fs.pipe-max-size", code: EPERM)
        }
        if set < 0 { throw SystemCallError("fcntl(F_SETPIPE_SZ, \(size))", code: Int32(-set)) }
    }
    inForce.pipeSize = Int(try check("fcntl(F_GETPIPE_SZ)") { cshim_get_pipe_size(fds[0]) })
    return inForce
}

/// Sockets: sets the asked-for buffer sizes (and busy polling where `busyPoll`: tcp and udp) on
/// `fd` and reads back what is in force.
func applySocketKnobs(_ fd: Int32, _ wanted: TransportKnobs, busyPoll: Bool = false) throws -> TransportKnobs {
    var inForce = TransportKnobs()
    if let bytes = wanted.sendBuffer {
        try setSocketOption(fd, SOL_SOCKET, SO_SNDBUF, Int32(clamping: bytes), "SO_SNDBUF \(bytes)")
        inForce.sendBuffer = try socketOption(fd, SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF")
    }
    if let bytes = wanted.receiveBuffer {
        try setSocketOption(fd, SOL_SOCKET, SO_RCVBUF, Int32(clamping: bytes), "SO_RCVBUF \(bytes)")
        inForce.receiveBuffer = try socketOption(fd, SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF")
    }
    if busyPoll, let microseconds = wanted.busyPollMicroseconds {
        try setSocketOption(fd, SOL_SOCKET, SO_BUSY_POLL, Int32(clamping: microseconds), "SO_BUSY_POLL \(microseconds)")
        inForce.busyPollMicroseconds = try socketOption(fd, SOL_SOCKET, SO_BUSY_POLL, "SO_BUSY_POLL")
    }
    return inForce
}

func socketOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ what: String) throws -> Int {
    var value: Int32 = 0
    var length = socklen_t(MemoryLayout<Int32>.size)
    try check("getsockopt(\(what))") { Glibc.getsockopt(fd, level, name, &value, &length) }
    return Int(value)
}
