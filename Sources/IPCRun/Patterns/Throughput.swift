import Glibc
import IPCPlatform
import IPCModel
import Histogram

/// throughput (asynchronous message, one way): the sender writes `messages` messages of the payload
/// and never waits for an answer; time runs from the sender's first write to the receiver's last
/// byte (CLOCK_MONOTONIC is shared by all processes).
package enum ThroughputPattern: Pattern {
    package static func topology(_ shape: CaseShape) -> Topology { .pair("sender", "receiver") }

    package static func payloadBuffers(worker index: Int, _ shape: CaseShape) -> Int { 1 }

    package static func requirements(_ shape: CaseShape) -> Requirements {
        var r = Requirements(numberedMessages: "sequence number")
        if shape.rate != nil { r.header = (sendTimesHeaderBytes, "the send times at a rate (bytes 16 to 31: intended and actual)") }
        return r
    }

    package static func makeLoop(worker index: Int, _ endpoints: [Endpoint], _ work: LoopWork) -> TimedLoop {
        oneWayLoop(sending: index == 0, endpoints[0], work)
    }

    package static func figures(_ reports: [WorkerReport], _ shape: CaseShape) -> TrialFigures {
        var f = oneWayFigures(sender: reports[0], receiver: reports[1])
        addPacingFigures(&f, shape, senders: [reports[0]], achieved: Double(reports[1].messages))
        addDeliveryFigures(&f, shape, receivers: [reports[1]])
        return f
    }
}

/// The sender's or the receiver's loop of a one-way transfer, for a stream or a message transport.
package func oneWayLoop(sending: Bool, _ endpoint: Endpoint, _ work: LoopWork) -> TimedLoop {
    if sending { return senderLoop([endpoint], work) }
    return endpoint.isDatagram ? DatagramReceiver(endpoint, work) : StreamReceiver(endpoint, work)
}

/// A sender that writes every message to each of `endpoints` in turn (one for throughput and pairs,
/// one per receiver for fanout). All the endpoints are of one transport.
package func senderLoop(_ endpoints: [Endpoint], _ work: LoopWork) -> TimedLoop {
    endpoints[0].isDatagram ? DatagramSender(endpoints, work) as TimedLoop : StreamSender(endpoints, work)
}

/// A one-way transfer's figures: first write to last byte, the bytes and messages that arrived.
package func oneWayFigures(sender: WorkerReport, receiver: WorkerReport) -> TrialFigures {
    var f = TrialFigures()
    f.durationNs = receiver.endNs &- sender.startNs
    f.bytes = receiver.bytes
    f.messages = sender.messages
    f.values[.throughput] = mibPerSecond(receiver.bytes, f.durationNs)
    f.values[.messagesPerSecond] = f.durationNs > 0 ? Double(receiver.messages) / (Double(f.durationNs) / 1e9) : 0
    var d = DatagramCounts()
    d.sent = sender.datagrams.sent
    d.received = receiver.datagrams.received
    d.lost = d.sent - min(d.sent, d.received)
    d.reordered = receiver.datagrams.reordered
    d.duplicated = receiver.datagrams.duplicated
    f.datagrams = d
    return f
}

/// Byte streams: writes `messages` messages of `payloadBytes` to each endpoint, looping on short
/// writes. `bytes` counts every copy written; `messages` counts each message once.
package final class StreamSender: TimedLoop {
    private let endpoints: [Endpoint]
    private let work: LoopWork
    private let buffer: UnsafeMutableRawPointer
    /// At an offered rate: the schedule (message i at t0 + i/R; late ones at once, in order).
    private let pacer: Pacer

    package init(_ endpoints: [Endpoint], _ work: LoopWork) {
        self.endpoints = endpoints
        self.work = work
        buffer = makePatternBuffer(work.payloadBytes)
        pacer = work.makePacer()
    }

    deinit { buffer.deallocate() }

    package func run(_ result: inout LoopResult) {
        let size = work.payloadBytes
        let endpoints = self.endpoints
        var phase = 0  // stream offset modulo the pattern period
        result.startNs = monotonicNanoseconds()
        pacer.start(result.startNs)
        let stamps = work.stampsSendTimes
        sending: for i in 0..<work.messages {
            if pacer.on {
                let intended = pacer.wait(UInt64(i))
                if stamps { stampSendTimes(buffer + phase, intended: intended, actual: monotonicNanoseconds()) }
            }
            for e in endpoints.indices {
                let n = endpoints[e].write(buffer + phase, size)
                if n < 0 { result.failure = .system("write", Int32(-n)); break sending }
                result.bytes &+= UInt64(size)
            }
            if stamps { unstampSendTimes(buffer + phase, phase: phase) }
            result.messages &+= 1
            phase = (phase + size) % patternPeriod
        }
        result.endNs = monotonicNanoseconds()
        pacer.report(&result)
    }

    package func roundTrips() -> [(UInt64, UInt64)] { [] }
    package func overshoots() -> [(UInt64, UInt64)] { pacer.on ? recordedPairs(pacer.overshoot) : [] }
}

