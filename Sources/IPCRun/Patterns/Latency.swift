import Glibc
import Histogram
import IPCPlatform
import IPCModel

// Latency: ping-pong. The client sends `payloadBytes`, the server reads all of them and sends them
// back, the client reads all of them: one round trip, recorded in an HDR histogram in nanoseconds.

/// latency (synchronous request, ping-pong): the client sends the payload, the server reads all of
/// it and sends it back; each round trip goes into an HDR histogram.
package enum LatencyPattern: Pattern {
    package static func topology(_ shape: CaseShape) -> Topology { .pair("client", "server") }

    package static func payloadBuffers(worker index: Int, _ shape: CaseShape) -> Int { index == 0 ? 2 : 1 }

    package static func requirements(_ shape: CaseShape) -> Requirements { Requirements(bothWays: true, numberedWhereLost: "round-trip number") }

    package static func makeLoop(worker index: Int, _ endpoints: [Endpoint], _ work: LoopWork) -> TimedLoop {
        index == 0 ? PingClient(endpoints[0], work) : EchoServer(endpoints[0], work)
    }

    package static func figures(_ reports: [WorkerReport], _ shape: CaseShape) -> TrialFigures {
        let client = reports[0]
        var f = TrialFigures()
        f.durationNs = client.endNs &- client.startNs
        f.bytes = client.bytes
        f.messages = client.messages
        f.latencies = client.roundTrips
        var d = client.datagrams
        d.lost = d.sent - min(d.sent, d.received)
        f.datagrams = d
        addPacingFigures(&f, shape, senders: [client], achieved: Double(client.messages))
        return f
    }
}

/// Round trips up to a minute fit; 3 significant digits keep the error under 0.1%.
package func makeRoundTripHistogram() -> Histogram<UInt64> {
    Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000_000,
                      numberOfSignificantValueDigits: .three)
}

/// A histogram of the (nanoseconds, count) pairs workers reported; they come from histograms with
/// this one's range, so every one fits.
package func makeRoundTripHistogram(_ pairs: [(UInt64, UInt64)]) -> Histogram<UInt64> {
    var h = makeRoundTripHistogram()
    for (value, count) in pairs { _ = h.record(value, count: count) }
    return h
}

