import CShims
import Glibc
import Histogram

/// A way processes talk, as one type in its own file under Patterns/ plus a line in
/// Patterns/PatternRegistry.swift: its workers and links, its timed loops, how a trial's reports become
/// figures, and the metrics `compare`, `pivot` and the plots show for it.
protocol Pattern {
    /// One line for `ipcbench list`: what it does, in the four elementary modes' words.
    static var summary: String { get }
    /// The per-case parameters it takes beyond the payload (depth, receivers, pairs, ...), in the
    /// order case names and rows show them; a case is one value of each.
    static var parameters: [CaseParameter] { get }
    /// What `compare` compares for it, first the main one.
    static var metrics: [Metric] { get }
    /// How a trial's messages are counted before calibration: `total / payload` (transfers) or `count`.
    static var sizing: WorkSizing { get }
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
    /// Its senders can pace themselves at an offered rate (`--rate`).
    static var canPace: Bool { get }
}

extension Pattern {
    static var parameters: [CaseParameter] { [] }
    static var canPace: Bool { true }
}

/// Where a case's message count comes from before calibration.
public enum WorkSizing: Sendable {
    /// `total` bytes (the config's `total`, `--total`) in messages of the payload.
    case totalBytes
    /// `count` messages or round trips (the config's `count`, `--count`).
    case count
}

/// The per-case parameters beyond the payload; each pattern reads the ones it takes (default 1).
/// A value is a whole number, or for `topology` one of its `names` (1 is the first).
public enum CaseParameter: String, CaseIterable, Sendable {
    /// async-request: requests the client keeps outstanding.
    case depth
    /// fanout: readers each message goes to.
    case receivers
    /// pairs: independent sender/receiver pairs.
    case pairs
    /// pubsub: workers that publish, subscribe; topics published; topics each subscriber takes.
    case publishers
    case subscribers
    case topics
    case subscriptions
    /// pubsub: direct (each publisher writes to every subscriber of a topic) or broker (through
    /// one broker worker).
    case topology
    /// The patterns that pace: the messages a second each sender offers (`--rate`); a case without
    /// one sends as fast as the path goes, and has no value (not 1).
    case rate
    /// Every pattern: how a worker waits for data to read (`--wait`, `WaitMode`); a case without
    /// one does what the pattern does by itself (`auto`), and has no value.
    case wait

    /// The words a value is written as, where it is not a number.
    public var names: [String]? {
        switch self {
        case .topology: return PubSubTopology.allCases.map(\.rawValue)
        case .wait: return WaitMode.allCases.map(\.rawValue)
        case .depth, .receivers, .pairs, .publishers, .subscribers, .topics, .subscriptions, .rate: return nil
        }
    }

    /// The minor version (0.N.0) whose files first carry its column.
    var version: Int {
        switch self {
        case .depth, .receivers, .pairs: return 2
        case .publishers, .subscribers, .topics, .subscriptions, .topology: return 3
        case .rate, .wait: return 4
        }
    }

    /// A value as the files and case names write it: the number, or its name.
    public func text(_ value: Int) -> String { names.map { value >= 1 && value <= $0.count ? $0[value - 1] : String(value) } ?? String(value) }

    /// The value of `text` as the files write it; nil where it is not one.
    public func value(_ text: String) -> Int? { names.map { $0.firstIndex(of: text).map { $0 + 1 } } ?? Int(text) }
}

/// pubsub's topologies, as `topology` values.
public enum PubSubTopology: String, CaseIterable, Sendable {
    case direct
    case broker
}

/// What a case asks of a trial: the payload and the values of its pattern's parameters (every
/// parameter it does not hold reads 1).
public struct CaseShape: Equatable, Sendable {
    public var payloadBytes: Int
    public var values: [CaseParameter: Int] = [:]

    public init(payloadBytes: Int, _ values: [CaseParameter: Int] = [:]) {
        self.payloadBytes = payloadBytes
        self.values = values
    }

    public init(payloadBytes: Int, depth: Int = 1, receivers: Int = 1, pairs: Int = 1) {
        self.init(payloadBytes: payloadBytes, [.depth: depth, .receivers: receivers, .pairs: pairs])
    }

    /// Equal when every parameter reads the same (a value of 1 is the same as none, except for the
    /// rate, where none is no rate at all).
    public static func == (a: CaseShape, b: CaseShape) -> Bool {
        a.payloadBytes == b.payloadBytes && CaseParameter.allCases.allSatisfy { a[$0] == b[$0] } && a.rate == b.rate && a.wait == b.wait
    }

    public subscript(parameter: CaseParameter) -> Int {
        get { values[parameter] ?? 1 }
        set { values[parameter] = newValue }
    }

