import Glibc
import IPCPlatform
import IPCModel

/// The run was stopped by SIGINT, SIGTERM or SIGHUP; the runner cleans up and exits.
public struct RunStopped: Error, Equatable {
    public let signal: Int32
    package init(signal: Int32) {
        self.signal = signal
    }
}

/// Throws `RunStopped` once a stop signal has arrived.
package func checkStopSignal() throws {
    let signal = stopSignalReceived()
    if signal != 0 { throw RunStopped(signal: signal) }
}

/// Framed messages between the runner and one worker over a socketpair:
/// a 4-byte little-endian length, a kind byte, then the payload. Both sides loop on short reads.
package struct ControlChannel {
    package enum Kind: UInt8 {
        case ready = 1
        case go = 2
        case report = 3
    }

    package enum Failure: Error {
        case closed       // the other side exited before a whole frame arrived
        case timedOut
        case malformed
    }

    package let fd: Int32

    /// Runner end and worker end of a new channel.
    package static func makePair() throws -> (runner: ControlChannel, worker: ControlChannel) {
        let (runner, worker) = try makeSocketPair(type: Int32(SOCK_STREAM.rawValue))
        return (ControlChannel(fd: runner), ControlChannel(fd: worker))
    }

    package func send(_ kind: Kind, _ payload: [UInt8] = []) -> Bool {
        var frame = [UInt8]()
        frame.reserveCapacity(5 + payload.count)
        withUnsafeBytes(of: UInt32(payload.count + 1).littleEndian) { frame.append(contentsOf: $0) }
        frame.append(kind.rawValue)
        frame.append(contentsOf: payload)
        return frame.withUnsafeBytes { writeFully(fd, $0.baseAddress!, $0.count) } == frame.count
    }

    /// Blocks until a whole frame has arrived; the worker side, which has no deadline of its own.
    package func receive() throws -> (Kind, [UInt8]) {
        try receive(deadlineNs: UInt64.max)
    }

    /// Waits for a whole frame until `deadlineNs` (CLOCK_MONOTONIC), watching for stop signals.
    package func receive(deadlineNs: UInt64) throws -> (Kind, [UInt8]) {
        var header = [UInt8](repeating: 0, count: 4)
        try self.read(into: &header, deadlineNs: deadlineNs)
        let length = Int(UInt32(littleEndian: header.withUnsafeBytes { $0.load(as: UInt32.self) }))
        guard length >= 1, length < 1 << 30 else { throw Failure.malformed }
        var body = [UInt8](repeating: 0, count: length)
        try self.read(into: &body, deadlineNs: deadlineNs)
        guard let kind = Kind(rawValue: body[0]) else { throw Failure.malformed }
        return (kind, Array(body[1...]))
    }

    private func read(into bytes: inout [UInt8], deadlineNs: UInt64) throws {
        var done = 0
        while done < bytes.count {
            _ = try ControlChannel.firstReadable([self], deadlineNs: deadlineNs)
            let n = bytes.withUnsafeMutableBytes { raw in readOnce(fd, raw.baseAddress! + done, raw.count - done) }
            if n == 0 || n == -Int(ECONNRESET) { throw Failure.closed }
            if n < 0 { throw SystemCallError("read(control channel)", code: Int32(-n)) }
            done += n
        }
    }

    /// Index of the first of `channels` that has data (or EOF), waiting until the deadline
    /// (UInt64.max: no deadline); throws on the deadline or a stop signal.
    package static func firstReadable(_ channels: [ControlChannel], deadlineNs: UInt64) throws -> Int {
        while true {
            try checkStopSignal()
            let now = monotonicNanoseconds()
            guard now < deadlineNs else { throw Failure.timedOut }
            let timeout = Int32(min((deadlineNs - now) / 1_000_000 + 1, 1_000_000))
            // EINTR comes back here as nil (not retried) so that the loop sees a stop signal at once.
            if let i = try firstWithInput(channels.map(\.fd), timeoutMilliseconds: timeout, what: "control channels") { return i }
        }
    }

    package func close() { closeDescriptor(fd) }
}

/// Little-endian encoding of the worker's report.
package struct ByteWriter {
    private(set) var bytes: [UInt8] = []
    package mutating func put(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
    package mutating func put(_ value: Int64) { put(UInt64(bitPattern: value)) }
    package mutating func put(_ text: String) {
        let utf8 = Array(text.utf8)
        put(UInt64(utf8.count))
        bytes.append(contentsOf: utf8)
    }
}

package struct ByteReader {
    private let bytes: [UInt8]
    private var offset = 0
    package init(_ bytes: [UInt8]) { self.bytes = bytes }

    package mutating func uint64() throws -> UInt64 {
        guard offset + 8 <= bytes.count else { throw ControlChannel.Failure.malformed }
        var value: UInt64 = 0
        withUnsafeMutableBytes(of: &value) { $0.copyBytes(from: bytes[offset..<offset + 8]) }
        offset += 8
        return UInt64(littleEndian: value)
    }

    package mutating func int64() throws -> Int64 { Int64(bitPattern: try uint64()) }

    package var isAtEnd: Bool { offset == bytes.count }

    package mutating func string() throws -> String {
        let count = Int(try uint64())
        guard count >= 0, offset + count <= bytes.count else { throw ControlChannel.Failure.malformed }
        defer { offset += count }
        return String(decoding: bytes[offset..<offset + count], as: UTF8.self)
    }
}
