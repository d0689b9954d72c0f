import Glibc
import IPCPlatform
import IPCModel

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
    /// A datagram sent to a 239.0.0.0/8 group out of 127.0.0.1 with TTL 0 arrives at a socket that
    /// joined the group on 127.0.0.1: udp-multicast can run (tried, not read from lo's flags or routes).
    public internal(set) var multicastLoopback: Bool
    /// POSIX message queues: the largest message (fs.mqueue.msgsize_max) and the most messages
    /// one queue may hold (fs.mqueue.msg_max) for a user without CAP_SYS_RESOURCE; 0 if unknown.
    public internal(set) var mqMessageMax: Int
    public internal(set) var mqQueueMax: Int
    /// The mq transport's queue depth: fs.mqueue.msg_max, at most 10 (the kernel's default), so
    /// that two queues stay within the default RLIMIT_MSGQUEUE whatever the sysctl says.
    public var mqQueueDepth: Int { max(1, min(10, mqQueueMax)) }

    /// Why this kernel refuses io_uring (`--wait uring`), found by making a ring at start-up; nil
    /// where it makes one.
    public internal(set) var ioUringRefusal: String?

    /// Probes that failed (a call this process could not make, such as socket() under EMFILE), by
    /// the transport whose limit they were for: its cases fail with this message rather than read 0.
    public internal(set) var failedProbes: [TransportKind: String] = [:]

    public static let shared = Limits()

    package init() {
        var failed: [TransportKind: String] = [:]
        func probe<T>(_ what: String, for kinds: [TransportKind], _ fallback: T, _ body: () throws -> T) -> T {
            do { return try body() } catch {
                for kind in kinds where failed[kind] == nil { failed[kind] = "probing this kernel's \(what) failed: \(error)" }
                return fallback
            }
        }
        ipv6Loopback = probe("IPv6 loopback", for: [.tcp6, .udp6], false) { try Limits.hasIPv6Loopback() }
        multicastLoopback = probe("IP multicast on the loopback", for: [.udpMulticast], false) { try Limits.multicastDelivers() }
        udpDatagramMax = probe("udp message limit", for: [.udp], 0) { try Limits.largestDatagram(domain: AF_INET) }
        udp6DatagramMax = ipv6Loopback ? probe("udp6 message limit", for: [.udp6], 0) { try Limits.largestDatagram(domain: AF_INET6) } : 0
        unixDatagramMax = probe("unix-dgram message limit", for: [.unixDgram], 0) { try Limits.largestDatagram(domain: AF_UNIX) }
        unixSeqpacketMax = probe("unix-seqpacket message limit", for: [.unixSeqpacket], 0) {
            try Limits.largestDatagram(domain: AF_UNIX, type: Int32(SOCK_SEQPACKET.rawValue))
        }
        if let pipe = try? makePipe() {
            pipeCapacity = Int(pipeSize(pipe.read))
            closeDescriptor(pipe.read)
            closeDescriptor(pipe.write)
        } else {
            pipeCapacity = 0
        }
        pipeMaxSize = Int(readProcValue("/proc/sys/fs/pipe-max-size") ?? "") ?? 0
        mqMessageMax = probe("mq message limit", for: [.mq], 0) { try Limits.procNumber("/proc/sys/fs/mqueue/msgsize_max") }
        mqQueueMax = probe("mq queue depth", for: [.mq], 0) { try Limits.procNumber("/proc/sys/fs/mqueue/msg_max") }
        failedProbes = failed
        ioUringRefusal = Limits.ioUringRefusal()
    }

    /// nil when a ring can be made; else why not, with the sysctl that says so where it does.
    /// `IPCBENCH_TEST_NO_IO_URING=1` in the environment plays a kernel that refuses one (tests).
    package static func ioUringRefusal() -> String? {
        let disabled = readProcValue("/proc/sys/kernel/io_uring_disabled").map { " (kernel.io_uring_disabled = \($0))" } ?? ""
        if environmentValue("IPCBENCH_TEST_NO_IO_URING") == "1" {
            return "this kernel refuses io_uring: io_uring_setup: \(errorText(EPERM))\(disabled) (IPCBENCH_TEST_NO_IO_URING)"
        }
        let failure = ringSetupError()
        return failure == 0 ? nil : "this kernel refuses io_uring: io_uring_setup: \(errorText(failure))\(disabled)"
    }

    /// True when a UDP socket can be bound to ::1; false without IPv6 (EAFNOSUPPORT) or with it
    /// disabled on lo (EADDRNOTAVAIL). Any other failure is thrown: it says nothing about IPv6.
    package static func hasIPv6Loopback() throws -> Bool {
        let fd: Int32
        do {
            fd = try makeSocket(AF_INET6, Int32(SOCK_DGRAM.rawValue))
        } catch let error as SystemCallError where error.code == EAFNOSUPPORT {
            return false
        }
        defer { closeDescriptor(fd) }
        do {
            try Loopback.ipv6.bind(fd, port: 0)
        } catch let error as SystemCallError where error.code == EADDRNOTAVAIL {
            return false
        }
        return true
    }

    /// Sends one datagram to a random group in 239.0.0.0/8 through a sender set up as udp-multicast's
    /// and waits up to a second for it at a member of the group. False when it does not come (or the
    /// kernel refuses to join); other failures are thrown. It tries in a network namespace of its
    /// own where the trials get one, so no stranger sees its group or answers in its place.
    package static func multicastDelivers() throws -> Bool {
        let namespace = try TrialNetworkNamespace.enter()
        let delivers: Bool
        do {
            delivers = try multicastDeliversHere()
        } catch {
            try namespace?.leave()
            throw error
        }
        try namespace?.leave()
        return delivers
    }

    private static func multicastDeliversHere() throws -> Bool {
        var low: UInt32 = 0
        try withUnsafeMutableBytes(of: &low) { try fillWithRandomBytes(UnsafeMutableRawBufferPointer(rebasing: $0[0..<3])) }
        let sender = try makeMulticastSender()
        defer { closeDescriptor(sender) }
        let holder = try makeSocket(AF_INET, Int32(SOCK_DGRAM.rawValue))
        defer { closeDescriptor(holder) }
        try Loopback.ipv4.bind(holder, port: 0)
        let group = multicastGroup(low, port: try boundPort(holder))
        let receiver: Int32
        do {
            receiver = try joinGroup(group)
        } catch let error as SystemCallError where [ENODEV, EADDRNOTAVAIL, EINVAL].contains(error.code) {
            return false
        }
        defer { closeDescriptor(receiver) }
        try connect(sender, group, describe(group))
        var token = low
        guard sendDatagram(sender, &token, 4) == 4 else { return false }
        var waiting = pollfd(fd: receiver, events: Int16(POLLIN), revents: 0)
        guard pollOnce(&waiting, 1, timeoutMs: 1000) == 1 else { return false }
        var got: UInt32 = 0
        return receiveWithoutWaiting(receiver, &got, 4) == 4 && got == low
    }

    /// A number from a /proc file; 0 where the kernel has no such file.
    package static func procNumber(_ path: String) throws -> Int {
        Int(try readRegularFile(path, limit: 4096, what: "a /proc value")?.trimmingWhitespace() ?? "") ?? 0
    }

    /// Binary search for the largest message a fresh socket sends without EMSGSIZE; 0 if none.
    /// Throws when the sockets cannot be made at all.
    package static func largestDatagram(domain: Int32, type: Int32 = Int32(SOCK_DGRAM.rawValue)) throws -> Int {
        var fds: [Int32] = [-1, -1]
        defer { fds.forEach(closeDescriptor) }
        if domain == AF_UNIX {
            (fds[0], fds[1]) = try makeSocketPair(type: type)
        } else {
            let loopback: Loopback = domain == AF_INET ? .ipv4 : .ipv6
            fds[0] = try makeSocket(domain, type)
            try loopback.bind(fds[0], port: 0)
            try loopback.connect(fds[0], port: try boundPort(fds[0]))
        }
        let sender = fds[0], receiver = fds[1] >= 0 ? fds[1] : fds[0]
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var low = 0, high = 1 << 20  // low always sends; high never does
        while high - low > 1 {
            let mid = (low + high) / 2
            if sendWithoutWaiting(sender, buffer, mid) == mid {
                low = mid
                _ = receiveWithoutWaiting(receiver, buffer, 1 << 20)
            } else {
                high = mid
            }
        }
        return low
    }
}

