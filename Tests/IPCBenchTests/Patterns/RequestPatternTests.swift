import Foundation
import Glibc
import XCTest
@testable import IPCPlatform
@testable import IPCModel
@testable import IPCRun
@testable import IPCAnalysis
@testable import IPCLab

/// sync-message and async-request: real bytes through this machine's kernel on every transport,
/// every byte of every message, acknowledgement and reply checked by the workers (`verify`), every
/// count checked here, and the figures from reports with known numbers.
final class RequestPatternTests: TrialTestCase {
    func timed(_ report: WorkerReport) -> UInt64 { report.roundTrips.reduce(0) { $0 + $1.1 } }

    func testSyncMessageAcknowledgesEveryMessage() throws {
        for kind in TransportKind.allCases {
            for size in [1, 64, 4096, 60_000] where skipReason(kind, .syncMessage, CaseShape(payloadBytes: size)) == nil {
                let r = try trial(kind, .syncMessage, size: size, messages: 300)
                let label = "\(kind.rawValue) \(size)"
                XCTAssertEqual(r.a.messages, 300, label)
                XCTAssertEqual(r.b.messages, 300, label)
                XCTAssertEqual(r.a.bytes, UInt64(300 * size), label)
                XCTAssertEqual(r.b.bytes, UInt64(300 * size), label)
                XCTAssertEqual(timed(r.a), 300, label)
                XCTAssertEqual(r.a.allocatedBytes + r.b.allocatedBytes, 0, label)
                let f = PatternKind.syncMessage.implementation.figures(r.workers, CaseShape(payloadBytes: size))
                XCTAssertEqual(f.messages, 300, label)
                XCTAssertEqual(f.bytes, UInt64(300 * size), label)
                XCTAssertEqual(f.durationNs, r.a.endNs - r.a.startNs, label)
                if kind.isDatagram {
                    XCTAssertEqual(r.a.datagrams.sent, 300, label)
                    XCTAssertEqual(r.b.datagrams.received, 300, label)
                    XCTAssertEqual(f.datagrams?.lost, 0, label)
                }
            }
        }
    }

    func testAsyncRequestAnswersEveryRequest() throws {
        for kind in TransportKind.allCases {
            for depth in [1, 4, 16] {
                for size in [1, 64, 4096, 60_000] {
                    let label = "\(kind.rawValue) \(size) depth \(depth)"
                    let shape = CaseShape(payloadBytes: size, depth: depth)
                    if let reason = skipReason(kind, .asyncRequest, shape) {
                        // Too short for the header, (UDP) more in flight than the receive buffer holds, or
                        // what the transport cannot do: one way only, no poll(2), a message limit, no IPv6.
                        let tooShort = kind.isDatagram && (depth > 1 || kind.semantics == .lossyMessages) && size < datagramHeaderBytes
                        let overflows = kind.semantics == .lossyMessages && reason.contains("net.core.rmem_default")
                        let transport = ["one-way", "poll(2)", "message limit", "IPv6", "one send to every receiver"].contains { reason.contains($0) }
                        XCTAssertTrue(tooShort || overflows || transport, "\(label): \(reason)")
                        continue
                    }
                    let r = try trial(kind, .asyncRequest, size: size, messages: 300, depth: depth)
                    XCTAssertEqual(r.a.messages, 300, label)
                    XCTAssertEqual(r.b.messages, 300, label)
                    XCTAssertEqual(r.a.bytes, UInt64(300 * size), label)
                    XCTAssertEqual(r.b.bytes, UInt64(300 * size), label)
                    XCTAssertEqual(timed(r.a), 300, label)
                    XCTAssertEqual(r.a.allocatedBytes + r.b.allocatedBytes, 0, label)
                    let f = PatternKind.asyncRequest.implementation.figures(r.workers, shape)
                    XCTAssertEqual(f.messages, 300, label)
                    if kind.isDatagram {
                        XCTAssertEqual(r.a.datagrams.sent, 300, label)
                        XCTAssertEqual(r.a.datagrams.received, 300, label)
                    }
                }
            }
        }
    }