    public var depth: Int { self[.depth] }
    public var receivers: Int { self[.receivers] }
    public var pairs: Int { self[.pairs] }
    var publishers: Int { self[.publishers] }
    var subscribers: Int { self[.subscribers] }
    var topics: Int { self[.topics] }
    var subscriptions: Int { self[.subscriptions] }
    var topology: PubSubTopology { self[.topology] == 2 ? .broker : .direct }
    /// Messages a second each sender offers; nil: as fast as the path goes.
    public var rate: Int? { values[.rate] }
    /// How the workers wait for data; nil: as the pattern does by itself (`auto`).
    public var wait: WaitMode? { values[.wait].flatMap { $0 >= 1 && $0 <= WaitMode.allCases.count ? WaitMode.allCases[$0 - 1] : nil } }
}

/// A trial's workers and the links between them. A link joins worker `from` (its role a: the side
/// that connects and, mostly, sends) and worker `to` (role b). Links between the same two workers are
/// one transport instance; on a one-to-many transport, the links of one `group` are one instance
/// (one group, every sender's sends reach every receiver). A worker has one endpoint per instance
/// it is on, in the order of its links.
struct Topology: Equatable {
    let roles: [String]
    let links: [Link]

    struct Link: Equatable {
        let from: Int
        let to: Int
        /// Which one-to-many instance (multicast group) it belongs to.
        var group = 0
    }

    /// Which transport instance a link is part of: its group on a one-to-many transport, else the
    /// pair of workers it joins.
    static func instance(_ link: Link, oneToMany: Bool) -> Int { oneToMany ? link.group : link.from << 32 | link.to }

    /// Worker `index`'s endpoints, as the indices of the links that make them: the first link of each
    /// transport instance it is on, in link order.
    func endpointLinks(of index: Int, oneToMany: Bool) -> [Int] {
        var seen: Set<Int> = []
        return links.indices.filter { i in
            (links[i].from == index || links[i].to == index) && seen.insert(Self.instance(links[i], oneToMany: oneToMany)).inserted
        }
    }

    /// How many transport instances the links are.
    func instanceCount(oneToMany: Bool) -> Int { Set(links.map { Self.instance($0, oneToMany: oneToMany) }).count }

    /// How many endpoints all the workers have together.
    func endpointCount(oneToMany: Bool) -> Int { roles.indices.reduce(0) { $0 + endpointLinks(of: $1, oneToMany: oneToMany).count } }

    /// Two workers on one link: the shape of most patterns.
    static func pair(_ a: String, _ b: String) -> Topology {
        Topology(roles: [a, b], links: [Link(from: 0, to: 1)])
    }
}

/// One trial's figures. Time runs from `startNs` to `endNs` (CLOCK_MONOTONIC, shared by all the
/// workers).
struct TrialFigures {
    var durationNs: UInt64 = 0
    /// Bytes delivered (all receivers together).
    var bytes: UInt64 = 0
    /// Messages sent, round trips or requests answered: the unit of the per-message columns.
    var messages: UInt64 = 0
    /// The values of the pattern's own metrics (`Metric.Source.pattern`), where it has them.
    var values: [Metric: Double] = [:]
    /// (nanoseconds, count) pairs for the latency histogram, where the pattern times each message;
    /// at an offered rate, from each message's intended send time (corrected).
    var latencies: [(UInt64, UInt64)] = []
    /// At an offered rate: the same latencies from each message's actual send (uncorrected).
    var uncorrectedLatencies: [(UInt64, UInt64)] = []
    /// Message transports: what was sent, received, lost, reordered and duplicated.
    var datagrams: DatagramCounts?
}

/// MiB/s for `bytes` over `ns` nanoseconds; 0 for an empty interval.
func mibPerSecond(_ bytes: UInt64, _ ns: UInt64) -> Double {
    ns > 0 ? Double(bytes) / 1_048_576 / (Double(ns) / 1e9) : 0
}

extension DatagramCounts {
    /// Several receivers' counts together, against the `due` copies: lost is what did not arrive.
    init(due: UInt64, receivers: some Sequence<WorkerReport>) {
        sent = due
        for r in receivers {
            received += r.datagrams.received
            reordered += r.datagrams.reordered
            duplicated += r.datagrams.duplicated
        }
        lost = sent - min(sent, received)
    }
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
enum LoopFailure {
    case none
    case system(StaticString, Int32)
    case peerClosed(afterBytes: UInt64)
    case corrupt(atByte: UInt64)
    case badSequence(UInt64)
    case datagramLost(roundTrip: UInt64)
    case noDatagramArrived
    case histogramOverflow(UInt64)
    case missing(received: UInt64, due: UInt64)

    var isFailure: Bool {
        if case .none = self { return false }
        return true
    }