/// Byte streams: reads until all bytes have arrived, asking for `payloadBytes` per read and never
/// assuming that one read returns one message.
package final class StreamReceiver: TimedLoop {
    private let endpoint: Endpoint
    private let work: LoopWork
    private let buffer: UnsafeMutableRawPointer
    /// At a rate: each message's send times as they arrive (a message may come in parts), and the
    /// delivery latencies taken from them.
    private let times: UnsafeMutableRawPointer
    private let latencies: DeliveryLatencies

    package init(_ endpoint: Endpoint, _ work: LoopWork) {
        self.endpoint = endpoint
        self.work = work
        buffer = makePatternBuffer(work.payloadBytes)
        times = .allocate(byteCount: 16, alignment: 8)
        latencies = DeliveryLatencies(work.stampsSendTimes)
    }

    deinit {
        buffer.deallocate()
        times.deallocate()
    }

    package func run(_ result: inout LoopResult) {
        let size = work.payloadBytes
        let total = UInt64(size) * UInt64(work.messages)
        var received: UInt64 = 0
        result.startNs = monotonicNanoseconds()
        while received < total {
            let want = Int(min(UInt64(size), total - received))
            let n = endpoint.read(buffer, want)
            if n < 0 { result.failure = .system("read", Int32(-n)); break }
            if n == 0 { result.failure = .peerClosed(afterBytes: received); break }
            if latencies.on {
                let failure = takeStamped(n, at: received, now: monotonicNanoseconds())
                if failure.isFailure { result.failure = failure; break }
            } else if work.verify, let bad = firstMismatch(buffer, n, streamOffset: received) {
                result.failure = .corrupt(atByte: bad)
                break
            }
            received &+= UInt64(n)
        }
        result.endNs = monotonicNanoseconds()
        result.bytes = received
        result.messages = received / UInt64(size)
    }

    /// At a rate: the `n` bytes read at stream offset `start` at `now`, part by message: collects
    /// each message's send times, records its delivery when its last byte is there, and under
    /// verify checks every other byte against the pattern.
    @inline(__always)
    private func takeStamped(_ n: Int, at start: UInt64, now: UInt64) -> LoopFailure {
        let size = work.payloadBytes
        var at = 0
        while at < n {
            let offset = start + UInt64(at)
            let inMessage = Int(offset % UInt64(size))
            let end = min(inMessage + n - at, size)  // this part's end in its message
            let part = buffer + at
            if work.verify {
                let before = min(end, sendTimesOffset)
                if inMessage < before, let bad = firstMismatch(part, before - inMessage, streamOffset: offset) { return .corrupt(atByte: bad) }
                let after = max(inMessage, sendTimesHeaderBytes)
                if after < end, let bad = firstMismatch(part + (after - inMessage), end - after, streamOffset: offset + UInt64(after - inMessage)) {
                    return .corrupt(atByte: bad)
                }
            }
            let low = max(inMessage, sendTimesOffset), high = min(end, sendTimesHeaderBytes)
            if low < high { (times + (low - sendTimesOffset)).copyMemory(from: part + (low - inMessage), byteCount: high - low) }
            if end == size {
                let overflow = latencies.record(times, now: now)
                if overflow != 0 { return .histogramOverflow(overflow) }
            }
            at += end - inMessage
        }
        return .none
    }

    package func roundTrips() -> [(UInt64, UInt64)] { latencies.correctedPairs() }
    package func uncorrectedRoundTrips() -> [(UInt64, UInt64)] { latencies.uncorrectedPairs() }
}

