import Glibc
import Histogram
import IPCPlatform
import IPCModel

/// A way processes talk, as one type in its own file under Patterns/ plus a line in
/// Patterns/PatternRegistry.swift (what it is, its parameters and metrics, are IPCModel's PatternKind):
/// its workers and links, its timed loops, and how a trial's reports become figures.
package protocol Pattern {
    /// The trial's workers (by role name) and the connections between them.
    static func topology(_ shape: CaseShape) -> Topology
    /// How many buffers of the payload's size worker `index` allocates (the trial's memory bound counts them).
    static func payloadBuffers(worker index: Int, _ shape: CaseShape) -> Int
    /// What it needs of a transport for `shape` (Compatibility.swift decides whether a case runs).
    static func requirements(_ shape: CaseShape) -> Requirements
    /// The timed loop of worker `index`, with one endpoint per link it is on, in link order.
    static func makeLoop(worker index: Int, _ endpoints: [Endpoint], _ work: LoopWork) -> TimedLoop
    /// One trial's figures from every worker's report, in worker order.
    static func figures(_ reports: [WorkerReport], _ shape: CaseShape) -> TrialFigures
}

/// A trial's workers and the links between them. A link joins worker `from` (its role a: the side
/// that connects and, mostly, sends) and worker `to` (role b). Links between the same two workers are
/// one transport instance; on a one-to-many transport, the links of one `group` are one instance
/// (one group, every sender's sends reach every receiver). A worker has one endpoint per instance
/// it is on, in the order of its links.
package struct Topology: Equatable {
    package let roles: [String]
    package let links: [Link]

    package struct Link: Equatable {
        package let from: Int
        package let to: Int
        /// Which one-to-many instance (multicast group) it belongs to.
        package var group = 0
    }

    /// Which transport instance a link is part of: its group on a one-to-many transport, else the
    /// pair of workers it joins.
    package static func instance(_ link: Link, oneToMany: Bool) -> Int { oneToMany ? link.group : link.from << 32 | link.to }

    /// Worker `index`'s endpoints, as the indices of the links that make them: the first link of each
    /// transport instance it is on, in link order.
    package func endpointLinks(of index: Int, oneToMany: Bool) -> [Int] {
        var seen: Set<Int> = []
        return links.indices.filter { i in
            (links[i].from == index || links[i].to == index) && seen.insert(Self.instance(links[i], oneToMany: oneToMany)).inserted
        }
    }

    /// How many transport instances the links are.
    package func instanceCount(oneToMany: Bool) -> Int { Set(links.map { Self.instance($0, oneToMany: oneToMany) }).count }

    /// How many endpoints all the workers have together.
    package func endpointCount(oneToMany: Bool) -> Int { roles.indices.reduce(0) { $0 + endpointLinks(of: $1, oneToMany: oneToMany).count } }

    /// Two workers on one link: the shape of most patterns.
    package static func pair(_ a: String, _ b: String) -> Topology {
        Topology(roles: [a, b], links: [Link(from: 0, to: 1)])
    }
}

/// MiB/s for `bytes` over `ns` nanoseconds; 0 for an empty interval.
package func mibPerSecond(_ bytes: UInt64, _ ns: UInt64) -> Double {
    ns > 0 ? Double(bytes) / 1_048_576 / (Double(ns) / 1e9) : 0
}

/// What one trial's loop moves.
public struct LoopWork: Sendable, Equatable {
    public var payloadBytes: Int
    /// Messages each sender writes, round trips, or requests.
    public var messages: Int
    /// Check every byte against the expected pattern (slower; for tests and `--verify`).
    public var verify: Bool
    /// The case's parameters (async-request's depth; pubsub's workers and topics).
    public var shape: CaseShape
    /// The transport is one-to-many: a worker has an endpoint per group it is on (`Topology`).
    public var oneToMany = false
    /// A one-way sender may write its send times into a message's bytes at a rate: false where the
    /// kernel holds the sender's pages until they are read (vmsplice), so that it never rewrites them.
    public var messagesCarryTimes = true
    /// Where messages may be lost: how long a request waits for its reply before it counts as lost
    /// (`replyTimeout(warmupP99Ns:)`); the longest until the case's warm-up has set it.
    public var replyTimeoutNs = longestReplyTimeoutNs
    /// async-request: requests kept outstanding.
    public var depth: Int { shape.depth }

