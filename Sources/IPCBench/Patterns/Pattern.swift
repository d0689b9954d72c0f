import Glibc

/// The two patterns, by the names users type.
public enum PatternKind: String, CaseIterable, Sendable {
    case throughput
    case latency

    /// The timed loop for one worker of a trial.
    func makeLoop(_ role: Role, _ endpoint: Endpoint, _ work: LoopWork) -> TimedLoop {
        switch (self, role, endpoint.isDatagram) {
        case (.throughput, .a, false): return StreamSender(endpoint, work)
        case (.throughput, .b, false): return StreamReceiver(endpoint, work)
        case (.throughput, .a, true): return DatagramSender(endpoint, work)
        case (.throughput, .b, true): return DatagramReceiver(endpoint, work)
        case (.latency, .a, _): return PingClient(endpoint, work)
        case (.latency, .b, _): return EchoServer(endpoint, work)
        }
    }

    /// What each role does, in the words of the terminal and error messages.
    func roleName(_ role: Role) -> String {
        switch (self, role) {
        case (.throughput, .a): return "sender"
        case (.throughput, .b): return "receiver"
        case (.latency, .a): return "client"
        case (.latency, .b): return "server"
        }
    }
}

/// What one trial's loop moves.
public struct LoopWork: Sendable, Equatable {
    public var payloadBytes: Int
    /// Throughput: messages the sender writes. Latency: round trips.
    public var messages: Int
    /// Check every byte against the expected pattern (slower; for tests and `--verify`).
    public var verify: Bool

    public init(payloadBytes: Int, messages: Int, verify: Bool) {
        self.payloadBytes = payloadBytes
        self.messages = messages
        self.verify = verify
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
    /// Round-trip times the loop recorded, as (nanoseconds, count) pairs; empty for throughput.
    func roundTrips() -> [(UInt64, UInt64)]
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
