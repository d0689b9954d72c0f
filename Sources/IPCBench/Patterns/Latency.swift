import Glibc
import Histogram

// Latency: ping-pong. The client sends `payloadBytes`, the server reads all of them and sends them
// back, the client reads all of them: one round trip, recorded in an HDR histogram in nanoseconds.

/// latency (synchronous request, ping-pong): the client sends the payload, the server reads all of
/// it and sends it back; each round trip goes into an HDR histogram.
enum LatencyPattern: Pattern {
    static let summary = "ping-pong (synchronous request); round-trip time percentiles from an HDR histogram"
    static let sizing = WorkSizing.count
    static let metrics = [Metric.rttP50, .rttP99]

    static func topology(_ shape: CaseShape) -> Topology { .pair("client", "server") }

    static func payloadBuffers(worker index: Int, _ shape: CaseShape) -> Int { index == 0 ? 2 : 1 }

    static func requirements(_ shape: CaseShape) -> Requirements { Requirements(bothWays: true) }

    static func makeLoop(worker index: Int, _ endpoints: [Endpoint], _ work: LoopWork) -> TimedLoop {
        index == 0 ? PingClient(endpoints[0], work) : EchoServer(endpoints[0], work)
    }

    static func figures(_ reports: [WorkerReport], _ shape: CaseShape) -> TrialFigures {
        let client = reports[0]
        var f = TrialFigures()
        f.durationNs = client.endNs &- client.startNs
        f.bytes = client.bytes
        f.messages = client.messages
        f.latencies = client.roundTrips
        var d = client.datagrams
        d.lost = d.sent - min(d.sent, d.received)
        f.datagrams = d
        return f
    }
}

/// Round trips up to a minute fit; 3 significant digits keep the error under 0.1%.
func makeRoundTripHistogram() -> Histogram<UInt64> {
    Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000_000,
                      numberOfSignificantValueDigits: .three)
}

/// A histogram of the (nanoseconds, count) pairs workers reported; they come from histograms with
/// this one's range, so every one fits.
func makeRoundTripHistogram(_ pairs: [(UInt64, UInt64)]) -> Histogram<UInt64> {
    var h = makeRoundTripHistogram()
    for (value, count) in pairs { _ = h.record(value, count: count) }
    return h
}

final class PingClient: TimedLoop {
    private let endpoint: Endpoint
    private let work: LoopWork
    private let sendBuffer: UnsafeMutableRawPointer
    private let replyBuffer: UnsafeMutableRawPointer
    private var histogram = makeRoundTripHistogram()

    init(_ endpoint: Endpoint, _ work: LoopWork) {
        self.endpoint = endpoint
        self.work = work
        sendBuffer = makePatternBuffer(work.payloadBytes)
        replyBuffer = makePatternBuffer(work.payloadBytes)
    }

    deinit {
        sendBuffer.deallocate()
        replyBuffer.deallocate()
    }

    func run(_ result: inout LoopResult) {
        if endpoint.isDatagram { runDatagrams(&result) } else { runStream(&result) }
    }

    private func runStream(_ result: inout LoopResult) {
        let size = work.payloadBytes
        var phase = 0
        result.startNs = monotonicNanoseconds()
        var t0 = result.startNs
        for _ in 0..<work.messages {
            let ping = sendBuffer + phase
            let w = endpoint.write(ping, size)
            if w < 0 { result.failure = .system("write", Int32(-w)); break }
            let r = endpoint.readFully(replyBuffer, size)
            let t1 = monotonicNanoseconds()
            if r < 0 { result.failure = .system("read", Int32(-r)); break }
            if r < size { result.failure = .peerClosed(afterBytes: result.bytes + UInt64(r)); break }
            if !histogram.record(t1 &- t0) { result.failure = .histogramOverflow(t1 &- t0); break }
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
    private func runDatagrams(_ result: inout LoopResult) {
        let size = work.payloadBytes
        let key = endpoint.datagramKey
        let header = min(size, datagramHeaderBytes)
        result.startNs = monotonicNanoseconds()
        var t0 = result.startNs
        for trip in 0..<UInt64(work.messages) {
            writeDatagramHeader(sendBuffer, key: key, number: trip)
            let s = endpoint.write(sendBuffer, size)
            if s < 0 { result.failure = .system("send", Int32(-s)); break }
            result.datagrams.sent &+= 1
            var r = 0
            var t1: UInt64 = 0
            while true {
                r = endpoint.read(replyBuffer, size)
                t1 = monotonicNanoseconds()
                if r < 0 || carriesTrialKey(replyBuffer, r, key: key, headerBytes: header) { break }
                result.rejected &+= 1
            }
            if r == -Int(EAGAIN) { result.failure = .datagramLost(roundTrip: trip); break }
            if r < 0 { result.failure = .system("recv", Int32(-r)); break }
            result.datagrams.received &+= 1
            if r != size || memcmp(sendBuffer, replyBuffer, work.verify ? size : header) != 0 {
                result.failure = .corrupt(atByte: result.bytes)
                break
            }
            if !histogram.record(t1 &- t0) { result.failure = .histogramOverflow(t1 &- t0); break }
            result.endNs = t1
            result.bytes &+= UInt64(size)
            result.messages &+= 1
            t0 = monotonicNanoseconds()
        }
    }

    func roundTrips() -> [(UInt64, UInt64)] { recordedPairs(histogram) }
}

final class EchoServer: TimedLoop {
    private let endpoint: Endpoint
    private let work: LoopWork
    private let buffer: UnsafeMutableRawPointer

    init(_ endpoint: Endpoint, _ work: LoopWork) {
        self.endpoint = endpoint
        self.work = work
        buffer = makePatternBuffer(work.payloadBytes)
    }

    deinit { buffer.deallocate() }

    func run(_ result: inout LoopResult) {
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

    /// Echoes only pings that carry the trial's key; drops and counts the others.
    private func runDatagrams(_ result: inout LoopResult) {
        let size = work.payloadBytes
        let key = endpoint.datagramKey
        let header = min(size, datagramHeaderBytes)
        while result.messages < UInt64(work.messages) {
            let r = endpoint.read(buffer, size)
            if r == -Int(EAGAIN) { result.failure = .noDatagramArrived; break }
            if r < 0 { result.failure = .system("recv", Int32(-r)); break }
            if !carriesTrialKey(buffer, r, key: key, headerBytes: header) {
                result.rejected &+= 1
                continue
            }
            let w = endpoint.write(buffer, r)
            if w < 0 { result.failure = .system("send", Int32(-w)); break }
            result.bytes &+= UInt64(r)
            result.messages &+= 1
        }
    }

    func roundTrips() -> [(UInt64, UInt64)] { [] }
}