    public init(payloadBytes: Int, messages: Int, verify: Bool, depth: Int = 1) {
        self.payloadBytes = payloadBytes
        self.messages = messages
        self.verify = verify
        shape = CaseShape(payloadBytes: payloadBytes, depth: depth)
    }
}

/// Why a timed loop stopped early. A plain enum so that recording it allocates nothing.
package enum LoopFailure {
    case none
    case system(StaticString, Int32)
    case peerClosed(afterBytes: UInt64)
    case corrupt(atByte: UInt64)
    case badSequence(UInt64)
    case datagramLost(roundTrip: UInt64)
    case noDatagramArrived
    case histogramOverflow(UInt64)
    case missing(received: UInt64, due: UInt64)

    package var isFailure: Bool {
        if case .none = self { return false }
        return true
    }

    package var message: String? {
        switch self {
        case .none: return nil
        case let .system(call, code): return "\(call): \(errorText(code))"
        case let .peerClosed(bytes): return "the peer closed the connection after \(bytes) bytes"
        case let .corrupt(at): return "data corrupted: byte \(at) differs from what was sent"
        case let .badSequence(seq): return "data corrupted: datagram with impossible sequence number \(seq)"
        case let .datagramLost(trip): return "datagram lost in round trip \(trip) (no reply within the receive timeout)"
        case .noDatagramArrived: return "no datagram arrived within the receive timeout"
        case let .histogramOverflow(ns): return "round trip of \(ns) ns is beyond the histogram's range"
        case let .missing(received, due): return "only \(received) of the \(due) messages due arrived before every sender had ended"
        }
    }
}

/// What a worker's timed loop measured. Plain values only: it crosses the control channel as bytes.
package struct LoopResult {
    package var failure = LoopFailure.none
    /// Clock at the first byte sent (a) and at the last byte received (b), CLOCK_MONOTONIC ns.
    package var startNs: UInt64 = 0
    package var endNs: UInt64 = 0
    package var bytes: UInt64 = 0
    package var messages: UInt64 = 0
    package var datagrams = DatagramCounts()
    /// Datagrams dropped because they were too short or did not carry the trial's key.
    package var rejected: UInt64 = 0
    /// At an offered rate: messages the sender's schedule released, and how many went late.
    package var paced: UInt64 = 0
    package var late: UInt64 = 0
}

/// The longest a request over a lossy transport waits for its reply (and how long it waits before
/// the case's warm-up has measured a p99).
package let longestReplyTimeoutNs: UInt64 = 1_000_000_000

/// How long a request over a lossy transport waits for its reply: 10 × the warm-up's p99, at least
/// 20 ms and at most 1 s. Longer than that, the request counts as lost, and its reply, should it
/// come, as late. The floor is a busy machine's: its scheduler can keep a runnable worker waiting
/// for several milliseconds (with 1 ms, 2.8% of udp6 requests were lost while 3 builds ran on 2 CPUs).
package func replyTimeout(warmupP99Ns p99: UInt64) -> UInt64 {
    min(max(p99.multipliedReportingOverflow(by: 10).partialValue, 20_000_000), longestReplyTimeoutNs)
}

/// Over a lossy transport, why a request pattern's case fails: more than 1% of its requests, over
/// all its measured trials, got no reply in time; nil otherwise.
package func tooManyLost(_ d: DatagramCounts) -> String? {
    guard d.lost * 100 > d.sent else { return nil }
    return "\(d.lost) of \(d.sent) requests got no reply in time (more than 1%): the machine is too busy, or the socket's buffer too small"
}

/// Datagram header: the trial's 64-bit key, then a 64-bit sequence (throughput) or round-trip
/// (latency) number, both little-endian. A latency ping shorter than this carries its first bytes.
package let datagramHeaderBytes = 16

