import Foundation
import Glibc
import XCTest
@testable import IPCBench

/// `--wait`: every wait mode on every transport and pattern that serves it, every byte checked
/// (`verify`) and every message counted, nothing allocated in the loops; what cannot serve a mode
/// is skipped with its reason. Counts only, never a time. About 40 s.
final class WaitTests: TrialTestCase {
    func shape(_ pattern: PatternKind, _ mode: WaitMode, depth: Int = 1) -> CaseShape {
        var s: CaseShape
        switch pattern {
        case .fanout: s = CaseShape(payloadBytes: 64, receivers: 2)
        case .pairs: s = CaseShape(payloadBytes: 64, pairs: 2)
        case .pubsub: s = CaseShape(payloadBytes: 64, [.publishers: 2, .subscribers: 2, .topics: 2, .subscriptions: 1, .topology: 2])
        case .asyncRequest: s = CaseShape(payloadBytes: 64, depth: depth)
        case .throughput, .latency, .syncMessage, .duplex: s = CaseShape(payloadBytes: 64)
        }
        s[.wait] = WaitMode.allCases.firstIndex(of: mode)! + 1
        return s
    }

    func testEveryModeOnEveryTransportThatServesIt() throws {
        let messages = 300
        var ran = 0
        for mode in WaitMode.allCases where mode != .auto {
            for kind in TransportKind.allCases {
                for (pattern, depth) in PatternKind.allCases.map({ ($0, 1) }) + [(.asyncRequest, 4)] {
                    let s = shape(pattern, mode, depth: depth)
                    let label = "\(mode.rawValue) \(kind.rawValue) \(pattern.rawValue) depth \(depth)"
                    if let reason = skipReason(kind, pattern, s) {
                        if !kind.implementation.pollable { XCTAssertTrue(reason.contains("no descriptor"), "\(label): \(reason)") }
                        continue
                    }
                    let r = try trial(kind, pattern, s, messages: messages)
                    ran += 1
                    XCTAssertEqual(r.workers.map(\.error), r.workers.map { _ in "" }, label)
                    XCTAssertEqual(r.workers.reduce(0) { $0 + $1.allocatedBytes }, 0, label)
                    let f = pattern.implementation.figures(r.workers, s)
                    if kind.implementation.semantics != .lossyMessages {
                        // Every byte arrived (and was checked on the way: verify is on).
                        let due: UInt64
                        switch pattern {
                        case .fanout: due = UInt64(messages * 64 * 2)
                        case .pairs: due = UInt64(messages * 64 * 2)
                        case .duplex: due = UInt64(messages * 64 * 2)
                        case .pubsub: due = UInt64(2 * messages * 64)  // each message to the one subscriber of its topic
                        case .throughput, .latency, .syncMessage, .asyncRequest: due = UInt64(messages * 64)
                        }
                        XCTAssertEqual(f.bytes, due, label)
                    }
                }
            }
        }
        XCTAssertGreaterThan(ran, 100)
    }

    /// A busy reader never sleeps: a ping-pong whose two workers only spin on non-blocking reads
    /// makes no voluntary context switch (pipe writes of 64 bytes never wait).
    func testBusyReadersNeverSleep() throws {
        for kind in [TransportKind.pipe, .unixStream, .udp] {
            let r = try trial(kind, .latency, shape(.latency, .busy), messages: 2000)
            // UDP may drop a ping (counted lost); every other transport answers every one.
            XCTAssertEqual(kind == .udp ? r.a.datagrams.sent : r.a.messages, 2000, kind.rawValue)
            XCTAssertEqual(r.workers.map(\.usage.voluntarySwitches), [0, 0], kind.rawValue)
        }
    }

    /// io_uring is tried at start-up; a kernel that refuses a ring skips uring with the reason
    /// (the test switch plays one), and mq (no io_uring operation for mq_receive) is skipped for it.
    func testUringIsSkippedWhereTheKernelOrTransportCannotServeIt() {
        setenv("IPCBENCH_TEST_NO_IO_URING", "1", 1)
        let refusal = Limits.ioUringRefusal()
        unsetenv("IPCBENCH_TEST_NO_IO_URING")
        XCTAssertTrue(refusal?.hasPrefix("this kernel refuses io_uring: io_uring_setup: Operation not permitted") ?? false, refusal ?? "nil")
        var limits = Limits.shared
        limits.ioUringRefusal = refusal
        XCTAssertEqual(skipReason(.pipe, .latency, shape(.latency, .uring), limits: limits), refusal)
        XCTAssertNil(skipReason(.pipe, .latency, shape(.latency, .poll), limits: limits))
        if Limits.shared.ioUringRefusal == nil {
            XCTAssertNil(skipReason(.pipe, .latency, shape(.latency, .uring)))
            XCTAssertTrue(skipReason(.mq, .latency, shape(.latency, .uring))?.contains("mq_receive(3)") ?? false)
            // The ring waits on several descriptors at once, and splices for vmsplice's receiver.
            XCTAssertNil(skipReason(.vmsplice, .throughput, shape(.throughput, .uring)))
            XCTAssertNil(skipReason(.pipe, .pubsub, shape(.pubsub, .uring)))
            XCTAssertNil(skipReason(.unixStream, .duplex, shape(.duplex, .uring)))
            XCTAssertNil(skipReason(.udp, .asyncRequest, shape(.asyncRequest, .uring, depth: 4)))
        }
    }

    func testWhatCannotServeAModeIsSkippedWithTheReason() {
        XCTAssertEqual(skipReason(.shmFutex, .latency, shape(.latency, .poll)),
                       "shm-futex has no descriptor to wait on: its rings wait in futex(2) or spin, whatever --wait says")
        XCTAssertNil(skipReason(.shmFutex, .latency, shape(.latency, .auto)))
        XCTAssertTrue(skipReason(.pipe, .pubsub, shape(.pubsub, .block))?.contains("a blocking read on one descriptor would stall the others") ?? false)
        XCTAssertTrue(skipReason(.pipe, .duplex, shape(.duplex, .block))?.contains("cannot serve it") ?? false)
        XCTAssertNil(skipReason(.pipe, .duplex, shape(.duplex, .epoll)))
        XCTAssertNil(skipReason(.pipe, .duplex, shape(.duplex, .busy)))
        XCTAssertNil(skipReason(.pipe, .pubsub, shape(.pubsub, .epoll)))
        XCTAssertNil(skipReason(.pipe, .duplex, shape(.duplex, .poll)))
        var deep = shape(.asyncRequest, .busy)
        deep[.depth] = 4
        XCTAssertNil(skipReason(.pipe, .asyncRequest, deep))
        deep[.wait] = WaitMode.allCases.firstIndex(of: .block)! + 1
        XCTAssertNotNil(skipReason(.pipe, .asyncRequest, deep))
    }
}
