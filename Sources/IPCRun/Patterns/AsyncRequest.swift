import Glibc
import Histogram
import IPCPlatform
import IPCModel

/// async-request (asynchronous request, pipelined): the client keeps up to `depth` requests of the
/// payload outstanding; the server echoes each one, in order. Each request's time, from the write
/// that sends its first byte to the read that completes its reply, goes into the HDR histogram.
/// Depth 1 is the latency pattern's own loop.
package enum AsyncRequestPattern: Pattern {
    package static func topology(_ shape: CaseShape) -> Topology { .pair("client", "server") }

    package static func payloadBuffers(worker index: Int, _ shape: CaseShape) -> Int { LatencyPattern.payloadBuffers(worker: index, shape) }

    package static func requirements(_ shape: CaseShape) -> Requirements {
        // Deeper than 1, requests are numbered so that replies can be matched, and the client waits in poll(2).
        let pipelined = shape.depth > 1
        return Requirements(bothWays: true, polling: pipelined ? "either direction" : nil, numberedMessages: pipelined ? "request number" : nil,
                            numberedWhereLost: "request number", inFlight: shape.depth)
    }

    package static func makeLoop(worker index: Int, _ endpoints: [Endpoint], _ work: LoopWork) -> TimedLoop {
        if index == 1 { return EchoServer(endpoints[0], work) }
        return work.depth <= 1 ? PingClient(endpoints[0], work) : PipelineClient(endpoints[0], work)
    }

    package static func figures(_ reports: [WorkerReport], _ shape: CaseShape) -> TrialFigures {
        var f = LatencyPattern.figures(reports, shape)  // with the pacing figures at a rate
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
package final class PipelineClient: TimedLoop {
    private let endpoint: Endpoint
    private let work: LoopWork
    private let readFD: Int32
    private let writeFD: Int32
    private let writer: NonWaitingWriter
    private let sendBuffer: UnsafeMutableRawPointer
    private let replyBuffer: UnsafeMutableRawPointer
    /// When each outstanding request started, a ring of `depth` slots.
    private let starts: UnsafeMutablePointer<UInt64>
    /// At an offered rate: when each outstanding request was due, a ring like `starts`.
    private let intended: UnsafeMutablePointer<UInt64>
    private let waits: UnsafeMutablePointer<pollfd>
    private var histogram = makeRoundTripHistogram()
    /// At an offered rate: the schedule, and the request times from the actual sends.
    private let pacer: Pacer
    private var uncorrected = makeRoundTripHistogram()
    private var setupFailure: LoopFailure
    /// --wait epoll: the set of both directions a blocked write waits on.
    private var epoll: Int32 = -1

    package init(_ endpoint: Endpoint, _ work: LoopWork) {
        self.endpoint = endpoint
        self.work = work
        (readFD, writeFD) = endpoint.pollDescriptors
        writer = NonWaitingWriter(endpoint)
        sendBuffer = makePatternBuffer(work.payloadBytes)
        replyBuffer = makePatternBuffer(work.payloadBytes)
        starts = UnsafeMutablePointer<UInt64>.allocate(capacity: work.depth)
        starts.initialize(repeating: 0, count: work.depth)
        intended = UnsafeMutablePointer<UInt64>.allocate(capacity: work.depth)
        intended.initialize(repeating: 0, count: work.depth)
        pacer = work.makePacer()
        waits = UnsafeMutablePointer<pollfd>.allocate(capacity: 2)
        waits.initialize(repeating: pollfd(), count: 2)
        setupFailure = repliesAreNumbered(endpoint, work.payloadBytes) ? setReplyTimeout(endpoint, work.replyTimeoutNs) : .none
        // --wait epoll: a blocked write waits on both directions in an epoll set (busy: not at all).
        // The replies, read once they are known to come, wait as the endpoint's reads do (Worker).
        if work.wait == .epoll {
            epoll = makeEpollForBothDirections(read: readFD, write: writeFD)
            if epoll < 0 { setupFailure = .system("epoll_ctl", -epoll) }
        }
    }

    deinit {
        closeDescriptor(epoll)
        sendBuffer.deallocate()
        replyBuffer.deallocate()
        starts.deallocate()
        intended.deallocate()
        waits.deallocate()
    }

    package func run(_ result: inout LoopResult) {
        let size = work.payloadBytes
        let total = UInt64(work.messages)
        let depth = UInt64(work.depth)
        let datagrams = endpoint.isDatagram
        let key = endpoint.datagramKey
        let numbered = repliesAreNumbered(endpoint, size)
        var sent: UInt64 = 0  // requests written whole
        var written = 0  // bytes of request `sent` written so far
        var done: UInt64 = 0  // requests answered whole, or (where replies are numbered) lost
        var answered = true  // the last request done got its reply
        var phase = 0  // stream offset of request `sent` modulo the pattern period
        // --wait uring: the requests are written through the worker's ring (the current one's write in
        // flight while `writing`), and a blocked write waits there for its completion or a reply's.
        let uring = work.wait == .uring
        var writing = false
        let replyCapacity = datagrams ? size + 1 : size  // as the reply reads below ask
        if writer.failure != 0 { result.failure = .system("fcntl(O_NONBLOCK)", writer.failure); return }
        if setupFailure.isFailure { result.failure = setupFailure; return }
        result.startNs = monotonicNanoseconds()
        pacer.start(result.startNs)
        defer { pacer.report(&result) }
        while done < total {
            var blocked = false
            var notDue = false  // at a rate: the next request's time has not come
            while sent < total && sent - done < depth {
                let request = datagrams ? sendBuffer : sendBuffer + phase
                if written == 0 && !writing {
                    let now = monotonicNanoseconds()
                    if pacer.on {
                        if !pacer.release(sent, now: now) { notDue = true; break }
                        intended[Int(sent % depth)] = pacer.intended(sent)
                    }
                    if datagrams { writeDatagramHeader(sendBuffer, key: key, number: sent) }
                    starts[Int(sent % depth)] = now
                }
                var n: Int
                if uring {
                    if !writing {
                        let s = endpoint.uringStart(reading: false, request + written, size - written)
                        if s < 0 { result.failure = .system("io_uring write", Int32(-s)); return }
                        writing = true
                    }
                    n = endpoint.uringWait(reading: false, timeoutNs: 0)  // -EAGAIN: still in flight
                    if n != -Int(EAGAIN) { writing = false }
                    if n == 0 { n = -Int(EIO) }
                } else {
                    n = writer.write(request + written, size - written)
                }
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
            if blocked && uring {
                // Sleep in the ring until the write completes or (where one is coming) a reply arrives.
                if done < sent {
                    let s = endpoint.uringStart(reading: true, replyBuffer, replyCapacity)
                    if s < 0 { result.failure = .system("io_uring read", Int32(-s)); return }
                }
                let (tag, e) = endpoint.uringWaitAny(timeoutNs: -1, take: false)
                if e < 0 { result.failure = .system("io_uring_wait_cqe", Int32(-e)); return }
                if tag == endpoint.uringTag(reading: false) { continue }  // the write's: the loop above takes it
            } else if blocked {
                waits[0] = pollfd(fd: writeFD, events: Int16(POLLOUT), revents: 0)
                // Only a request written whole can have a reply coming (poll ignores fd -1).
                waits[1] = pollfd(fd: done < sent ? readFD : -1, events: Int16(POLLIN), revents: 0)
                if work.wait == .epoll {
                    // Sleep in the epoll set until either direction is ready; the poll below (no timeout) says which.
                    let e = epollWaitOne(epoll, timeoutMs: -1)
                    if e < 0 { result.failure = .system("epoll_wait", Int32(-e)); return }
                }
                // busy and epoll never sleep here: busy tries the write again at once.
                let sleeps = work.wait != .busy && work.wait != .epoll
                let p = pollOnce(waits, 2, timeoutMs: sleeps ? -1 : 0)
                if p < 0 { result.failure = .system("poll", Int32(-p)); return }
                if waits[1].revents == 0 { continue }  // writable again, or an error the next write reports
            }
            if done == sent { continue }
            if notDue && uring {
                // Until the next request is due, take a reply only when one is there (no write is in flight).
                let s = endpoint.uringStart(reading: true, replyBuffer, replyCapacity)
                if s < 0 { result.failure = .system("io_uring read", Int32(-s)); return }
                let (_, e) = endpoint.uringWaitAny(timeoutNs: 0, take: false)
                if e == -Int(EAGAIN) { continue }
                if e < 0 { result.failure = .system("io_uring_wait_cqe", Int32(-e)); return }
            } else if notDue {
                // Until the next request is due, take a reply only when one is there.
                waits[0] = pollfd(fd: readFD, events: Int16(POLLIN), revents: 0)
                let p = pollOnce(waits, 1, timeoutMs: 0)
                if p < 0 { result.failure = .system("poll", Int32(-p)); return }
                if p == 0 { continue }
            }

            var t1: UInt64 = 0
            if numbered {
                // The oldest outstanding request's reply; a reply to a later one first means the
                // requests before it were lost (the loopback keeps order), and a reply to a request
                // already given up is late.
                let r = endpoint.read(replyBuffer, size + 1)
                t1 = monotonicNanoseconds()
                if r == -Int(EAGAIN) {
                    done += 1
                    answered = false
                    continue
                }
                if r < 0 { result.failure = .system("recv", Int32(-r)); return }
                if !carriesTrialKey(replyBuffer, r, key: key, headerBytes: datagramHeaderBytes) {
                    result.rejected &+= 1
                    continue
                }
                let number = UInt64(littleEndian: replyBuffer.load(fromByteOffset: 8, as: UInt64.self))
                if number < done {
                    result.datagrams.reordered &+= 1
                    continue
                }
                if number >= sent { result.failure = .badSequence(number); return }
                done = number
                if t1 &- starts[Int(done % depth)] > work.replyTimeoutNs {
                    result.datagrams.reordered &+= 1  // its reply came, but after its time: lost, and late
                    done += 1
                    answered = false
                    continue
                }
                answered = true
                result.datagrams.received &+= 1
                if r != size || (work.verify && !datagramPayloadIsIntact(replyBuffer, size, headerBytes: datagramHeaderBytes)) {
                    result.failure = .corrupt(atByte: result.bytes)
                    return
                }
            } else if datagrams {
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
            let from = pacer.on ? intended[Int(done % depth)] : t0
            if !histogram.record(t1 &- from) { result.failure = .histogramOverflow(t1 &- from); return }
            if pacer.on && !uncorrected.record(t1 &- t0) { result.failure = .histogramOverflow(t1 &- t0); return }
            result.endNs = t1
            result.bytes &+= UInt64(size)
            result.messages &+= 1
            done += 1
        }
        if numbered { finishLossyRequests(endpoint, sendBuffer, size, replyBuffer, capacity: size + 1, answeredLast: answered, work, &result) }
    }

    package func roundTrips() -> [(UInt64, UInt64)] { recordedPairs(histogram) }
    package func uncorrectedRoundTrips() -> [(UInt64, UInt64)] { pacer.on ? recordedPairs(uncorrected) : [] }
    package func overshoots() -> [(UInt64, UInt64)] { pacer.on ? recordedPairs(pacer.overshoot) : [] }
}