/// Writes the header into the first 16 bytes of `buffer` (which has room beyond the payload).
@inline(__always)
package func writeDatagramHeader(_ buffer: UnsafeMutableRawPointer, key: UInt64, number: UInt64) {
    buffer.storeBytes(of: key.littleEndian, toByteOffset: 0, as: UInt64.self)
    buffer.storeBytes(of: number.littleEndian, toByteOffset: 8, as: UInt64.self)
}

/// True when a received datagram of `count` bytes is at least `headerBytes` long and starts with
/// the trial's key (as much of it as `headerBytes` holds).
@inline(__always)
package func carriesTrialKey(_ buffer: UnsafeRawPointer, _ count: Int, key: UInt64, headerBytes: Int) -> Bool {
    if count < headerBytes { return false }
    var i = 0
    while i < min(headerBytes, 8) {
        if buffer.load(fromByteOffset: i, as: UInt8.self) != UInt8(truncatingIfNeeded: key >> UInt64(8 * i)) { return false }
        i += 1
    }
    return true
}

/// One worker's side of a pattern. `init` allocates and touches everything; `run` is the timed
/// loop and must not allocate.
package protocol TimedLoop: AnyObject {
    func run(_ result: inout LoopResult)
    /// Round-trip times the loop recorded, as (nanoseconds, count) pairs; empty for throughput. At
    /// an offered rate, from each message's intended send time.
    func roundTrips() -> [(UInt64, UInt64)]
    /// At an offered rate: the same times from each message's actual send.
    func uncorrectedRoundTrips() -> [(UInt64, UInt64)]
    /// At an offered rate: the pacer's overshoot of each send that waited for its time, ns.
    func overshoots() -> [(UInt64, UInt64)]
}

extension TimedLoop {
    package func uncorrectedRoundTrips() -> [(UInt64, UInt64)] { [] }
    package func overshoots() -> [(UInt64, UInt64)] { [] }
}

/// Payload bytes follow a pattern of this period, so that a receiver can check every byte and a
/// sender can send from a fixed buffer at `offset % period`.
package let patternPeriod = 251

@inline(__always)
package func patternByte(_ position: Int) -> UInt8 { UInt8(truncatingIfNeeded: position % patternPeriod) }

/// A zeroed buffer of `count` bytes plus one pattern period, filled with the pattern, pages touched.
package func makePatternBuffer(_ count: Int) -> UnsafeMutableRawPointer {
    let size = count + patternPeriod
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
    for i in 0..<size { buffer.storeBytes(of: patternByte(i), toByteOffset: i, as: UInt8.self) }
    offerRingBuffer(buffer, size)  // --wait uring: a registered buffer (a no-op otherwise)
    return buffer
}

/// Checks `count` received bytes against the stream pattern starting at stream offset `offset`.
/// Returns the stream offset of the first wrong byte, or nil.
@inline(__always)
package func firstMismatch(_ buffer: UnsafeRawPointer, _ count: Int, streamOffset offset: UInt64) -> UInt64? {
    var expected = Int(offset % UInt64(patternPeriod))
    for i in 0..<count {
        if buffer.load(fromByteOffset: i, as: UInt8.self) != UInt8(truncatingIfNeeded: expected) {
            return offset + UInt64(i)
        }
        expected += 1
        if expected == patternPeriod { expected = 0 }
    }
    return nil
}

/// True when bytes `headerBytes..<count` of a received datagram follow the pattern (the sender's
/// buffer is the pattern with the header written over its first bytes).
@inline(__always)
package func datagramPayloadIsIntact(_ buffer: UnsafeRawPointer, _ count: Int, headerBytes: Int) -> Bool {
    var i = headerBytes
    while i < count {
        if buffer.load(fromByteOffset: i, as: UInt8.self) != patternByte(i) { return false }
        i += 1
    }
    return true
}

/// A histogram's recorded values as the (nanoseconds, count) pairs a worker reports.
package func recordedPairs(_ histogram: Histogram<UInt64>) -> [(UInt64, UInt64)] {
    var pairs: [(UInt64, UInt64)] = []
    for v in histogram.recordedValues() { pairs.append((v.value, v.count)) }
    return pairs
}
