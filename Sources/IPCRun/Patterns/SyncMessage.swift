import Glibc
import Histogram
import IPCPlatform
import IPCModel

/// sync-message (synchronous message): the sender sends one message of the payload and waits for
/// the receiver's small acknowledgement before it sends the next. Each send-to-ack time goes into
/// the HDR histogram (the rtt_us_* columns); MiB/s and msgs/s count the payload delivered from the
/// sender's first write to its last acknowledgement.
package enum SyncMessagePattern: Pattern {
    package static func topology(_ shape: CaseShape) -> Topology { .pair("sender", "receiver") }

    package static func payloadBuffers(worker index: Int, _ shape: CaseShape) -> Int { 1 }

    package static func requirements(_ shape: CaseShape) -> Requirements {
        Requirements(bothWays: true, otherSizedMessage: "a 16-byte acknowledgement", numberedWhereLost: "message number")
    }

    package static func makeLoop(worker index: Int, _ endpoints: [Endpoint], _ work: LoopWork) -> TimedLoop {
        index == 0 ? AckedSender(endpoints[0], work) : AckingReceiver(endpoints[0], work)
    }

    package static func figures(_ reports: [WorkerReport], _ shape: CaseShape) -> TrialFigures {
        let sender = reports[0], receiver = reports[1]
        var f = TrialFigures()
        f.durationNs = sender.endNs &- sender.startNs
        f.bytes = receiver.bytes
        f.messages = sender.messages
        f.values[.throughput] = mibPerSecond(receiver.bytes, f.durationNs)
        f.values[.messagesPerSecond] = f.durationNs > 0 ? Double(sender.messages) / (Double(f.durationNs) / 1e9) : 0
        f.latencies = sender.roundTrips
        // The sender's view: a message is lost when its acknowledgement did not come in time.
        var d = sender.datagrams
        d.lost = d.sent - min(d.sent, d.received)
        f.datagrams = d
        addPacingFigures(&f, shape, senders: [sender], achieved: Double(sender.messages))
        return f
    }
}

/// A stream acknowledgement: the message's number, 64-bit little-endian. A datagram one is the
/// 16-byte header (the trial's key and the message's number), so that it is authenticated.
package let streamAckBytes = 8

/// Room for an acknowledgement, larger than any valid one so that an oversized one shows.
private let ackCapacity = 64

