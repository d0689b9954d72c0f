import XCTest
@testable import IPCPlatform
@testable import IPCModel
@testable import IPCRun
@testable import IPCAnalysis
@testable import IPCLab

/// Real bytes through this machine's kernel: every transport, both patterns, every byte checked by
/// the receiving worker (`verify`), every count checked here.
final class TransportTests: TrialTestCase {
    func testThroughputDeliversEveryByte() throws {
        for kind in TransportKind.allCases {
            // Sizes that do not divide the pipe buffer, so short reads and writes happen; the smallest
            // datagram holds just the header (key and sequence number).
            for size in [kind.isDatagram ? datagramHeaderBytes : 8, 1000, 4096, 65_000]
            where skipReason(kind, .throughput, CaseShape(payloadBytes: size)) == nil {
                let messages = max(1, (1 << 20) / size)
                let r = try trial(kind, .throughput, size: size, messages: messages)
                let label = "\(kind.rawValue) \(size)"
                XCTAssertEqual(r.a.messages, UInt64(messages), label)
                XCTAssertEqual(r.a.bytes, UInt64(messages * size), label)
                XCTAssertGreaterThan(r.b.endNs, r.a.startNs, label)
                XCTAssertEqual(r.a.allocatedBytes + r.b.allocatedBytes, 0, label)
                if kind.semantics == .lossyMessages {
                    // Loopback UDP may drop when the receiver falls behind; it must never invent.
                    XCTAssertEqual(r.a.datagrams.sent, UInt64(messages), label)
                    XCTAssertLessThanOrEqual(r.b.datagrams.received, r.a.datagrams.sent, label)
                    XCTAssertGreaterThan(r.b.datagrams.received, 0, label)
                    XCTAssertEqual(r.b.bytes, r.b.datagrams.received * UInt64(size) + r.b.datagrams.duplicated * UInt64(size), label)
                } else {
                    XCTAssertEqual(r.b.bytes, UInt64(messages * size), label)
                    XCTAssertEqual(r.b.messages, UInt64(messages), label)
                }
                if kind.semantics == .reliableMessages {
                    XCTAssertEqual(r.b.datagrams.received, UInt64(messages), label)
                    XCTAssertEqual(r.b.datagrams.reordered, 0, label)
                    XCTAssertEqual(r.b.datagrams.duplicated, 0, label)
                }
            }
        }
    }

    func testLatencyEchoesEveryByte() throws {
        for kind in TransportKind.allCases {
            for size in [1, 64, 4096, 60_000] where skipReason(kind, .latency, CaseShape(payloadBytes: size)) == nil {
                let r = try trial(kind, .latency, size: size, messages: 300)
                let label = "\(kind.rawValue) \(size)"
                XCTAssertEqual(r.a.messages, 300, label)
                XCTAssertEqual(r.b.messages, 300, label)
                XCTAssertEqual(r.a.bytes, UInt64(300 * size), label)
                XCTAssertEqual(r.a.roundTrips.reduce(0) { $0 + $1.1 }, 300, label)
                XCTAssertEqual(r.a.allocatedBytes + r.b.allocatedBytes, 0, label)
            }
        }
    }

    func testDatagramAboveTheLimitIsSkipped() {
        let c = BenchCase(suite: "s", transport: .udp, pattern: .latency, payloadBytes: Limits.shared.udpDatagramMax + 1,
                          messages: 1, repetitions: 1, warmup: 0, placement: .none, timeoutNs: 1, minTrialNs: 0, verify: false)
        XCTAssertNotNil(c.skipReason())
        XCTAssertEqual(Limits.shared.udpDatagramMax, 65507)  // IPv4's limit: 65535 - 20 - 8
    }

    /// The timeout kills the whole group, workers as processes or as threads of one.
    func testTimeoutKillsTheTrial() throws {
        for workers in [Workers.process, .thread] {
            let start = monotonicNanoseconds()
            XCTAssertThrowsError(try runTrial(
                transport: .pipe, options: TransportOptions(), pattern: .latency, shape: CaseShape(payloadBytes: 64),
                work: LoopWork(payloadBytes: 64, messages: 100_000_000, verify: false), cpus: [],
                directory: directory.path, timeoutNs: 300_000_000, workers: workers)) { error in
                XCTAssertTrue("\(error)".contains("timed out after 300ms"), "\(workers): \(error)")
            }
            XCTAssertLessThan(monotonicNanoseconds() - start, 10_000_000_000)
        }
    }

    func testJemallocIsTheAllocator() {
        let counter = AllocationCounter()
        XCTAssertTrue(counter.isAvailable)
        let before = counter.allocatedBytes
        let array = [UInt8](repeating: 1, count: 100_000)
        XCTAssertGreaterThanOrEqual(counter.allocatedBytes - before, 100_000)
        XCTAssertEqual(array.count, 100_000)
    }
}