/// The sequence number that marks the end of a transfer.
package let endMarker = UInt64.max

/// Datagrams: sends `messages` datagrams numbered 0..<messages to each endpoint, then the end
/// marker (three times where the kernel may drop it; the receiver's timeout covers the case where
/// all three are lost). Each starts with the trial's key and its number (`datagramHeaderBytes`).
/// `datagrams.sent` and `bytes` count every copy sent; `messages` counts each message once.
package final class DatagramSender: TimedLoop {
    private let endpoints: [Endpoint]
    private let work: LoopWork
    private let key: UInt64
    private let seal: SipHashKey?
    private let markerCopies: Int
    private let buffer: UnsafeMutableRawPointer
    /// At an offered rate: the schedule (message i at t0 + i/R; late ones at once, in order).
    private let pacer: Pacer

    package init(_ endpoints: [Endpoint], _ work: LoopWork) {
        self.endpoints = endpoints
        self.work = work
        key = endpoints[0].datagramKey
        seal = endpoints[0].seal
        markerCopies = endpoints[0].losesDatagrams ? 3 : 1
        buffer = makePatternBuffer(work.payloadBytes)
        pacer = work.makePacer()
    }

    deinit { buffer.deallocate() }

    package func run(_ result: inout LoopResult) {
        let size = work.payloadBytes
        let endpoints = self.endpoints
        result.startNs = monotonicNanoseconds()
        pacer.start(result.startNs)
        let stamps = work.stampsSendTimes
        let headerBytes = stamps ? sendTimesHeaderBytes : datagramHeaderBytes  // what a seal covers
        sending: for n in 0..<work.messages {
            let sequence = UInt64(n)
            let intended = pacer.on ? pacer.wait(sequence) : 0
            writeDatagramHeader(buffer, key: key, number: sequence)
            if stamps { stampSendTimes(buffer, intended: intended, actual: monotonicNanoseconds()) }
            if let seal { sealDatagramHeader(buffer, headerBytes: headerBytes, seal) }
            for e in endpoints.indices {
                let n = endpoints[e].write(buffer, size)
                if n < 0 { result.failure = .system("send", Int32(-n)); break sending }
                result.bytes &+= UInt64(n)
                result.datagrams.sent &+= 1
            }
            result.messages &+= 1
        }
        result.endNs = monotonicNanoseconds()
        pacer.report(&result)
        writeDatagramHeader(buffer, key: key, number: endMarker)
        if let seal { sealDatagramHeader(buffer, headerBytes: headerBytes, seal) }
        for e in endpoints.indices {
            for _ in 0..<markerCopies { _ = endpoints[e].write(buffer, size) }
        }
    }

    package func roundTrips() -> [(UInt64, UInt64)] { [] }
    package func overshoots() -> [(UInt64, UInt64)] { pacer.on ? recordedPairs(pacer.overshoot) : [] }
}

/// Datagrams: receives until the end marker or until nothing arrives for the receive timeout.
/// `DatagramTally` checks and counts each one; the runner computes lost as sent minus distinct
/// received.
package final class DatagramReceiver: TimedLoop {
    private let endpoint: Endpoint
    private let work: LoopWork
    private let buffer: UnsafeMutableRawPointer
    private var tally: DatagramTally
    /// At a rate: each datagram's delivery latency, from the send times in its header.
    private let latencies: DeliveryLatencies

    package init(_ endpoint: Endpoint, _ work: LoopWork) {
        self.endpoint = endpoint
        self.work = work
        buffer = makePatternBuffer(work.payloadBytes)
        tally = DatagramTally(key: endpoint.datagramKey, seal: endpoint.seal,
                              headerBytes: work.stampsSendTimes ? sendTimesHeaderBytes : datagramHeaderBytes, work)
        latencies = DeliveryLatencies(work.stampsSendTimes)
    }

    deinit {
        buffer.deallocate()
        tally.deallocate()
    }

    package func run(_ result: inout LoopResult) {
        let size = work.payloadBytes
        result.startNs = monotonicNanoseconds()
        while true {
            let n = endpoint.read(buffer, size)
            if n == -Int(EAGAIN) { break }  // receive timeout: the end marker was lost
            if n < 0 { result.failure = .system("recv", Int32(-n)); break }
            let now = monotonicNanoseconds()
            let outcome = tally.take(buffer, n, at: now, &result)
            if outcome == .endMarker || outcome == .failed { break }
            if outcome == .data && latencies.on {
                let overflow = latencies.record(buffer + sendTimesOffset, now: now)
                if overflow != 0 { result.failure = .histogramOverflow(overflow); break }
            }
        }
        if !tally.anyArrived && !result.failure.isFailure { result.failure = .noDatagramArrived }
        result.messages = result.datagrams.received
    }

    package func roundTrips() -> [(UInt64, UInt64)] { latencies.correctedPairs() }
    package func uncorrectedRoundTrips() -> [(UInt64, UInt64)] { latencies.uncorrectedPairs() }
}

