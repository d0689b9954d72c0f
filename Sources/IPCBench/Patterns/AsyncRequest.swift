import Glibc
import Histogram

/// async-request (asynchronous request, pipelined): the client keeps up to `depth` requests of the
/// payload outstanding; the server echoes each one, in order. Each request's time, from the write
/// that sends its first byte to the read that completes its reply, goes into the HDR histogram.
/// Depth 1 is the latency pattern's own loop.
enum AsyncRequestPattern: Pattern {
    static let summary = "pipelined requests, up to depth outstanding (asynchronous request); requests/s and request-to-reply percentiles"
    static let parameter: CaseParameter? = .depth
    static let sizing = WorkSizing.count
    static let metrics = [Metric.messagesPerSecond, .rttP50, .rttP99]

    static func topology(_ shape: CaseShape) -> Topology { .pair("client", "server") }

    static func payloadBuffers(worker index: Int, _ shape: CaseShape) -> Int { LatencyPattern.payloadBuffers(worker: index, shape) }

    static func skipReason(_ transport: TransportKind, _ shape: CaseShape) -> String? {
        if shape.depth < 1 { return "depth must be at least 1" }
        if transport.isDatagram && shape.depth > 1 && shape.payloadBytes < datagramHeaderBytes {
            return "pipelined datagram requests need at least \(datagramHeaderBytes) bytes each for the 64-bit trial key and the 64-bit request number"
        }
        if transport.semantics == .lossyMessages, let buffer = Int(readProcValue("/proc/sys/net/core/rmem_default") ?? ""),
           shape.depth * chargedBytes(shape.payloadBytes) > buffer {
            return "\(shape.depth) requests of \(shape.payloadBytes) bytes in flight overflow the receiving socket's buffer (net.core.rmem_default = \(buffer) bytes), so \(transport.rawValue) would drop them; raise it with sysctl or lower the depth"
        }
        return nil
    }

    /// What the kernel charges a socket's receive buffer for one datagram: its data in a
    /// power-of-two allocation plus the buffer head (about 512 bytes), an estimate on the safe side.
    static func chargedBytes(_ payload: Int) -> Int {
        var allocation = 512
        while allocation < payload + 512 { allocation *= 2 }
        return allocation + 512
    }

    static func makeLoop(worker index: Int, _ endpoints: [Endpoint], _ work: LoopWork) -> TimedLoop {
        if index == 1 { return EchoServer(endpoints[0], work) }
        return work.depth <= 1 ? PingClient(endpoints[0], work) : PipelineClient(endpoints[0], work)
    }

    static func figures(_ reports: [WorkerReport], _ shape: CaseShape) -> TrialFigures {
        var f = LatencyPattern.figures(reports, shape)
        f.values[.messagesPerSecond] = f.durationNs > 0 ? Double(f.messages) / (Double(f.durationNs) / 1e9) : 0
        return f
    }
}

/// The client of a pipeline deeper than 1. It never blocks in a write: requests go out without
/// waiting (O_NONBLOCK on a pipe's or FIFO's write end, MSG_DONTWAIT on a socket), so however large
/// payload × depth is, the server can always hand over its replies and no buffer deadlock can form.
/// It waits in only two places: in a blocking read of the oldest reply, when the window is full or
/// every request is out (that request was written whole, so the server can answer it); and in
/// poll(2), for the write to go on or a reply to come, when the kernel's buffer is full.
final class PipelineClient: TimedLoop {
    private let endpoint: Endpoint
    private let work: LoopWork
    private let readFD: Int32
    private let writeFD: Int32
    private let writesToSocket: Bool
    /// errno of the fcntl that makes a pipe's write end non-blocking, or 0.
    private let nonblockingFailure: Int32
    private let sendBuffer: UnsafeMutableRawPointer
    private let replyBuffer: UnsafeMutableRawPointer
    /// When each outstanding request started, a ring of `depth` slots.
    private let starts: UnsafeMutablePointer<UInt64>
    private let waits: UnsafeMutablePointer<pollfd>
    private var histogram = makeRoundTripHistogram()