/// Sends each message and waits for its acknowledgement; times send to acknowledgement.
package final class AckedSender: TimedLoop {
    private let endpoint: Endpoint
    private let work: LoopWork
    private let sendBuffer: UnsafeMutableRawPointer
    private let ackBuffer: UnsafeMutableRawPointer
    private var histogram = makeRoundTripHistogram()
    /// At an offered rate: the schedule, and the send-to-ack times from the actual sends.
    private let pacer: Pacer
    private var uncorrected = makeRoundTripHistogram()
    private let setupFailure: LoopFailure

    package init(_ endpoint: Endpoint, _ work: LoopWork) {
        self.endpoint = endpoint
        self.work = work
        sendBuffer = makePatternBuffer(work.payloadBytes)
        ackBuffer = makePatternBuffer(ackCapacity)
        pacer = work.makePacer()
        setupFailure = repliesAreNumbered(endpoint, work.payloadBytes) ? setReplyTimeout(endpoint, work.replyTimeoutNs) : .none
    }

    deinit {
        sendBuffer.deallocate()
        ackBuffer.deallocate()
    }

    package func run(_ result: inout LoopResult) {
        if endpoint.isDatagram { runDatagrams(&result) } else { runStream(&result) }
        pacer.report(&result)
    }

    /// At an offered rate, waits for message `i`'s intended time (at once when it has passed: one
    /// message is outstanding) and returns it; else 0.
    @inline(__always)
    private func intendedTime(_ i: UInt64) -> UInt64 { pacer.on ? pacer.wait(i) : 0 }

    /// Records a send-to-ack time that ended at `t1`: from the intended send at a rate (and from
    /// the actual send `t0` beside it), else from `t0`.
    @inline(__always)
    private func record(_ t1: UInt64, intended: UInt64, sent t0: UInt64, _ result: inout LoopResult) -> Bool {
        let from = pacer.on ? intended : t0
        if !histogram.record(t1 &- from) { result.failure = .histogramOverflow(t1 &- from); return false }
        if pacer.on && !uncorrected.record(t1 &- t0) { result.failure = .histogramOverflow(t1 &- t0); return false }
        return true
    }

    private func runStream(_ result: inout LoopResult) {
        let size = work.payloadBytes
        var phase = 0
        result.startNs = monotonicNanoseconds()
        pacer.start(result.startNs)
        for n in 0..<work.messages {
            let number = UInt64(n)
            let intended = intendedTime(number)
            let t0 = monotonicNanoseconds()
            let w = endpoint.write(sendBuffer + phase, size)
            if w < 0 { result.failure = .system("write", Int32(-w)); break }
            let r = endpoint.readFully(ackBuffer, streamAckBytes)
            let t1 = monotonicNanoseconds()
            if r < 0 { result.failure = .system("read", Int32(-r)); break }
            if r < streamAckBytes { result.failure = .peerClosed(afterBytes: result.bytes + UInt64(size)); break }
            let acked = UInt64(littleEndian: ackBuffer.load(as: UInt64.self))
            if acked != number { result.failure = .corrupt(atByte: result.bytes); break }
            if !record(t1, intended: intended, sent: t0, &result) { break }
            result.endNs = t1
            result.bytes &+= UInt64(size)
            result.messages &+= 1
            phase = (phase + size) % patternPeriod
        }
    }

    /// Each message carries the trial's key and its number (as much of the header as fits); the
    /// acknowledgement must carry the key and the same number. A foreign datagram is dropped and
    /// counted. Where datagrams may be lost (UDP), a message with no acknowledgement within
    /// `work.replyTimeoutNs` is lost: counted, left out of the histogram, never resent.
    private func runDatagrams(_ result: inout LoopResult) {
        let size = work.payloadBytes
        let key = endpoint.datagramKey
        let numbered = repliesAreNumbered(endpoint, size)
        if setupFailure.isFailure { result.failure = setupFailure; return }
        var answered = true
        result.startNs = monotonicNanoseconds()
        pacer.start(result.startNs)
        for n in 0..<work.messages {
            let number = UInt64(n)
            writeDatagramHeader(sendBuffer, key: key, number: number)
            let intended = intendedTime(number)
            let t0 = monotonicNanoseconds()
            let s = endpoint.write(sendBuffer, size)
            if s < 0 { result.failure = .system("send", Int32(-s)); break }
            result.datagrams.sent &+= 1
            let reply = awaitReply(endpoint, ackBuffer, capacity: ackCapacity, key: key, headerBytes: datagramHeaderBytes,
                                   number: number, numbered: numbered, sentAt: t0, timeoutNs: work.replyTimeoutNs, &result)
            guard case let .arrived(r, t1) = reply else {
                if case .lost = reply { answered = false; continue }
                break
            }
            answered = true
            let acked = UInt64(littleEndian: ackBuffer.load(fromByteOffset: 8, as: UInt64.self))
            if r != datagramHeaderBytes || acked != number { result.failure = .badSequence(acked); break }
            result.datagrams.received &+= 1
            if !record(t1, intended: intended, sent: t0, &result) { break }
            result.endNs = t1
            result.bytes &+= UInt64(size)
            result.messages &+= 1
        }
        if numbered { finishLossyRequests(endpoint, sendBuffer, size, ackBuffer, capacity: ackCapacity, answeredLast: answered, work, &result) }
    }

    package func roundTrips() -> [(UInt64, UInt64)] { recordedPairs(histogram) }
    package func uncorrectedRoundTrips() -> [(UInt64, UInt64)] { pacer.on ? recordedPairs(uncorrected) : [] }
    package func overshoots() -> [(UInt64, UInt64)] { pacer.on ? recordedPairs(pacer.overshoot) : [] }
}