    /// payload × depth far beyond every kernel buffer: a client that blocked in its writes would
    /// deadlock with a server blocked writing replies; the trial must finish with every byte.
    func testDeepPipelineOfLargeRequestsFinishes() throws {
        for kind in TransportKind.allCases where kind.semantics != .lossyMessages {
            let size = kind.isDatagram ? 60_000 : 1 << 20
            if skipReason(kind, .asyncRequest, CaseShape(payloadBytes: size, depth: 16)) != nil { continue }
            let r = try trial(kind, .asyncRequest, size: size, messages: 40, depth: 16)
            let label = kind.rawValue
            XCTAssertEqual(r.a.messages, 40, label)
            XCTAssertEqual(r.b.bytes, UInt64(40 * size), label)
            XCTAssertEqual(timed(r.a), 40, label)
            XCTAssertEqual(r.a.allocatedBytes + r.b.allocatedBytes, 0, label)
        }
    }

    func testDepthOneIsTheLatencyLoop() {
        let endpoint = Endpoint(.readWrite(read: -1, write: -1), .stream)
        let work = LoopWork(payloadBytes: 64, messages: 1, verify: false, depth: 1)
        XCTAssertTrue(AsyncRequestPattern.makeLoop(worker: 0, [endpoint], work) is PingClient)
        XCTAssertTrue(AsyncRequestPattern.makeLoop(worker: 1, [endpoint], work) is EchoServer)
        XCTAssertTrue(LatencyPattern.makeLoop(worker: 0, [endpoint], work) is PingClient)
    }

    func testSkipReasons() {
        // Over UDP a request carries its number, so that a late reply is not taken for the next one's.
        XCTAssertEqual(skipReason(.udp, .syncMessage, CaseShape(payloadBytes: 15)),
                       "sync-message on udp needs at least 16 bytes per message for the 64-bit trial key and the 64-bit message number: udp may drop a request, and a late reply must not pass for the next one's")
        XCTAssertNotNil(skipReason(.udp, .asyncRequest, CaseShape(payloadBytes: 1, depth: 1)))
        XCTAssertNil(skipReason(.udp, .latency, CaseShape(payloadBytes: 16)))
        XCTAssertNil(skipReason(.unixDgram, .latency, CaseShape(payloadBytes: 1)))
        XCTAssertNil(skipReason(.udp, .syncMessage, CaseShape(payloadBytes: 16)))
        XCTAssertNil(skipReason(.pipe, .asyncRequest, CaseShape(payloadBytes: 1, depth: 64)))
        XCTAssertEqual(skipReason(.unixDgram, .asyncRequest, CaseShape(payloadBytes: 15, depth: 2)),
                       "async-request on unix-dgram needs at least 16 bytes per message for the 64-bit trial key and the 64-bit request number")
    }

    func testSyncMessageFigures() {
        var sender = WorkerReport()
        sender.startNs = 5_000
        sender.endNs = 2_000_005_000
        sender.messages = 1000
        sender.bytes = 4_096_000
        sender.datagrams.sent = 1000
        sender.roundTrips = [(5_000, 600), (9_000, 400)]
        var receiver = WorkerReport()
        receiver.startNs = 1_000
        receiver.endNs = 2_000_004_000
        receiver.messages = 1000
        receiver.bytes = 4_096_000
        receiver.datagrams.received = 995
        // The sender's view: 10 messages got no acknowledgement in time (5 of those arrived, their acknowledgements late).
        sender.datagrams.received = 990
        sender.datagrams.reordered = 5
        let f = SyncMessagePattern.figures([sender, receiver], CaseShape(payloadBytes: 4096))
        XCTAssertEqual(f.durationNs, 2_000_000_000)
        XCTAssertEqual(f.bytes, 4_096_000)
        XCTAssertEqual(f.messages, 1000)
        XCTAssertEqual(f.values[.throughput], 1.953125)
        XCTAssertEqual(f.values[.messagesPerSecond], 500)
        XCTAssertEqual(f.latencies.map { $0.0 }, [5_000, 9_000])
        XCTAssertEqual(f.latencies.map { $0.1 }, [600, 400])
        XCTAssertEqual(f.datagrams?.sent, 1000)
        XCTAssertEqual(f.datagrams?.received, 990)
        XCTAssertEqual(f.datagrams?.lost, 10)
        XCTAssertEqual(f.datagrams?.reordered, 5)
        XCTAssertNil(f.values[.slowest])
        XCTAssertEqual(PatternKind.syncMessage.ownMetrics, [.throughput, .messagesPerSecond, .rttP50, .rttP99])
    }