package final class PingClient: TimedLoop {
    private let endpoint: Endpoint
    private let work: LoopWork
    private let sendBuffer: UnsafeMutableRawPointer
    private let replyBuffer: UnsafeMutableRawPointer
    private var histogram = makeRoundTripHistogram()
    /// At an offered rate: the schedule, and the round trips from the actual sends.
    private let pacer: Pacer
    private var uncorrected = makeRoundTripHistogram()
    private let setupFailure: LoopFailure

    package init(_ endpoint: Endpoint, _ work: LoopWork) {
        self.endpoint = endpoint
        self.work = work
        sendBuffer = makePatternBuffer(work.payloadBytes)
        replyBuffer = makePatternBuffer(work.payloadBytes)
        pacer = work.makePacer()
        setupFailure = repliesAreNumbered(endpoint, work.payloadBytes) ? setReplyTimeout(endpoint, work.replyTimeoutNs) : .none
    }

    deinit {
        sendBuffer.deallocate()
        replyBuffer.deallocate()
    }

    package func run(_ result: inout LoopResult) {
        if endpoint.isDatagram { runDatagrams(&result) } else { runStream(&result) }
        pacer.report(&result)
    }

    /// At an offered rate, waits for ping `i`'s intended time (at once when it has passed: one
    /// ping is outstanding, so after a stall the late ones follow each other) and returns it, the
    /// time its round trip is taken from; else `t0`.
    @inline(__always)
    private func sendTime(_ i: UInt64, else t0: UInt64) -> UInt64 { pacer.on ? pacer.wait(i) : t0 }

    /// Records a round trip that ended at `t1`: from `from` (the intended send at a rate) and, at
    /// a rate, from the actual send `sent` too.
    @inline(__always)
    private func record(_ t1: UInt64, from: UInt64, sent: UInt64, _ result: inout LoopResult) -> Bool {
        if !histogram.record(t1 &- from) { result.failure = .histogramOverflow(t1 &- from); return false }
        if pacer.on && !uncorrected.record(t1 &- sent) { result.failure = .histogramOverflow(t1 &- sent); return false }
        return true
    }

    private func runStream(_ result: inout LoopResult) {
        let size = work.payloadBytes
        var phase = 0
        result.startNs = monotonicNanoseconds()
        pacer.start(result.startNs)
        var t0 = result.startNs
        for i in 0..<work.messages {
            let from = sendTime(UInt64(i), else: t0)
            if pacer.on { t0 = monotonicNanoseconds() }
            let ping = sendBuffer + phase
            let w = endpoint.write(ping, size)
            if w < 0 { result.failure = .system("write", Int32(-w)); break }
            let r = endpoint.readFully(replyBuffer, size)
            let t1 = monotonicNanoseconds()
            if r < 0 { result.failure = .system("read", Int32(-r)); break }
            if r < size { result.failure = .peerClosed(afterBytes: result.bytes + UInt64(r)); break }
            if !record(t1, from: from, sent: t0, &result) { break }
            if work.verify && memcmp(ping, replyBuffer, size) != 0 {
                result.failure = .corrupt(atByte: result.bytes)
                break
            }
            result.endNs = t1
            result.bytes &+= UInt64(size)
            result.messages &+= 1
            phase = (phase + size) % patternPeriod
            t0 = monotonicNanoseconds()
        }
    }

    /// Each ping starts with the trial's key and its round-trip number (as much of the header as
    /// fits), so that a foreign reply is dropped and counted, and a stale one is caught, not timed.
    /// Where datagrams may be lost (UDP), a ping with no reply within `work.replyTimeoutNs` is
    /// lost: counted, left out of the histogram, and the next ping goes out with the next number.
    private func runDatagrams(_ result: inout LoopResult) {
        let size = work.payloadBytes
        let key = endpoint.datagramKey
        let header = min(size, datagramHeaderBytes)
        let numbered = repliesAreNumbered(endpoint, size)
        if setupFailure.isFailure { result.failure = setupFailure; return }
        var answered = true
        result.startNs = monotonicNanoseconds()
        pacer.start(result.startNs)
        for n in 0..<work.messages {
            let trip = UInt64(n)
            writeDatagramHeader(sendBuffer, key: key, number: trip)
            let intended = sendTime(trip, else: 0)
            let t0 = monotonicNanoseconds()
            let from = pacer.on ? intended : t0
            let s = endpoint.write(sendBuffer, size)
            if s < 0 { result.failure = .system("send", Int32(-s)); break }
            result.datagrams.sent &+= 1
            let reply = awaitReply(endpoint, replyBuffer, capacity: size, key: key, headerBytes: header, number: trip,
                                   numbered: numbered, sentAt: t0, timeoutNs: work.replyTimeoutNs, &result)
            guard case let .arrived(r, t1) = reply else {
                if case .lost = reply { answered = false; continue }
                break
            }
            answered = true
            result.datagrams.received &+= 1
            if r != size || memcmp(sendBuffer, replyBuffer, work.verify ? size : header) != 0 {
                result.failure = .corrupt(atByte: result.bytes)
                break
            }
            if !record(t1, from: from, sent: t0, &result) { break }
            result.endNs = t1
            result.bytes &+= UInt64(size)
            result.messages &+= 1
        }
        if numbered { finishLossyRequests(endpoint, sendBuffer, size, replyBuffer, capacity: size, answeredLast: answered, work, &result) }
    }

    package func roundTrips() -> [(UInt64, UInt64)] { recordedPairs(histogram) }
    package func uncorrectedRoundTrips() -> [(UInt64, UInt64)] { pacer.on ? recordedPairs(uncorrected) : [] }
    package func overshoots() -> [(UInt64, UInt64)] { pacer.on ? recordedPairs(pacer.overshoot) : [] }
}

package final class EchoServer: TimedLoop {
    private let endpoint: Endpoint
    private let work: LoopWork
    private let buffer: UnsafeMutableRawPointer

    package init(_ endpoint: Endpoint, _ work: LoopWork) {
        self.endpoint = endpoint
        self.work = work
        buffer = makePatternBuffer(work.payloadBytes)
    }

    deinit { buffer.deallocate() }

    package func run(_ result: inout LoopResult) {
        result.startNs = monotonicNanoseconds()
        if endpoint.isDatagram { runDatagrams(&result) } else { runStream(&result) }
        result.endNs = monotonicNanoseconds()
    }

    private func runStream(_ result: inout LoopResult) {
        let size = work.payloadBytes
        for _ in 0..<work.messages {
            let r = endpoint.readFully(buffer, size)
            if r < 0 { result.failure = .system("read", Int32(-r)); break }
            if r < size { result.failure = .peerClosed(afterBytes: result.bytes + UInt64(r)); break }
            let w = endpoint.write(buffer, r)
            if w < 0 { result.failure = .system("write", Int32(-w)); break }
            result.bytes &+= UInt64(r)
            result.messages &+= 1
        }
    }

    /// Echoes only pings that carry the trial's key; drops and counts the others. Where datagrams may
    /// be lost, it cannot count on every ping arriving: it echoes until the last ping's number or the
    /// client's end marker, and waits as long as the trial lasts (the runner ends a trial whose
    /// client has gone).
    private func runDatagrams(_ result: inout LoopResult) {
        let size = work.payloadBytes
        let key = endpoint.datagramKey
        let header = min(size, datagramHeaderBytes)
        let numbered = repliesAreNumbered(endpoint, size)
        let last = UInt64(work.messages) &- 1
        while numbered || result.messages < UInt64(work.messages) {
            let r = endpoint.read(buffer, size)
            if r == -Int(EAGAIN) && numbered { continue }
            if r == -Int(EAGAIN) { result.failure = .noDatagramArrived; break }
            if r < 0 { result.failure = .system("recv", Int32(-r)); break }
            if !carriesTrialKey(buffer, r, key: key, headerBytes: header) {
                result.rejected &+= 1
                continue
            }
            let w = endpoint.write(buffer, r)
            if w < 0 { result.failure = .system("send", Int32(-w)); break }
            let number = numbered ? UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) : 0
            if number != endMarker {
                result.bytes &+= UInt64(r)
                result.messages &+= 1
            }
            if numbered && number >= last { break }
        }
    }

    package func roundTrips() -> [(UInt64, UInt64)] { [] }
}

