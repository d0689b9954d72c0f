import CShims
import Glibc
import XCTest
@testable import IPCPlatform
@testable import IPCModel
@testable import IPCRun
@testable import IPCAnalysis
@testable import IPCLab

/// Knobs on this machine's kernel: each transport sets the knobs it takes on its own descriptors
/// in `open` and reports what the kernel put in force; trials still move and check every byte.
final class KnobTests: XCTestCase {
    var directory: RunDirectory!

    override func setUpWithError() throws { directory = try RunDirectory() }
    override func tearDown() { directory.remove() }

    /// One worker's endpoint, opened in this process: a's where its set-up needs no peer; b's where
    /// a listener is involved (a's open would close it), with this process connecting as a.
    func openA(_ kind: TransportKind, _ knobs: TransportKnobs, body: (Endpoint) throws -> Void) throws {
        let transport = kind.make(TransportOptions(payloadBytes: 64, knobs: knobs))
        defer { transport.close() }
        try transport.prepare(in: directory.path)
        let secret = try TrialSecret.random()
        let peer = PeerCheck(secret: secret, connectorPid: getpid(), listenerPid: getpid(),
                             deadlineNs: monotonicNanoseconds() + 10_000_000_000)
        var connector: Int32 = -1
        defer { closeDescriptor(connector) }
        let role: Role
        switch transport {
        case let tcp as TCPTransport:
            connector = try makeSocket(type(of: tcp).loopback.domain, Int32(SOCK_STREAM.rawValue))
            try type(of: tcp).loopback.connect(connector, port: tcp.port)
            XCTAssertEqual(secret.bytes.withUnsafeBytes { writeFully(connector, $0.baseAddress!, $0.count) }, secret.bytes.count)
            role = .b
        case let unix as UnixStreamTransport:
            connector = try makeSocket(AF_UNIX, type(of: unix).socketType)
            try IPCPlatform.connect(connector, unixAddress(unix.path), unix.path)
            role = .b
        case let dgram as UnixDatagramTransport:
            // a's open closes b's socket, then connects to b's path: put a socket of ours there.
            connector = try makeSocket(AF_UNIX, Int32(SOCK_DGRAM.rawValue))
            XCTAssertEqual(unlink(dgram.paths[1]), 0)
            try IPCPlatform.bind(connector, unixAddress(dgram.paths[1]), dgram.paths[1])
            role = .a
        default:
            role = .a
        }
        let endpoint = try transport.open(role, peer)
        defer { endpoint.close() }
        try body(endpoint)
    }

    func testEachTransportSaysWhichKnobsItTakes() {
        XCTAssertEqual(TransportKind.pipe.knobs, [.pipeSize])
        XCTAssertEqual(TransportKind.fifo.knobs, [.pipeSize])
        XCTAssertEqual(TransportKind.vmsplice.knobs, [.pipeSize])
        for kind in [TransportKind.socketpair, .unixStream, .unixSeqpacket, .unixDgram] {
            XCTAssertEqual(kind.knobs, [.sendBuffer, .receiveBuffer], kind.rawValue)
        }
        for kind in [TransportKind.tcp, .tcp6] {
            XCTAssertEqual(kind.knobs, [.sendBuffer, .receiveBuffer, .busyPoll, .notSentLowat], kind.rawValue)
        }
        for kind in [TransportKind.udp, .udp6] {
            XCTAssertEqual(kind.knobs, [.sendBuffer, .receiveBuffer, .busyPoll], kind.rawValue)
        }
        XCTAssertEqual(TransportKind.udpMulticast.knobs, [.sendBuffer, .receiveBuffer])
        for kind in [TransportKind.shmFutex, .shmSpin, .mq] { XCTAssertEqual(kind.knobs, [], kind.rawValue) }
        XCTAssertEqual(TransportKnobs([.pipeSize: 1 << 20, .receiveBuffer: 4096]).label, "pipe_size=1048576 rcvbuf=4096")
        XCTAssertEqual(TransportKnobs().label, "")
    }

    func testPipeSizeIsSetAndReadBack() throws {
        for kind in [TransportKind.pipe, .vmsplice] {
            // The kernel rounds up to a power-of-two number of pages.
            for (asked, inForce) in [(1 << 20, 1 << 20), (5000, 8192)] {
                try openA(kind, TransportKnobs([.pipeSize: asked])) { endpoint in
                    XCTAssertEqual(endpoint.knobsInForce, TransportKnobs([.pipeSize: inForce]), kind.rawValue)
                    guard case let .readWrite(read, write) = endpoint.io, kind == .pipe else { return }
                    XCTAssertEqual(Int(cshim_get_pipe_size(read)), inForce)
                    XCTAssertEqual(Int(cshim_get_pipe_size(write)), inForce)
                }
            }
            try openA(kind, TransportKnobs()) { XCTAssertEqual($0.knobsInForce, TransportKnobs(), kind.rawValue) }
        }
    }