    func testAsyncRequestFigures() {
        var client = WorkerReport()
        client.startNs = 1_000_000
        client.endNs = 251_000_000
        client.messages = 1000
        client.bytes = 64_000
        client.datagrams.sent = 1000
        client.datagrams.received = 1000
        client.roundTrips = [(12_000, 999), (80_000, 1)]
        var server = WorkerReport()
        server.messages = 1000
        server.bytes = 64_000
        let f = AsyncRequestPattern.figures([client, server], CaseShape(payloadBytes: 64, depth: 8))
        XCTAssertEqual(f.durationNs, 250_000_000)
        XCTAssertEqual(f.messages, 1000)
        XCTAssertEqual(f.bytes, 64_000)
        XCTAssertEqual(f.values[.messagesPerSecond], 4000)
        XCTAssertNil(f.values[.throughput])
        XCTAssertEqual(f.latencies.map { $0.0 }, [12_000, 80_000])
        XCTAssertEqual(f.latencies.map { $0.1 }, [999, 1])
        XCTAssertEqual(f.datagrams?.lost, 0)
        XCTAssertEqual(PatternKind.asyncRequest.ownMetrics, [.messagesPerSecond, .rttP50, .rttP99])
        XCTAssertEqual(PatternKind.asyncRequest.parameters, [.depth])
    }

    func testRegistryNamesAndSummaries() {
        XCTAssertEqual(PatternKind(rawValue: "sync-message"), .syncMessage)
        XCTAssertEqual(PatternKind(rawValue: "async-request"), .asyncRequest)
        XCTAssertEqual(PatternKind.syncMessage.summary,
                       "send, then wait for a small acknowledgement (synchronous message); msgs/s, MiB/s and send-to-ack percentiles")
        XCTAssertEqual(PatternKind.asyncRequest.summary,
                       "pipelined requests, up to depth outstanding (asynchronous request); requests/s and request-to-reply percentiles")
    }

    // MARK: - Requests over a transport that may lose them

    /// A client endpoint that may lose datagrams, over a unix socketpair whose other end the test
    /// plays by hand (`serve`), so that what is lost and what is late is decided here.
    func lossyPair() throws -> (client: Endpoint, server: Int32) {
        var fds: [Int32] = [-1, -1]
        try check("socketpair") { socketpair(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) }
        try setReceiveTimeout(fds[1], nanoseconds: 10_000_000_000)  // the hand-played server never hangs the test
        strangers.append(fds[1])
        return (Endpoint(.sendReceive(fds[0]), .lossyMessages, datagramKey: 42), fds[1])
    }

    /// The reply the hand-played server holds back (only its thread touches it).
    final class Held: @unchecked Sendable { var reply: [UInt8] = [] }

