import CShims
import Glibc

/// What this kernel allows, found by asking it (sending real datagrams), never assumed.
public struct Limits: Sendable {
    /// Largest UDP payload one send to 127.0.0.1 accepts.
    public internal(set) var udpDatagramMax: Int
    /// Largest UDP payload one send to ::1 accepts; 0 without an IPv6 loopback.
    public internal(set) var udp6DatagramMax: Int
    /// Largest AF_UNIX datagram one send accepts with the default socket buffer.
    public internal(set) var unixDatagramMax: Int
    /// Largest AF_UNIX SOCK_SEQPACKET message one send accepts with the default socket buffer.
    public internal(set) var unixSeqpacketMax: Int
    /// A new pipe's capacity, and the most F_SETPIPE_SZ may ask for.
    public internal(set) var pipeCapacity: Int
    public internal(set) var pipeMaxSize: Int
    /// socket(AF_INET6) and bind(::1) work: tcp6 and udp6 can run.
    public internal(set) var ipv6Loopback: Bool
    /// POSIX message queues: the largest message (fs.mqueue.msgsize_max) and the most messages
    /// one queue may hold (fs.mqueue.msg_max) for a user without CAP_SYS_RESOURCE; 0 if unknown.
    public internal(set) var mqMessageMax: Int
    public internal(set) var mqQueueMax: Int
    /// The mq transport's queue depth: fs.mqueue.msg_max, at most 10 (the kernel's default), so
    /// that two queues stay within the default RLIMIT_MSGQUEUE whatever the sysctl says.
    public var mqQueueDepth: Int { max(1, min(10, mqQueueMax)) }

    public static let shared = Limits()

    init() {
        ipv6Loopback = Limits.hasIPv6Loopback()
        udpDatagramMax = Limits.largestDatagram(domain: AF_INET)
        udp6DatagramMax = ipv6Loopback ? Limits.largestDatagram(domain: AF_INET6) : 0
        unixDatagramMax = Limits.largestDatagram(domain: AF_UNIX)
        unixSeqpacketMax = Limits.largestDatagram(domain: AF_UNIX, type: Int32(SOCK_SEQPACKET.rawValue))
        var fds: [Int32] = [-1, -1]
        if cshim_pipe_cloexec(&fds) == 0 {
            pipeCapacity = Int(cshim_get_pipe_size(fds[0]))
            fds.forEach(closeDescriptor)
        } else {
            pipeCapacity = 0
        }
        pipeMaxSize = Int(readProcValue("/proc/sys/fs/pipe-max-size") ?? "") ?? 0
        mqMessageMax = Int(readProcValue("/proc/sys/fs/mqueue/msgsize_max") ?? "") ?? 0
        mqQueueMax = Int(readProcValue("/proc/sys/fs/mqueue/msg_max") ?? "") ?? 0
    }

    /// True when a UDP socket can be bound to ::1 (no IPv6, or IPv6 disabled on lo, fails).
    static func hasIPv6Loopback() -> Bool {
        guard let fd = try? makeSocket(AF_INET6, Int32(SOCK_DGRAM.rawValue)) else { return false }
        defer { closeDescriptor(fd) }
        return (try? Loopback.ipv6.bind(fd, port: 0)) != nil
    }

    /// Binary search for the largest message a fresh socket sends without EMSGSIZE; 0 if none.
    static func largestDatagram(domain: Int32, type: Int32 = Int32(SOCK_DGRAM.rawValue)) -> Int {
        var fds: [Int32] = [-1, -1]
        defer { fds.forEach(closeDescriptor) }
        if domain == AF_UNIX {
            guard cshim_socketpair_cloexec(type, &fds) == 0 else { return 0 }
        } else {
            let loopback: Loopback = domain == AF_INET ? .ipv4 : .ipv6
            guard let fd = try? makeSocket(domain, type) else { return 0 }
            fds = [fd, -1]
            guard (try? loopback.bind(fd, port: 0)) != nil,
                  let port = try? boundPort(fd),
                  (try? loopback.connect(fd, port: port)) != nil else { return 0 }
        }
        let sender = fds[0], receiver = fds[1] >= 0 ? fds[1] : fds[0]
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var low = 0, high = 1 << 20  // low always sends; high never does
        while high - low > 1 {
            let mid = (low + high) / 2
            if Glibc.send(sender, buffer, mid, Int32(MSG_DONTWAIT)) == mid {
                low = mid
                _ = Glibc.recv(receiver, buffer, 1 << 20, Int32(MSG_DONTWAIT))
            } else {
                high = mid
            }
        }
        return low
    }
}

func readProcValue(_ path: String) -> String? {
    guard let file = fopen(path, "r") else { return nil }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 4096)
    guard fgets(&line, Int32(line.count), file) != nil else { return nil }
    return String(cString: line).trimmingWhitespace()
}

extension String {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}