/// Receives each whole message, checks it (every byte with `verify`), then acknowledges it.
package final class AckingReceiver: TimedLoop {
    private let endpoint: Endpoint
    private let work: LoopWork
    private let buffer: UnsafeMutableRawPointer
    private let ackBuffer: UnsafeMutableRawPointer

    package init(_ endpoint: Endpoint, _ work: LoopWork) {
        self.endpoint = endpoint
        self.work = work
        buffer = makePatternBuffer(work.payloadBytes)
        ackBuffer = makePatternBuffer(ackCapacity)
    }

    deinit {
        buffer.deallocate()
        ackBuffer.deallocate()
    }

    package func run(_ result: inout LoopResult) {
        result.startNs = monotonicNanoseconds()
        if endpoint.isDatagram { runDatagrams(&result) } else { runStream(&result) }
    }

    private func runStream(_ result: inout LoopResult) {
        let size = work.payloadBytes
        for number in 0..<UInt64(work.messages) {
            let r = endpoint.readFully(buffer, size)
            if r < 0 { result.failure = .system("read", Int32(-r)); break }
            if r < size { result.failure = .peerClosed(afterBytes: result.bytes + UInt64(r)); break }
            result.endNs = monotonicNanoseconds()
            if work.verify, let bad = firstMismatch(buffer, size, streamOffset: result.bytes) {
                result.failure = .corrupt(atByte: bad)
                break
            }
            ackBuffer.storeBytes(of: number.littleEndian, as: UInt64.self)
            let w = endpoint.write(ackBuffer, streamAckBytes)
            if w < 0 { result.failure = .system("write", Int32(-w)); break }
            result.bytes &+= UInt64(size)
            result.messages &+= 1
        }
    }

    /// Acknowledges only messages that carry the trial's key; drops and counts the others. Reads
    /// one byte more than the payload, so that a message of the wrong length shows. Where datagrams
    /// may be lost, numbers may skip (a lost message) and it acknowledges until the last message's
    /// number or the sender's end marker, waiting as long as the trial lasts.
    private func runDatagrams(_ result: inout LoopResult) {
        let size = work.payloadBytes
        let key = endpoint.datagramKey
        let header = min(size, datagramHeaderBytes)
        let numbered = repliesAreNumbered(endpoint, size)
        let messages = UInt64(work.messages)
        var next: UInt64 = 0  // the number due (where numbers may skip, the lowest still possible)
        while numbered || result.messages < messages {
            let r = endpoint.read(buffer, size + 1)
            if r == -Int(EAGAIN) && numbered { continue }
            if r == -Int(EAGAIN) { result.failure = .noDatagramArrived; break }
            if r < 0 { result.failure = .system("recv", Int32(-r)); break }
            if !carriesTrialKey(buffer, r, key: key, headerBytes: header) {
                result.rejected &+= 1
                continue
            }
            result.endNs = monotonicNanoseconds()
            var number = next
            if r != size { result.failure = .corrupt(atByte: result.bytes + UInt64(min(r, size))); break }
            if size >= datagramHeaderBytes {
                let sent = UInt64(littleEndian: buffer.load(fromByteOffset: 8, as: UInt64.self))
                if numbered && sent == endMarker {
                    writeDatagramHeader(ackBuffer, key: key, number: endMarker)
                    _ = endpoint.write(ackBuffer, datagramHeaderBytes)
                    break
                }
                if numbered ? (sent < next || sent >= messages) : sent != next { result.failure = .badSequence(sent); break }
                number = sent
            }
            if work.verify && !datagramPayloadIsIntact(buffer, size, headerBytes: header) {
                result.failure = .corrupt(atByte: result.bytes)
                break
            }
            writeDatagramHeader(ackBuffer, key: key, number: number)
            let w = endpoint.write(ackBuffer, datagramHeaderBytes)
            if w < 0 { result.failure = .system("send", Int32(-w)); break }
            result.datagrams.received &+= 1
            result.bytes &+= UInt64(size)
            result.messages &+= 1
            next = number + 1
            if numbered && number == messages - 1 { break }
        }
    }

    package func roundTrips() -> [(UInt64, UInt64)] { [] }
}