    /// Plays the server on `fd` in a thread: receives `count` requests and answers them with
    /// `replies(i, request)` (the datagrams to send back, in order, on receiving request i).
    func serve(_ fd: Int32, count: Int, replies: @escaping @Sendable (Int, [UInt8]) -> [[UInt8]]) -> XCTestExpectation {
        let done = expectation(description: "server")
        Thread {
            var buffer = [UInt8](repeating: 0, count: 65536)
            for i in 0..<count {
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n < 0 { break }
                for reply in replies(i, Array(buffer[0..<n])) { _ = reply.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) } }
            }
            done.fulfill()
        }.start()
        return done
    }

    /// The reply to request 0 comes only after request 1 went out: request 0 is lost (no reply in
    /// time), its reply is counted as late and passed over, and request 1 takes its own reply, not
    /// request 0's. One lost of 101 is under 1%: the trial is fine.
    func testALateReplyIsCountedNotTakenForTheNextRequests() throws {
        let ack: @Sendable ([UInt8]) -> [UInt8] = { Array($0[0..<datagramHeaderBytes]) }
        for pattern in [PatternKind.latency, .syncMessage, .asyncRequest] {
            for depth in pattern == .asyncRequest ? [1, 4] : [1] {
                let label = "\(pattern) depth \(depth)"
                let (client, server) = try lossyPair()
                defer { client.close() }
                let echo: @Sendable ([UInt8]) -> [UInt8] = { $0 }
                let reply = pattern == .syncMessage ? ack : echo
                let held = Held()
                // Pipelined, the late reply comes after the next one's (which tells the client request 0 is
                // lost); one at a time, before it (while the client waits for request 1's).
                let served = serve(server, count: 101) { i, request in
                    if i == 0 { held.reply = reply(request); return [] }
                    if i == 1 { return depth > 1 ? [reply(request), held.reply] : [held.reply, reply(request)] }
                    return [reply(request)]
                }
                var work = LoopWork(payloadBytes: 64, messages: 101, verify: true, depth: depth)
                work.replyTimeoutNs = 300_000_000
                let loop = pattern.implementation.makeLoop(worker: 0, [client], work)
                var r = LoopResult()
                loop.run(&r)
                wait(for: [served], timeout: 30)
                XCTAssertFalse(r.failure.isFailure, "\(label): \(r.failure.message ?? "")")
                XCTAssertEqual(r.datagrams.sent, 101, label)
                XCTAssertEqual(r.datagrams.received, 100, label)
                XCTAssertEqual(r.datagrams.reordered, 1, "\(label): the late reply, counted")
                XCTAssertEqual(r.messages, 100, label)
                XCTAssertEqual(loop.roundTrips().reduce(0) { $0 + $1.1 }, 100, "\(label): the lost request is not timed")
            }
        }
    }

    /// Two pings of 101 dropped: the trial counts them lost and goes on; whether that is too many is
    /// the case's to say, over all its measured trials: more than 1% fails it.
    func testLostRequestsAreCountedAndTheCaseJudgesThem() throws {
        let (client, server) = try lossyPair()
        defer { client.close() }
        let served = serve(server, count: 101) { i, request in i < 2 ? [] : [request] }
        var work = LoopWork(payloadBytes: 64, messages: 101, verify: true)
        work.replyTimeoutNs = 100_000_000
        var r = LoopResult()
        PingClient(client, work).run(&r)
        wait(for: [served], timeout: 30)
        XCTAssertFalse(r.failure.isFailure, r.failure.message ?? "")
        XCTAssertEqual(r.datagrams.sent, 101)
        XCTAssertEqual(r.datagrams.received, 99)
        var d = DatagramCounts()
        d.sent = 101
        d.received = 99
        d.lost = 2
        XCTAssertEqual(tooManyLost(d), "2 of 101 requests got no reply in time (more than 1%): the machine is too busy, or the socket's buffer too small")
        d.lost = 1
        XCTAssertNil(tooManyLost(d))
        d.sent = 505
        d.lost = 5
        XCTAssertNil(tooManyLost(d), "five trials of 101 with 2, 1, 1, 1 and 0 lost: 1% of the case, not more")
    }

    /// The reply timeout: 10 × the warm-up's p99, at least 20 ms, at most 1 s.
    func testReplyTimeoutFollowsTheWarmUp() {
        XCTAssertEqual(replyTimeout(warmupP99Ns: 20_000), 20_000_000)
        XCTAssertEqual(replyTimeout(warmupP99Ns: 3_000_000), 30_000_000)
        XCTAssertEqual(replyTimeout(warmupP99Ns: 500_000_000), 1_000_000_000)
        XCTAssertEqual(LoopWork(payloadBytes: 64, messages: 1, verify: false).replyTimeoutNs, 1_000_000_000, "before a warm-up")
    }

    /// unix-dgram and unix-seqpacket never lose a message: a worker waits for the next one as long
    /// as the trial's timeout allows, not a fixed second (a busy machine only makes it late).
    func testReliableDatagramsWaitAsLongAsTheTrial() throws {
        let peer = PeerCheck(secret: try TrialSecret.random(), connectorPid: getpid(), listenerPid: getpid(),
                             deadlineNs: monotonicNanoseconds() + 45_000_000_000)
        func receiveTimeout(_ fd: Int32) -> Int {
            var timeout = timeval()
            var length = socklen_t(MemoryLayout<timeval>.size)
            XCTAssertEqual(getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, &length), 0)
            return timeout.tv_sec
        }
        let dgram = UnixDatagramTransport(TransportOptions(payloadBytes: 64))
        try dgram.prepare(in: directory.path)
        defer { dgram.close() }
        // b's side, played here: a socket of this test at b's path, which a connects to.
        _ = unlink(dgram.paths[1])
        let b = try makeSocket(AF_UNIX, Int32(SOCK_DGRAM.rawValue))
        strangers.append(b)
        try bind(b, unixAddress(dgram.paths[1]), dgram.paths[1])
        let a = try dgram.open(.a, peer)
        defer { a.close() }
        XCTAssertGreaterThan(receiveTimeout(a.pollDescriptors.read), 40, "unix-dgram waits until the trial's deadline")

        var fds: [Int32] = [-1, -1]
        try check("socketpair") { socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) }
        strangers.append(fds[1])
        let seqpacket = try UnixSeqpacketTransport(TransportOptions(payloadBytes: 64)).endpoint(fds[0], peer, rejected: 0)
        defer { seqpacket.close() }
        XCTAssertGreaterThan(receiveTimeout(fds[0]), 40, "unix-seqpacket waits until the trial's deadline")
    }
}