// MARK: - Requests where messages may be lost

/// Requests and replies carry a whole header (the trial's key and the request's number) on a
/// transport that may lose them: the client can then count a request as lost and tell a late reply
/// from the next one's. (A run skips such cases with smaller payloads; see `Requirements`.)
@inline(__always)
package func repliesAreNumbered(_ endpoint: Endpoint, _ payloadBytes: Int) -> Bool {
    endpoint.losesDatagrams && payloadBytes >= datagramHeaderBytes
}

/// Makes the client's receives give up after `ns` (SO_RCVTIMEO); a loop's `init` calls it, before
/// the timed loop.
package func setReplyTimeout(_ endpoint: Endpoint, _ ns: UInt64) -> LoopFailure {
    do {
        try setReceiveTimeout(endpoint.pollDescriptors.read, nanoseconds: ns)
        return .none
    } catch let error as SystemCallError {
        return .system("setsockopt(SO_RCVTIMEO)", error.code)
    } catch {
        return .system("setsockopt(SO_RCVTIMEO)", EINVAL)
    }
}

/// What a client got for one request.
package enum Reply {
    case arrived(bytes: Int, at: UInt64)
    /// No reply within the timeout (only where replies are numbered).
    case lost
    /// `result.failure` says why.
    case failed
}

/// Reads until the reply to request `number` (sent at `t0`) arrives, dropping and counting in
/// `rejected` what lacks the trial's key. Where replies are numbered, a reply to an earlier request
/// is late: counted in `datagrams.reordered` and passed over; and the request is lost when its
/// reply has not come within `timeoutNs` of `t0`.
@inline(__always)
package func awaitReply(_ endpoint: Endpoint, _ buffer: UnsafeMutableRawPointer, capacity: Int, key: UInt64, headerBytes: Int,
                number: UInt64, numbered: Bool, sentAt t0: UInt64, timeoutNs: UInt64, _ result: inout LoopResult) -> Reply {
    while true {
        let r = endpoint.read(buffer, capacity)
        let t1 = monotonicNanoseconds()
        if r == -Int(EAGAIN) && numbered { return .lost }
        if r == -Int(EAGAIN) { result.failure = .datagramLost(roundTrip: number); return .failed }
        if r < 0 { result.failure = .system("recv", Int32(-r)); return .failed }
        if !carriesTrialKey(buffer, r, key: key, headerBytes: headerBytes) {
            result.rejected &+= 1
            continue
        }
        if !numbered { return .arrived(bytes: r, at: t1) }
        let replied = UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        if replied > number { result.failure = .badSequence(replied); return .failed }
        let inTime = t1 &- t0 <= timeoutNs
        if replied == number && inTime { return .arrived(bytes: r, at: t1) }
        result.datagrams.reordered &+= 1  // a late reply: to an earlier request, or to this one after its time
        if replied == number || !inTime { return .lost }
    }
}

/// After the last request, where replies are numbered: when the last request went unanswered the
/// server may still be waiting for it, so the client sends the end marker (a request numbered
/// `endMarker`) until the server echoes it or has gone, at most 5 times. (Whether too many were
/// lost is the case's to say, over all its trials: `CaseState.finished`.)
package func finishLossyRequests(_ endpoint: Endpoint, _ request: UnsafeMutableRawPointer, _ size: Int,
                         _ reply: UnsafeMutableRawPointer, capacity: Int, answeredLast: Bool, _ work: LoopWork, _ result: inout LoopResult) {
    if result.failure.isFailure { return }
    if !answeredLast {
        let key = endpoint.datagramKey
        for _ in 0..<5 {
            writeDatagramHeader(request, key: key, number: endMarker)
            let t0 = monotonicNanoseconds()
            if endpoint.write(request, size) < 0 { break }
            let outcome = awaitReply(endpoint, reply, capacity: capacity, key: key, headerBytes: datagramHeaderBytes,
                                     number: endMarker, numbered: true, sentAt: t0, timeoutNs: work.replyTimeoutNs, &result)
            if case .lost = outcome { continue }
            result.failure = .none  // echoed, or the server has gone (ECONNREFUSED): either way it is done
            break
        }
    }
}