    init(_ endpoint: Endpoint, _ work: LoopWork) {
        self.endpoint = endpoint
        self.work = work
        (readFD, writeFD) = endpoint.pollDescriptors
        var type: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        writesToSocket = getsockopt(writeFD, SOL_SOCKET, SO_TYPE, &type, &length) == 0
        if writesToSocket {
            nonblockingFailure = 0
        } else {
            // A pipe's or FIFO's write end is its own open file: the read end stays blocking.
            let fd = writeFD
            let r = resultOrErrno { Int(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)) }
            nonblockingFailure = r < 0 ? Int32(-r) : 0
        }
        sendBuffer = makePatternBuffer(work.payloadBytes)
        replyBuffer = makePatternBuffer(work.payloadBytes)
        starts = UnsafeMutablePointer<UInt64>.allocate(capacity: work.depth)
        starts.initialize(repeating: 0, count: work.depth)
        waits = UnsafeMutablePointer<pollfd>.allocate(capacity: 2)
        waits.initialize(repeating: pollfd(), count: 2)
    }

    deinit {
        sendBuffer.deallocate()
        replyBuffer.deallocate()
        starts.deallocate()
        waits.deallocate()
    }

    /// One write that never waits: the bytes the kernel took, or -errno (-EAGAIN when none).
    @inline(__always)
    private func writeWithoutWaiting(_ buffer: UnsafeRawPointer, _ count: Int) -> Int {
        if writesToSocket { return retryingInterrupts { Glibc.send(writeFD, buffer, count, Int32(MSG_DONTWAIT)) } }
        return endpoint.writeOnce(buffer, count)
    }

    func run(_ result: inout LoopResult) {
        let size = work.payloadBytes
        let total = UInt64(work.messages)
        let depth = UInt64(work.depth)
        let datagrams = endpoint.isDatagram
        let key = endpoint.datagramKey
        var sent: UInt64 = 0  // requests written whole
        var written = 0  // bytes of request `sent` written so far
        var done: UInt64 = 0  // replies received whole
        var phase = 0  // stream offset of request `sent` modulo the pattern period
        if nonblockingFailure != 0 { result.failure = .system("fcntl(O_NONBLOCK)", nonblockingFailure); return }
        result.startNs = monotonicNanoseconds()
        while done < total {
            var blocked = false
            while sent < total && sent - done < depth {
                let request = datagrams ? sendBuffer : sendBuffer + phase
                if written == 0 {
                    if datagrams { writeDatagramHeader(sendBuffer, key: key, number: sent) }
                    starts[Int(sent % depth)] = monotonicNanoseconds()
                }
                let n = writeWithoutWaiting(request + written, size - written)
                if n == -Int(EAGAIN) { blocked = true; break }
                if n < 0 { result.failure = .system(datagrams ? "send" : "write", Int32(-n)); return }
                written += n
                if written == size {
                    written = 0
                    sent += 1
                    phase = (phase + size) % patternPeriod
                    if datagrams { result.datagrams.sent &+= 1 }
                }
            }
            if blocked {
                waits[0] = pollfd(fd: writeFD, events: Int16(POLLOUT), revents: 0)
                // Only a request written whole can have a reply coming (poll ignores fd -1).
                waits[1] = pollfd(fd: done < sent ? readFD : -1, events: Int16(POLLIN), revents: 0)
                let p = retryingInterrupts { Int(poll(waits, 2, -1)) }
                if p < 0 { result.failure = .system("poll", Int32(-p)); return }
                if waits[1].revents == 0 { continue }  // writable again, or an error the next write reports
            }
            if done == sent { continue }

            var t1: UInt64 = 0
            if datagrams {
                var r = 0
                while true {
                    r = endpoint.read(replyBuffer, size + 1)
                    t1 = monotonicNanoseconds()
                    if r < 0 || carriesTrialKey(replyBuffer, r, key: key, headerBytes: datagramHeaderBytes) { break }
                    result.rejected &+= 1
                }
                if r == -Int(EAGAIN) { result.failure = .datagramLost(roundTrip: done); return }
                if r < 0 { result.failure = .system("recv", Int32(-r)); return }
                result.datagrams.received &+= 1
                let number = UInt64(littleEndian: replyBuffer.load(fromByteOffset: 8, as: UInt64.self))
                // A later reply than the one due means the due request or its reply was dropped.
                if number > done && number < UInt64(work.messages) && endpoint.losesDatagrams {
                    result.failure = .datagramLost(roundTrip: done)
                    return
                }
                if number != done { result.failure = .badSequence(number); return }
                if r != size || (work.verify && !datagramPayloadIsIntact(replyBuffer, size, headerBytes: datagramHeaderBytes)) {
                    result.failure = .corrupt(atByte: result.bytes)
                    return
                }
            } else {
                let r = endpoint.readFully(replyBuffer, size)
                t1 = monotonicNanoseconds()
                if r < 0 { result.failure = .system("read", Int32(-r)); return }
                if r < size { result.failure = .peerClosed(afterBytes: result.bytes + UInt64(r)); return }
                if work.verify, let bad = firstMismatch(replyBuffer, size, streamOffset: result.bytes) {
                    result.failure = .corrupt(atByte: bad)
                    return
                }
            }
            let t0 = starts[Int(done % depth)]
            if !histogram.record(t1 &- t0) { result.failure = .histogramOverflow(t1 &- t0); return }
            result.endNs = t1
            result.bytes &+= UInt64(size)
            result.messages &+= 1
            done += 1
        }
    }

    func roundTrips() -> [(UInt64, UInt64)] { recordedPairs(histogram) }
}
