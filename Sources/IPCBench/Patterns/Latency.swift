import Glibc
import Histogram

// Latency: ping-pong. The client sends `payloadBytes`, the server reads all of them and sends them
// back, the client reads all of them: one round trip, recorded in an HDR histogram in nanoseconds.

/// Round trips up to a minute fit; 3 significant digits keep the error under 0.1%.
func makeRoundTripHistogram() -> Histogram<UInt64> {
    Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000_000,
                      numberOfSignificantValueDigits: .three)
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
        let readFD = endpoint.readFD, writeFD = endpoint.writeFD
        var phase = 0
        result.startNs = monotonicNanoseconds()
        var t0 = result.startNs
        for _ in 0..<work.messages {
            let ping = sendBuffer + phase
            let w = writeFully(writeFD, ping, size)
            if w < 0 { result.failure = .system("write", Int32(-w)); break }
            let r = readFully(readFD, replyBuffer, size)
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

    /// Each ping carries its round-trip number in its first (up to 8) bytes, so that a stale or
    /// foreign reply is caught rather than timed.
    private func runDatagrams(_ result: inout LoopResult) {
        let size = work.payloadBytes
        let fd = endpoint.readFD
        let stamp = min(size, 8)
        result.startNs = monotonicNanoseconds()
        var t0 = result.startNs
        for trip in 0..<UInt64(work.messages) {
            var tag = trip.littleEndian
            memcpy(sendBuffer, &tag, stamp)
            let s = sendDatagram(fd, sendBuffer, size)
            if s < 0 { result.failure = .system("send", Int32(-s)); break }
            result.datagrams.sent &+= 1
            let r = receiveDatagram(fd, replyBuffer, size)
            let t1 = monotonicNanoseconds()
            if r == -Int(EAGAIN) { result.failure = .datagramLost(roundTrip: trip); break }
            if r < 0 { result.failure = .system("recv", Int32(-r)); break }
            result.datagrams.received &+= 1
            if r != size || memcmp(sendBuffer, replyBuffer, work.verify ? size : stamp) != 0 {
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

    func roundTrips() -> [(UInt64, UInt64)] {
        var pairs: [(UInt64, UInt64)] = []
        for v in histogram.recordedValues() { pairs.append((v.value, v.count)) }
        return pairs
    }
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
        let size = work.payloadBytes
        let readFD = endpoint.readFD, writeFD = endpoint.writeFD
        result.startNs = monotonicNanoseconds()
        for _ in 0..<work.messages {
            let r: Int
            if endpoint.isDatagram {
                r = receiveDatagram(readFD, buffer, size)
                if r == -Int(EAGAIN) { result.failure = .noDatagramArrived; break }
            } else {
                r = readFully(readFD, buffer, size)
                if r >= 0 && r < size { result.failure = .peerClosed(afterBytes: result.bytes + UInt64(r)); break }
            }
            if r < 0 { result.failure = .system(endpoint.isDatagram ? "recv" : "read", Int32(-r)); break }
            let w = endpoint.isDatagram ? sendDatagram(writeFD, buffer, r) : writeFully(writeFD, buffer, r)
            if w < 0 { result.failure = .system(endpoint.isDatagram ? "send" : "write", Int32(-w)); break }
            result.bytes &+= UInt64(r)
            result.messages &+= 1
        }
        result.endNs = monotonicNanoseconds()
    }

    func roundTrips() -> [(UInt64, UInt64)] { [] }
}