    func testAnImpossiblePipeSizeIsAClearError() throws {
        // Above 2^31 bytes (as the unsigned int fcntl takes) no pipe can be, for root either.
        XCTAssertThrowsError(try openA(.pipe, TransportKnobs([.pipeSize: -1])) { _ in }) { error in
            XCTAssertEqual("\(error)", "fcntl(F_SETPIPE_SZ, -1): Invalid argument")
        }
    }

    func testSocketBuffersAreSetAndReadBack() throws {
        let kinds: [TransportKind] = [.socketpair, .unixStream, .unixSeqpacket, .unixDgram, .tcp, .udp]
            + (Limits.shared.ipv6Loopback ? [.tcp6, .udp6] : [])
        for kind in kinds {
            // Linux doubles the value it is given (the other half is for its bookkeeping).
            try openA(kind, TransportKnobs([.sendBuffer: 65536, .receiveBuffer: 32768])) { endpoint in
                XCTAssertEqual(endpoint.knobsInForce, TransportKnobs([.sendBuffer: 131_072, .receiveBuffer: 65536]), kind.rawValue)
            }
        }
    }

    func testNotSentLowatIsSetOnTCPOnly() throws {
        for kind in [TransportKind.tcp] + (Limits.shared.ipv6Loopback ? [.tcp6] : []) {
            try openA(kind, TransportKnobs([.notSentLowat: 16384])) { endpoint in
                XCTAssertEqual(endpoint.knobsInForce, TransportKnobs([.notSentLowat: 16384]), kind.rawValue)
            }
        }
        try openA(.udp, TransportKnobs([.notSentLowat: 16384])) { XCTAssertEqual($0.knobsInForce, TransportKnobs()) }
        XCTAssertEqual(TransportKind.allCases.filter { $0.knobs.contains(.notSentLowat) }, [.tcp, .tcp6])
    }

    func testBusyPollIsSetOnInternetSocketsOnly() throws {
        try XCTSkipUnless(geteuid() == 0 || readProcValue("/proc/sys/net/core/busy_read").flatMap { Int($0) } ?? 0 >= 50,
                          "raising SO_BUSY_POLL above net.core.busy_read needs CAP_NET_ADMIN")
        for kind in [TransportKind.tcp, .udp] {
            try openA(kind, TransportKnobs([.busyPoll: 50])) { endpoint in
                XCTAssertEqual(endpoint.knobsInForce, TransportKnobs([.busyPoll: 50]), kind.rawValue)
            }
        }
        try openA(.unixStream, TransportKnobs([.busyPoll: 50])) { XCTAssertEqual($0.knobsInForce, TransportKnobs()) }
        try openA(.pipe, TransportKnobs([.sendBuffer: 65536])) { XCTAssertEqual($0.knobsInForce, TransportKnobs()) }
    }

    func testTrialsWithKnobsDeliverEveryByte() throws {
        let cases: [(TransportKind, TransportKnobs)] = [
            (.pipe, TransportKnobs([.pipeSize: 1 << 20])), (.fifo, TransportKnobs([.pipeSize: 4096])),
            (.vmsplice, TransportKnobs([.pipeSize: 1 << 20])), (.unixStream, TransportKnobs([.sendBuffer: 8192])),
            // Not smaller on tcp: a receive window under the loopback MSS stalls in silly-window avoidance (README, Known limits).
            (.tcp, TransportKnobs([.sendBuffer: 131072, .receiveBuffer: 131072])), (.unixDgram, TransportKnobs([.receiveBuffer: 1 << 20])),
        ]
        for (kind, knobs) in cases {
            for pattern in PatternKind.allCases where skipReason(kind, pattern, CaseShape(payloadBytes: 1000)) == nil {
                let label = "\(kind.rawValue) \(pattern) \(knobs.label)"
                let r: TrialReports
                do {
                    r = try runTrial(transport: kind, options: TransportOptions(payloadBytes: 1000, verify: true, knobs: knobs),
                                     pattern: pattern, shape: CaseShape(payloadBytes: 1000), work: LoopWork(payloadBytes: 1000, messages: 2000, verify: true),
                                     cpus: [], directory: directory.path, timeoutNs: 20_000_000_000)
                } catch {
                    XCTFail("\(label): \(error)")
                    continue
                }
                XCTAssertEqual(r.b.messages, 2000, label)
                XCTAssertEqual(r.b.bytes, 2_000_000, label)
                XCTAssertEqual(r.a.allocatedBytes + r.b.allocatedBytes, 0, label)
            }
        }
    }
}