    var message: String? {
        switch self {
        case .none: return nil
        case let .system(call, code): return "\(call): \(String(cString: strerror(code)))"
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

/// Counts a datagram receiver keeps; 64-bit so that nothing wraps.
public struct DatagramCounts: Sendable, Equatable {
    public var sent: UInt64 = 0
    public var received: UInt64 = 0
    public var lost: UInt64 = 0
    public var reordered: UInt64 = 0
    public var duplicated: UInt64 = 0
    public init() {}
}

/// What a worker's timed loop measured. Plain values only: it crosses the control channel as bytes.
struct LoopResult {
    var failure = LoopFailure.none
    /// Clock at the first byte sent (a) and at the last byte received (b), CLOCK_MONOTONIC ns.
    var startNs: UInt64 = 0
    var endNs: UInt64 = 0
    var bytes: UInt64 = 0
    var messages: UInt64 = 0
    var datagrams = DatagramCounts()
    /// Datagrams dropped because they were too short or did not carry the trial's key.
    var rejected: UInt64 = 0
    /// At an offered rate: messages the sender's schedule released, and how many went late.
    var paced: UInt64 = 0
    var late: UInt64 = 0
}

/// The longest a request over a lossy transport waits for its reply (and how long it waits before
/// the case's warm-up has measured a p99).
let longestReplyTimeoutNs: UInt64 = 1_000_000_000

/// How long a request over a lossy transport waits for its reply: 10 × the warm-up's p99, at least
/// 20 ms and at most 1 s. Longer than that, the request counts as lost, and its reply, should it
/// come, as late. The floor is a busy machine's: its scheduler can keep a runnable worker waiting
/// for several milliseconds (with 1 ms, 2.8% of udp6 requests were lost while 3 builds ran on 2 CPUs).
func replyTimeout(warmupP99Ns p99: UInt64) -> UInt64 {
    min(max(p99.multipliedReportingOverflow(by: 10).partialValue, 20_000_000), longestReplyTimeoutNs)
}

/// Over a lossy transport, why a request pattern's case fails: more than 1% of its requests, over
/// all its measured trials, got no reply in time; nil otherwise.
func tooManyLost(_ d: DatagramCounts) -> String? {
    guard d.lost * 100 > d.sent else { return nil }
    return "\(d.lost) of \(d.sent) requests got no reply in time (more than 1%): the machine is too busy, or the socket's buffer too small"
}

/// Datagram header: the trial's 64-bit key, then a 64-bit sequence (throughput) or round-trip
/// (latency) number, both little-endian. A latency ping shorter than this carries its first bytes.
let datagramHeaderBytes = 16

/// Writes the header into the first 16 bytes of `buffer` (which has room beyond the payload).
@inline(__always)
func writeDatagramHeader(_ buffer: UnsafeMutableRawPointer, key: UInt64, number: UInt64) {
    buffer.storeBytes(of: key.littleEndian, toByteOffset: 0, as: UInt64.self)
    buffer.storeBytes(of: number.littleEndian, toByteOffset: 8, as: UInt64.self)
}

/// True when a received datagram of `count` bytes is at least `headerBytes` long and starts with
/// the trial's key (as much of it as `headerBytes` holds).
@inline(__always)
func carriesTrialKey(_ buffer: UnsafeRawPointer, _ count: Int, key: UInt64, headerBytes: Int) -> Bool {
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
protocol TimedLoop: AnyObject {
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
    func uncorrectedRoundTrips() -> [(UInt64, UInt64)] { [] }
    func overshoots() -> [(UInt64, UInt64)] { [] }
}

/// Payload bytes follow a pattern of this period, so that a receiver can check every byte and a
/// sender can send from a fixed buffer at `offset % period`.
let patternPeriod = 251

@inline(__always)
func patternByte(_ position: Int) -> UInt8 { UInt8(truncatingIfNeeded: position % patternPeriod) }

/// A zeroed buffer of `count` bytes plus one pattern period, filled with the pattern, pages touched.
func makePatternBuffer(_ count: Int) -> UnsafeMutableRawPointer {
    let size = count + patternPeriod
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
    for i in 0..<size { buffer.storeBytes(of: patternByte(i), toByteOffset: i, as: UInt8.self) }
    cshim_uring_add_buffer(buffer, size)  // --wait uring: a registered buffer (a no-op otherwise)
    return buffer
}

/// Checks `count` received bytes against the stream pattern starting at stream offset `offset`.
/// Returns the stream offset of the first wrong byte, or nil.
@inline(__always)
func firstMismatch(_ buffer: UnsafeRawPointer, _ count: Int, streamOffset offset: UInt64) -> UInt64? {
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
func datagramPayloadIsIntact(_ buffer: UnsafeRawPointer, _ count: Int, headerBytes: Int) -> Bool {
    var i = headerBytes
    while i < count {
        if buffer.load(fromByteOffset: i, as: UInt8.self) != patternByte(i) { return false }
        i += 1
    }
    return true
}

/// A histogram's recorded values as the (nanoseconds, count) pairs a worker reports.
func recordedPairs(_ histogram: Histogram<UInt64>) -> [(UInt64, UInt64)] {
    var pairs: [(UInt64, UInt64)] = []
    for v in histogram.recordedValues() { pairs.append((v.value, v.count)) }
    return pairs
}
