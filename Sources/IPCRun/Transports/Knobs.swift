import Glibc
import IPCPlatform
import IPCModel

/// Pipes: sets the asked-for size on every pipe `fds` lead to and reads back the size in force.
package func applyPipeKnobs(_ fds: [Int32], _ wanted: TransportKnobs) throws -> TransportKnobs {
    var inForce = TransportKnobs()
    guard let size = wanted[.pipeSize] else { return inForce }
    for fd in fds where fd >= 0 {
        let set = setPipeSize(fd, size)
        if set == -Int(EPERM) {
            throw SystemCallError("fcntl(F_SETPIPE_SZ, \(size)) above fs.pipe-max-size (\(Limits.shared.pipeMaxSize) bytes) needs CAP_SYS_RESOURCE or a larger sysctl fs.pipe-max-size", code: EPERM)
        }
        if set < 0 { throw SystemCallError("fcntl(F_SETPIPE_SZ, \(size))", code: Int32(-set)) }
    }
    inForce[.pipeSize] = Int(try check("fcntl(F_GETPIPE_SZ)") { pipeSize(fds[0]) })
    return inForce
}

/// Sockets: sets every asked-for knob that the transport takes (`taking`) and that is a socket
/// option (`Knob.socketOption`) on `fd`, and reads back what is in force.
package func applySocketKnobs(_ fd: Int32, _ wanted: TransportKnobs, taking: [Knob]) throws -> TransportKnobs {
    var inForce = TransportKnobs()
    for knob in wanted.present where taking.contains(knob) {
        guard let option = knob.socketOption, let value = wanted[knob] else { continue }
        try setSocketOption(fd, option.level, option.name, Int32(clamping: value), "\(option.call) \(value)")
        inForce[knob] = Int(try socketOption(fd, option.level, option.name, as: Int32.self, option.call))
    }
    return inForce
}

extension Knob {
    /// The socket option that sets it (level, name), applied with setsockopt and read back with
    /// getsockopt; nil for a pipe's knob.
    package var socketOption: (level: Int32, name: Int32, call: String)? {
        switch self {
        case .pipeSize: return nil
        case .sendBuffer: return (SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF")
        case .receiveBuffer: return (SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF")
        case .busyPoll: return (SOL_SOCKET, SO_BUSY_POLL, "SO_BUSY_POLL")
        case .notSentLowat: return (Int32(IPPROTO_TCP), TCP_NOTSENT_LOWAT, "TCP_NOTSENT_LOWAT")
        }
    }
}
