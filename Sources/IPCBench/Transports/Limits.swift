import CShims
import Glibc

/// What this kernel allows, found by asking it (sending real datagrams), never assumed.
public struct Limits: Sendable {
    /// Largest UDP payload one send to 127.0.0.1 accepts.
    public let udpDatagramMax: Int
    /// Largest AF_UNIX datagram one send accepts with the default socket buffer.
    public let unixDatagramMax: Int
    /// A new pipe's capacity, and the most F_SETPIPE_SZ may ask for.
    public let pipeCapacity: Int
    public let pipeMaxSize: Int

    public static let shared = Limits()

    init() {
        udpDatagramMax = Limits.largestDatagram(domain: AF_INET)
        unixDatagramMax = Limits.largestDatagram(domain: AF_UNIX)
        var fds: [Int32] = [-1, -1]
        if cshim_pipe_cloexec(&fds) == 0 {
            pipeCapacity = Int(cshim_get_pipe_size(fds[0]))
            fds.forEach(closeDescriptor)
        } else {
            pipeCapacity = 0
        }
        pipeMaxSize = Int(readProcValue("/proc/sys/fs/pipe-max-size") ?? "") ?? 0
    }

    /// Binary search for the largest datagram a fresh socket sends without EMSGSIZE; 0 if none.
    static func largestDatagram(domain: Int32) -> Int {
        var fds: [Int32] = [-1, -1]
        defer { fds.forEach(closeDescriptor) }
        if domain == AF_UNIX {
            guard socketpair(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else { return 0 }
        } else {
            guard let fd = try? makeSocket(AF_INET, Int32(SOCK_DGRAM.rawValue)) else { return 0 }
            fds = [fd, -1]
            guard (try? bind(fd, loopbackAddress(port: 0), "probe")) != nil,
                  let port = try? boundPort(fd),
                  (try? connect(fd, loopbackAddress(port: port), "probe")) != nil else { return 0 }
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
