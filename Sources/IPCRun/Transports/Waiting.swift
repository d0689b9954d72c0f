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
    /// The worker's io_uring ring (uring only), as its address (made and closed
    /// by the worker), and the tag of this endpoint's reads; its writes' is the next.
    package var ring: UInt = 0
    package var tag: UInt32 = 0
    /// The descriptor written (uring only), and for a splicing receiver the one spliced into.
    package var writeFD: Int32 = -1
    package var spliceFD: Int32 = -1
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
            return epollWaitOne(epoll, timeoutMs: timeoutMs)
        }
        var wait = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return pollOnce(&wait, 1, timeoutMs: timeoutMs)
    }
}

extension Endpoint {
    /// Makes this endpoint's reads wait as `mode` says; before the timed loop, once per endpoint.
    /// With uring its reads and writes go through the worker's `ring` under tags `tag` and `tag + 1`.
    /// A transport without a descriptor to read is refused earlier (`skipReason`).
    package mutating func prepareWaiting(_ mode: WaitMode, ring: UnsafeMutableRawPointer? = nil, tag: UInt32 = 0) throws {
        let fd = pollDescriptors.read
        guard fd >= 0 else { return }  // it only writes (vmsplice's sender: io_uring has no vmsplice)
        var w = ReadWaiting()
        w.fd = fd
        w.writeFD = pollDescriptors.write
        if case let .spliceToNull(_, null) = io { w.spliceFD = null }
        w.socket = isSocket(fd)
        if w.socket {
            if let limit = try? socketOption(fd, SOL_SOCKET, SO_RCVTIMEO, as: timeval.self, "SO_RCVTIMEO") {
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
            w.epoll = try check("epoll_create1") { makeEpoll() }
            do {
                let epoll = w.epoll
                try check("epoll_ctl(EPOLL_CTL_ADD)") { epollAdd(epoll, fd, tag: 0) }
            } catch {
                closeDescriptor(w.epoll)
                throw error
            }
        case .uring:
            guard let ring else { throw SystemCallError("io_uring_queue_init", code: EINVAL) }
            w.mode = .uring
            w.ring = UInt(bitPattern: ring)
            w.tag = tag
        case .busy:
            w.mode = .busy
            if !w.socket {
                // A pipe's, FIFO's or queue's read end is an open file of its own: O_NONBLOCK touches only the reads.
                let failure = IPCPlatform.makeNonBlocking(fd)
                if failure != 0 { throw SystemCallError("fcntl(O_NONBLOCK)", code: failure) }
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

    /// One read through the worker's io_uring ring, waited for: its length, 0 at the end of a
    /// stream, or -errno (-EAGAIN when the socket's receive timeout ran out; the read stays in
    /// flight, and the next read into the same buffer takes it). A splicing receiver splices.
    @inline(__always)
    package func uringRead(_ buffer: UnsafeMutableRawPointer, _ capacity: Int) -> Int {
        let started = uringStart(reading: true, buffer, capacity)
        if started < 0 { return started }
        let n = uringWait(reading: true, timeoutNs: waiting.timeoutNs == 0 ? -1 : Int64(waiting.timeoutNs))
        if case .packets = io, n == 0 { return -Int(EPIPE) }
        return n
    }

    /// Writes all `count` bytes (one message where boundaries are kept) through the worker's ring,
    /// each write waited for: `count` (or the message's length), or -errno.
    @inline(__always)
    package func uringWrite(_ buffer: UnsafeRawPointer, _ count: Int) -> Int {
        var done = 0
        while done < count {
            let started = uringStart(reading: false, UnsafeMutableRawPointer(mutating: buffer) + done, count - done)
            if started < 0 { return started }
            let n = uringWait(reading: false, timeoutNs: -1)
            if n < 0 { return n }
            if n == 0 { return -Int(EIO) }
            if isDatagram { return n }
            done += n
        }
        return done
    }

    /// The tag of this endpoint's reads (`reading`) or writes in the worker's ring.
    @inline(__always)
    package func uringTag(reading: Bool) -> UInt32 { reading ? waiting.tag : waiting.tag + 1 }

    /// Puts a read (a splice, for a splicing receiver) or a write of `count` bytes at `buffer` in the
    /// ring, submitted by the next wait: 0 (also when the same one is already there), or -errno.
    @inline(__always)
    package func uringStart(reading: Bool, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
        let operation: RingOperation = !reading ? .write : waiting.spliceFD >= 0 ? .splice : .read
        return ringStart(waiting.ring, tag: uringTag(reading: reading), operation, reading ? waiting.fd : waiting.writeFD,
                         buffer, count, socket: waiting.socket, spliceTo: waiting.spliceFD)
    }

    /// Waits for this endpoint's read or write in the ring (`timeoutNs` < 0: for ever; 0: not at
    /// all): its result, or -EAGAIN when it has not completed in that time.
    @inline(__always)
    package func uringWait(reading: Bool, timeoutNs: Int64) -> Int {
        ringWait(waiting.ring, tag: uringTag(reading: reading), timeoutNs: timeoutNs)
    }

    /// Waits for whichever operation in the worker's ring completes first (`timeoutNs` as in
    /// `uringWait`): its tag and, with `take`, its result (without, 0: `uringWait` takes it); -EAGAIN
    /// when none did in that time.
    @inline(__always)
    package func uringWaitAny(timeoutNs: Int64, take: Bool = true) -> (tag: UInt32, result: Int) {
        ringWaitAny(waiting.ring, timeoutNs: timeoutNs, take: take)
    }

    /// One recv(2) with MSG_DONTWAIT on the endpoint's socket: its length, 0 at the end of a
    /// stream, or -errno (-EAGAIN when nothing is there).
    @inline(__always)
    package func receiveWithoutWaiting(_ buffer: UnsafeMutableRawPointer, _ capacity: Int) -> Int {
        let n = IPCPlatform.receiveWithoutWaiting(waiting.fd, buffer, capacity)
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
        if mode == .uring {
            // vmsplice's sender has no io_uring operation: its vmsplice(2) stays a plain call.
            let buffers = uringFixedBuffersRefusal().map { "plain buffers (\($0))" } ?? "registered buffers"
            skipped.append("reads and writes through one ring per worker, in \(buffers)")
        }
        return name + (skipped.isEmpty ? "every transport with a descriptor, every pattern" : skipped.joined(separator: "; "))
    }
}

/// nil when this kernel takes registered (fixed) buffers for a ring; else why not (`--wait uring`
/// then reads and writes plain buffers). Says nothing where no ring can be made (`ioUringRefusal` does).
package func uringFixedBuffersRefusal() -> String? {
    ringRegisteredBuffersError().map { "io_uring_register_buffers: \(errorText($0))" }
}
