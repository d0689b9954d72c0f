import CShims
import Foundation
import Glibc
import XCTest
@testable import IPCPlatform
@testable import IPCModel
@testable import IPCRun
@testable import IPCAnalysis
@testable import IPCLab

/// `--wait`: every wait mode on every transport and pattern that serves it, every byte checked
/// (`verify`) and every message counted, nothing allocated in the loops; what cannot serve a mode
/// is skipped with its reason. Counts only, never a time. About 65 s.
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

    /// The worker's ring by hand, on a pipe: operations told apart by tag, a wait that runs out
    /// leaves the read in flight for the next wait, another operation under a busy tag is refused,
    /// whichever completes first is taken, and registered buffers are used where the kernel takes them.
    func testTheRingTellsItsOperationsApart() throws {
        if let refusal = Limits.shared.ioUringRefusal { throw XCTSkip(refusal) }
        var fds: [Int32] = [-1, -1]
        XCTAssertEqual(pipe(&fds), 0)
        defer { fds.forEach { close($0) } }
        let ring = try XCTUnwrap(cshim_uring_open(8))
        defer { cshim_uring_close(ring) }
        let source = makePatternBuffer(64), sink = makePatternBuffer(64), other = makePatternBuffer(64)
        defer { [source, sink, other].forEach { $0.deallocate() } }
        XCTAssertEqual(cshim_uring_register_buffers(ring), -ENOENT)  // none collected: plain buffers
        XCTAssertEqual(cshim_uring_fixed_error(ring), -ENOENT)
        memset(sink, 0, 64)
        XCTAssertEqual(cshim_uring_start(ring, 0, Int32(CSHIM_URING_READ), fds[0], sink, 64, 0, -1), 0)
        XCTAssertEqual(cshim_uring_wait(ring, 0, 0), -Int(EAGAIN))  // nothing written yet: still in flight
        XCTAssertEqual(cshim_uring_wait(ring, 0, 2_000_000), -Int(EAGAIN))  // 2 ms, and still nothing
        XCTAssertEqual(cshim_uring_start(ring, 0, Int32(CSHIM_URING_READ), fds[0], sink, 64, 0, -1), 0)  // the same: already there
        XCTAssertEqual(cshim_uring_start(ring, 0, Int32(CSHIM_URING_READ), fds[0], other, 64, 0, -1), -Int(EBUSY))
        XCTAssertEqual(cshim_uring_start(ring, 1, Int32(CSHIM_URING_WRITE), fds[1], source, 64, 0, -1), 0)
        XCTAssertEqual(cshim_uring_wait(ring, 1, -1), 64)
        var tag: UInt32 = 9
        XCTAssertEqual(cshim_uring_wait_any(ring, &tag, -1, 0), 0)  // says which, leaves the result
        XCTAssertEqual(tag, 0)
        XCTAssertEqual(cshim_uring_wait(ring, 0, -1), 64)
        XCTAssertNil(firstMismatch(sink, 64, streamOffset: 0))
        XCTAssertEqual(cshim_uring_wait_any(ring, &tag, -1, 1), -Int(EINVAL))  // nothing in flight
        XCTAssertEqual(cshim_uring_wait(ring, 7, -1), -Int(EINVAL))
        XCTAssertEqual(cshim_uring_start(ring, 8, Int32(CSHIM_URING_READ), fds[0], sink, 64, 0, -1), -Int(EINVAL))  // no such tag
        // Registered: the same through IORING_OP_READ_FIXED and IORING_OP_WRITE_FIXED, at an offset inside a buffer.
        let fixed = try XCTUnwrap(cshim_uring_open(8))
        defer { cshim_uring_close(fixed) }
        cshim_uring_collect_buffers(fixed)
        let a = makePatternBuffer(64), b = makePatternBuffer(64)
        defer { [a, b].forEach { $0.deallocate() } }
        let registered = cshim_uring_register_buffers(fixed)
        XCTAssertEqual(registered, uringFixedBuffersRefusal() == nil ? 0 : registered)
        memset(b, 0, 64 + patternPeriod)
        XCTAssertEqual(cshim_uring_start(fixed, 3, Int32(CSHIM_URING_WRITE), fds[1], a + 10, 40, 0, -1), 0)
        XCTAssertEqual(cshim_uring_start(fixed, 2, Int32(CSHIM_URING_READ), fds[0], b + 5, 64, 0, -1), 0)
        var seen: Set<UInt32> = []
        for _ in 0..<2 {
            let n = cshim_uring_wait_any(fixed, &tag, -1, 1)
            XCTAssertEqual(n, 40)
            seen.insert(tag)
        }
        XCTAssertEqual(seen, [2, 3])
        XCTAssertNil(firstMismatch(b + 5, 40, streamOffset: 10))
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