/// What a loop that receives numbered datagrams (`writeDatagramHeader`) keeps: a datagram without
/// the trial's key (or, on a sealed endpoint, without a valid MAC) is dropped and counted as
/// rejected, never as data; a bitmap of sequence numbers separates first arrivals, duplicates and
/// late (reordered) ones. On a sealed endpoint a number already received is a replay, rejected too:
/// the sender sends each number once. Allocates only in `init`.
package struct DatagramTally {
    package enum Outcome { case data, duplicate, foreign, endMarker, failed }

    private let key: UInt64
    private let seal: SipHashKey?
    /// The header's length: the key and number, and at a rate the send times after them.
    private let headerBytes: Int
    private let messages: UInt64
    private let size: Int
    private let verify: Bool
    private let seen: UnsafeMutablePointer<UInt64>
    private var highest: UInt64 = 0
    private(set) var anyArrived = false

    package init(key: UInt64, seal: SipHashKey? = nil, headerBytes: Int = datagramHeaderBytes, _ work: LoopWork) {
        self.key = key
        self.seal = seal
        self.headerBytes = headerBytes
        messages = UInt64(work.messages)
        size = work.payloadBytes
        verify = work.verify
        let words = (work.messages + 63) / 64
        seen = UnsafeMutablePointer<UInt64>.allocate(capacity: words)
        seen.initialize(repeating: 0, count: words)
    }

    package func deallocate() { seen.deallocate() }

    /// Checks and counts the `count` bytes that arrived at `now` in `buffer`: `bytes`, `endNs`, the
    /// datagram counts, `rejected`, and `failure` when the datagram is impossible or corrupt.
    @inline(__always)
    package mutating func take(_ buffer: UnsafeRawPointer, _ count: Int, at now: UInt64, _ result: inout LoopResult) -> Outcome {
        let authentic = if let seal { hasValidSeal(buffer, count, headerBytes: headerBytes, seal) }
            else { carriesTrialKey(buffer, count, key: key, headerBytes: headerBytes) }
        if !authentic {
            result.rejected &+= 1
            return .foreign
        }
        let sequence = UInt64(littleEndian: buffer.load(fromByteOffset: 8, as: UInt64.self))
        if sequence == endMarker { return .endMarker }
        guard sequence < messages else { result.failure = .badSequence(sequence); return .failed }
        if verify {
            if count != size { result.failure = .corrupt(atByte: result.bytes + UInt64(count)); return .failed }
            if !datagramPayloadIsIntact(buffer, count, headerBytes: headerBytes) {
                result.failure = .corrupt(atByte: result.bytes)
                return .failed
            }
        }
        let word = Int(sequence / 64), bit = UInt64(1) << (sequence % 64)
        if seal != nil && seen[word] & bit != 0 {
            result.rejected &+= 1  // a replay of a datagram someone read from the group
            return .foreign
        }
        result.endNs = now
        result.bytes &+= UInt64(count)
        if seen[word] & bit != 0 {
            result.datagrams.duplicated &+= 1
            return .duplicate
        }
        seen[word] |= bit
        result.datagrams.received &+= 1
        if anyArrived && sequence < highest { result.datagrams.reordered &+= 1 }
        if !anyArrived || sequence > highest { highest = sequence }
        anyArrived = true
        return .data
    }
}
