import XCTest
@testable import IPCBench

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
                        let tooShort = kind.isDatagram && depth > 1 && size < datagramHeaderBytes
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
        XCTAssertNil(skipReason(.udp, .syncMessage, CaseShape(payloadBytes: 1)))
        XCTAssertNil(skipReason(.udp, .asyncRequest, CaseShape(payloadBytes: 1, depth: 1)))
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
        receiver.datagrams.received = 990
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
        XCTAssertNil(f.values[.slowest])
        XCTAssertEqual(SyncMessagePattern.metrics, [.throughput, .messagesPerSecond, .rttP50, .rttP99])
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
        XCTAssertEqual(AsyncRequestPattern.metrics, [.messagesPerSecond, .rttP50, .rttP99])
        XCTAssertEqual(AsyncRequestPattern.parameters, [.depth])
    }

    func testRegistryNamesAndSummaries() {
        XCTAssertEqual(PatternKind(rawValue: "sync-message"), .syncMessage)
        XCTAssertEqual(PatternKind(rawValue: "async-request"), .asyncRequest)
        XCTAssertEqual(PatternKind.syncMessage.summary,
                       "send, then wait for a small acknowledgement (synchronous message); msgs/s, MiB/s and send-to-ack percentiles")
        XCTAssertEqual(PatternKind.asyncRequest.summary,
                       "pipelined requests, up to depth outstanding (asynchronous request); requests/s and request-to-reply percentiles")
    }
}
