import CShims
import Glibc
import IPCPlatform
import IPCModel

/// How an endpoint's reads wait, set up before the timed loop (`Endpoint.prepareWaiting`).
package struct ReadWaiting: Sendable {
    package enum Mode: Sendable { case direct, poll, epoll, busy, uring }
    package var mode = Mode.direct
    /// The descriptor read, and the epoll set that holds it (epoll only).
    package var fd: Int32 = -1
    package var epoll: Int32 = -1
    /// The io_uring ring (uring only), as its address: a C `struct io_uring` made before the loop.
    package var ring: UInt = 0
    /// The descriptor is a socket: busy reads pass MSG_DONTWAIT (O_NONBLOCK would make its writes
    /// non-blocking too, since both directions share the one open file).
    package var socket = false
    /// The socket's receive timeout (SO_RCVTIMEO) when it has one, which a wait keeps: a lossy
    /// receiver counts what did not come in time. 0: none.
    package var timeoutNs: UInt64 = 0

    /// The timeout for poll(2) and epoll_wait(2), in ms (rounded up); -1: none.
    package var timeoutMs: Int32 { timeoutNs == 0 ? -1 : Int32(clamping: (timeoutNs + 999_999) / 1_000_000) }

    /// Waits until the descriptor has data: 1, 0 when the timeout ran out, or -errno.
    @inline(__always)
    package func awaitReadable() -> Int {
        if mode == .epoll {
            let epoll = self.epoll, ms = timeoutMs
            return retryingInterrupts { Int(cshim_epoll_wait_one(epoll, ms, nil)) }
        }
        var wait = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ms = timeoutMs
        return retryingInterrupts { Int(Glibc.poll(&wait, 1, ms)) }
    }
}

extension Endpoint {
    /// Makes this endpoint's reads wait as `mode` says; before the timed loop, once per endpoint.
    /// A transport without a descriptor to read is refused earlier (`skipReason`).
    package mutating func prepareWaiting(_ mode: WaitMode) throws {
        let fd = pollDescriptors.read
        guard fd >= 0 else { return }  // it only writes (vmsplice's sender)
        var w = ReadWaiting()
        w.fd = fd
        var type: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        w.socket = getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) == 0
        if w.socket {
            var limit = timeval()
            var size = socklen_t(MemoryLayout<timeval>.size)
            if getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, &size) == 0 {
                w.timeoutNs = UInt64(max(limit.tv_sec, 0)) * 1_000_000_000 + UInt64(max(limit.tv_usec, 0)) * 1000
            }
        }
        switch mode {
        case .auto, .block:
            w.mode = .direct
        case .poll:
            w.mode = .poll
        case .epoll:
            w.mode = .epoll
            w.epoll = try check("epoll_create1") { cshim_epoll_create() }
            do {
                let epoll = w.epoll
                try check("epoll_ctl(EPOLL_CTL_ADD)") { cshim_epoll_add(epoll, fd, 0) }
            } catch {
                closeDescriptor(w.epoll)
                throw error
            }
        case .uring:
            w.mode = .uring
            guard let ring = cshim_uring_open(4) else { throw SystemCallError("io_uring_queue_init", code: errno) }
            w.ring = UInt(bitPattern: ring)
        case .busy:
            w.mode = .busy
            if !w.socket {
                // A pipe's, FIFO's or queue's read end is an open file of its own: O_NONBLOCK touches only the reads.
                let flags = try check("fcntl(F_GETFL)") { Int(fcntl(fd, F_GETFL)) }
                _ = try check("fcntl(F_SETFL, O_NONBLOCK)") { Int(fcntl(fd, F_SETFL, Int32(flags) | O_NONBLOCK)) }
            }
        }
        waiting = w
    }

    /// A busy read: non-blocking reads until data (or the end) comes, or the socket's receive
    /// timeout runs out (-EAGAIN, as a blocking read would say).
    @inline(__always)
    package func busyRead(_ buffer: UnsafeMutableRawPointer, _ capacity: Int) -> Int {
        var started: UInt64 = 0
        while true {
            let n = waiting.socket ? receiveWithoutWaiting(buffer, capacity) : receive(buffer, capacity)
            if n != -Int(EAGAIN) { return n }
            if waiting.timeoutNs > 0 {
                let now = monotonicNanoseconds()
                if started == 0 { started = now } else if now &- started >= waiting.timeoutNs { return -Int(EAGAIN) }
            }
        }
    }

    /// One read through the endpoint's io_uring ring, waited for: its length, 0 at the end of a
    /// stream, or -errno (-EAGAIN when the socket's receive timeout ran out).
    @inline(__always)
    package func uringRead(_ buffer: UnsafeMutableRawPointer, _ capacity: Int) -> Int {
        let n = cshim_uring_read(UnsafeMutableRawPointer(bitPattern: waiting.ring), waiting.fd, buffer, capacity,
                                 waiting.socket ? 1 : 0, waiting.timeoutNs)
        if case .packets = io, n == 0 { return -Int(EPIPE) }
        return n
    }

    /// One recv(2) with MSG_DONTWAIT on the endpoint's socket: its length, 0 at the end of a
    /// stream, or -errno (-EAGAIN when nothing is there).
    @inline(__always)
    package func receiveWithoutWaiting(_ buffer: UnsafeMutableRawPointer, _ capacity: Int) -> Int {
        let fd = waiting.fd
        let n = retryingInterrupts { Glibc.recv(fd, buffer, capacity, Int32(MSG_DONTWAIT)) }
        if case .packets = io, n == 0 { return -Int(EPIPE) }
        return n
    }
}

/// For `ipcbench list`: per wait mode, what skips it (from `skipReason`, the one decision), as
/// lines of text.
public func waitModeLines(limits: Limits = .shared) -> [String] {
    func shape(_ mode: WaitMode, depth: Int = 4) -> CaseShape {
        var s = CaseShape(payloadBytes: 64, depth: depth)
        s[.wait] = WaitMode.allCases.firstIndex(of: mode)! + 1
        return s
    }
    return WaitMode.allCases.filter { $0 != .auto }.map { mode in
        let name = mode.rawValue + String(repeating: " ", count: max(1, 8 - mode.rawValue.count))
        if mode == .uring, let refusal = limits.ioUringRefusal { return name + refusal }
        // The transports a one-way transfer runs on with auto but not with this mode, and the
        // patterns a pipe serves with auto but not with it.
        let transports = TransportKind.allCases.filter {
            skipReason($0, .throughput, shape(mode, depth: 1), limits: limits) != nil && skipReason($0, .throughput, shape(.auto, depth: 1), limits: limits) == nil
        }.map(\.rawValue)
        let patterns = PatternKind.allCases.filter { skipReason(.pipe, $0, shape(mode), limits: limits) != nil }
            .map { $0 == .asyncRequest ? "async-request deeper than 1" : $0.rawValue }
        var skipped: [String] = []
        if !transports.isEmpty { skipped.append("not on \(transports.joined(separator: ", "))") }
        let why = mode == .block ? "they watch several descriptors at once" : "their loops watch several descriptors in poll(2)"
        if !patterns.isEmpty { skipped.append("not for \(patterns.joined(separator: ", ")) (\(why))") }
        return name + (skipped.isEmpty ? "every transport with a descriptor, every pattern" : skipped.joined(separator: "; "))
    }
}
