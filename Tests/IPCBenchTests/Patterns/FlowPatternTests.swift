import Foundation
import XCTest
@testable import IPCPlatform
@testable import IPCModel
@testable import IPCRun
@testable import IPCAnalysis
@testable import IPCLab

/// duplex, fanout and pairs: real bytes through this machine's kernel on every transport, every byte
/// checked by the receiving worker (`verify`), every count checked here; their figures from synthetic
/// reports; and the K-worker trial's timeout and dead-worker paths.
final class FlowPatternTests: TrialTestCase {
    /// Sizes that do not divide the pipe buffer (so short reads and writes happen) and one above 64 KiB
    /// where the transport takes it; the smallest datagram holds just the header.
    func sizes(_ kind: TransportKind) -> [Int] {
        kind.isDatagram ? [datagramHeaderBytes, 1000, 4096] : [8, 1000, 70_000]
    }

    // MARK: - Real trials

    func testDuplexDeliversEveryByteBothWays() throws {
        for kind in TransportKind.allCases {
            for size in sizes(kind) {
                let shape = CaseShape(payloadBytes: size)
                let label = "\(kind.rawValue) \(size)"
                if kind.semantics == .lossyMessages {
                    XCTAssertNotNil(skipReason(kind, .duplex, shape), label)
                    continue
                }
                if skipReason(kind, .duplex, shape) != nil { continue }  // one-way, no poll(2), no IPv6 loopback
                // Enough bytes each way to fill both directions' buffers many times over.
                let messages = max(64, (1 << 20) / size)
                let r = try trial(kind, .duplex, shape, messages: messages).workers
                XCTAssertEqual(r.count, 2, label)
                for w in r {
                    XCTAssertEqual(w.error, "", label)
                    XCTAssertEqual(w.bytes, UInt64(messages * size), label)
                    XCTAssertEqual(w.messages, UInt64(messages), label)
                    XCTAssertEqual(w.allocatedBytes, 0, label)
                    XCTAssertGreaterThan(w.endNs, w.startNs, label)
                    if kind.isDatagram {
                        XCTAssertEqual(w.datagrams.sent, UInt64(messages), label)
                        XCTAssertEqual(w.datagrams.received, UInt64(messages), label)
                        XCTAssertEqual(w.datagrams.duplicated, 0, label)
                    }
                }
                let f = DuplexPattern.figures(r, shape)
                XCTAssertEqual(f.bytes, UInt64(2 * messages * size), label)
                XCTAssertGreaterThan(f.values[.forward] ?? 0, 0, label)
                XCTAssertGreaterThan(f.values[.backward] ?? 0, 0, label)
            }
        }
    }

    func testFanoutDeliversEveryByteToEveryReceiver() throws {
        for kind in TransportKind.allCases {
            for receivers in [1, 2, 3] {
                let size = kind.isDatagram ? 1000 : 4000
                let messages = 300
                let shape = CaseShape(payloadBytes: size, receivers: receivers)
                let label = "\(kind.rawValue) receivers \(receivers)"
                if kind.implementation.needsIPv6 && !Limits.shared.ipv6Loopback { continue }
                XCTAssertNil(skipReason(kind, .fanout, shape), label)
                let r = try trial(kind, .fanout, shape, messages: messages).workers
                XCTAssertEqual(r.count, receivers + 1, label)
                XCTAssertEqual(r.map(\.allocatedBytes), Array(repeating: 0, count: receivers + 1), label)
                XCTAssertEqual(r.map(\.error), Array(repeating: "", count: receivers + 1), label)
                let sender = r[0]
                XCTAssertEqual(sender.messages, UInt64(messages), label)
                // One copy per receiver, or over udp-multicast one send that the kernel copies.
                let copies = kind.oneToMany ? 1 : receivers
                XCTAssertEqual(sender.bytes, UInt64(copies * messages * size), label)
                if kind.isDatagram { XCTAssertEqual(sender.datagrams.sent, UInt64(copies * messages), label) }
                for receiver in r.dropFirst() {
                    if kind.semantics == .lossyMessages {
                        // Loopback UDP may drop when a receiver falls behind; it must never invent.
                        XCTAssertGreaterThan(receiver.datagrams.received, 0, label)
                        XCTAssertLessThanOrEqual(receiver.datagrams.received, UInt64(messages), label)
                        XCTAssertEqual(receiver.bytes, (receiver.datagrams.received + receiver.datagrams.duplicated) * UInt64(size), label)
                    } else {
                        XCTAssertEqual(receiver.bytes, UInt64(messages * size), label)
                        XCTAssertEqual(receiver.messages, UInt64(messages), label)
                    }
                    XCTAssertGreaterThan(receiver.endNs, sender.startNs, label)
                }
                let f = FanoutPattern.figures(r, shape)
                XCTAssertEqual(f.bytes, r.dropFirst().reduce(0) { $0 + $1.bytes }, label)
                XCTAssertLessThanOrEqual(f.values[.slowest]!, f.values[.throughput]!, label)
            }
        }
    }

    func testPairsDeliverEveryByteOnEveryPair() throws {
        for kind in TransportKind.allCases {
            for pairs in [1, 2, 4] {
                let size = kind.isDatagram ? 1000 : 4000
                let messages = 300
                let shape = CaseShape(payloadBytes: size, pairs: pairs)
                let label = "\(kind.rawValue) pairs \(pairs)"
                if kind.implementation.needsIPv6 && !Limits.shared.ipv6Loopback { continue }
                if kind.oneToMany {
                    XCTAssertNotNil(skipReason(kind, .pairs, shape), label)
                    continue
                }
                XCTAssertNil(skipReason(kind, .pairs, shape), label)
                let r = try trial(kind, .pairs, shape, messages: messages).workers
                XCTAssertEqual(r.count, 2 * pairs, label)
                XCTAssertEqual(r.map(\.allocatedBytes), Array(repeating: 0, count: 2 * pairs), label)
                XCTAssertEqual(r.map(\.error), Array(repeating: "", count: 2 * pairs), label)
                for p in 0..<pairs {
                    let sender = r[2 * p], receiver = r[2 * p + 1]
                    XCTAssertEqual(sender.messages, UInt64(messages), label)
                    XCTAssertEqual(sender.bytes, UInt64(messages * size), label)
                    if kind.semantics == .lossyMessages {
                        XCTAssertGreaterThan(receiver.datagrams.received, 0, label)
                        XCTAssertLessThanOrEqual(receiver.datagrams.received, UInt64(messages), label)
                    } else {
                        XCTAssertEqual(receiver.bytes, UInt64(messages * size), label)
                        XCTAssertEqual(receiver.messages, UInt64(messages), label)
                    }
                    XCTAssertGreaterThan(receiver.endNs, sender.startNs, label)
                }
                let f = PairsPattern.figures(r, shape)
                XCTAssertEqual(f.messages, UInt64(pairs * messages), label)
                let each = (0..<pairs).map { oneWayFigures(sender: r[2 * $0], receiver: r[2 * $0 + 1]).values[.throughput]! }
                XCTAssertEqual(f.values[.slowest], each.min(), label)
            }
        }
    }

    // MARK: - The duplex loop against a hand-played peer

    func socketPair(_ type: Int32) throws -> [Int32] {
        var fds: [Int32] = [-1, -1]
        try check("socketpair") { socketpair(AF_UNIX, type | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) }
        return fds
    }

    func testDuplexCatchesACorruptByte() throws {
        let fds = try socketPair(Int32(SOCK_STREAM.rawValue))
        defer { fds.forEach(closeDescriptor) }
        // The peer's 100 bytes are all zero; the pattern's second byte is 1.
        let zeros = [UInt8](repeating: 0, count: 100)
        XCTAssertEqual(write(fds[1], zeros, 100), 100)
        var r = LoopResult()
        DuplexLoop(Endpoint(.readWrite(read: fds[0], write: fds[0]), .stream), LoopWork(payloadBytes: 100, messages: 1, verify: true)).run(&r)
        XCTAssertEqual(r.failure.message, "data corrupted: byte 1 differs from what was sent")
    }

    func testDuplexMessagesDropForeignDatagramsAndAllocateNothing() throws {
        let fds = try socketPair(Int32(SOCK_DGRAM.rawValue))
        defer { fds.forEach(closeDescriptor) }
        let key: UInt64 = 0x1234_5678_9abc_def0
        let size = 64, messages = 3
        // What the peer sends first: a foreign datagram, then its three messages, all queued.
        let pattern = makePatternBuffer(size)
        defer { pattern.deallocate() }
        writeDatagramHeader(pattern, key: key ^ 1, number: 0)
        XCTAssertEqual(send(fds[1], pattern, size, 0), size)
        for number in 0..<UInt64(messages) {
            writeDatagramHeader(pattern, key: key, number: number)
            XCTAssertEqual(send(fds[1], pattern, size, 0), size)
        }
        let loop = DuplexLoop(Endpoint(.sendReceive(fds[0]), .reliableMessages, datagramKey: key),
                              LoopWork(payloadBytes: size, messages: messages, verify: true))
        var r = LoopResult()
        let counter = AllocationCounter()
        let before = counter.allocatedBytes
        loop.run(&r)
        XCTAssertEqual(counter.allocatedBytes - before, 0)
        XCTAssertFalse(r.failure.isFailure, r.failure.message ?? "")
        XCTAssertEqual(r.rejected, 1)
        XCTAssertEqual(r.datagrams.sent, UInt64(messages))
        XCTAssertEqual(r.datagrams.received, UInt64(messages))
        XCTAssertEqual(r.bytes, UInt64(messages * size))
        // What the loop sent: three keyed, numbered messages.
        var got = [UInt8](repeating: 0, count: size)
        for number in 0..<UInt64(messages) {
            XCTAssertEqual(recv(fds[1], &got, size, 0), size)
            got.withUnsafeBytes {
                XCTAssertEqual(UInt64(littleEndian: $0.load(fromByteOffset: 0, as: UInt64.self)), key)
                XCTAssertEqual(UInt64(littleEndian: $0.load(fromByteOffset: 8, as: UInt64.self)), number)
            }
        }
    }

    // MARK: - Figures from synthetic reports

    func report(start: UInt64 = 0, end: UInt64 = 0, bytes: UInt64 = 0, messages: UInt64 = 0,
                sent: UInt64 = 0, received: UInt64 = 0) -> WorkerReport {
        var r = WorkerReport()
        r.startNs = start
        r.endNs = end
        r.bytes = bytes
        r.messages = messages
        r.datagrams.sent = sent
        r.datagrams.received = received
        return r
    }

    func testDuplexFigures() {
        let mib: UInt64 = 1 << 20
        // First starts at 1 s and receives 2 MiB by 3 s; second starts at 2 s and receives 4 MiB by 5 s.
        let first = report(start: 1_000_000_000, end: 3_000_000_000, bytes: 2 * mib, messages: 2, sent: 4, received: 2)
        let second = report(start: 2_000_000_000, end: 5_000_000_000, bytes: 4 * mib, messages: 4, sent: 2, received: 2)
        let f = DuplexPattern.figures([first, second], CaseShape(payloadBytes: Int(mib)))
        XCTAssertEqual(f.durationNs, 4_000_000_000)
        XCTAssertEqual(f.bytes, 6 * mib)
        XCTAssertEqual(f.messages, 6)
        XCTAssertEqual(f.values[.throughput], 1.5)
        XCTAssertEqual(f.values[.forward], 1)  // 4 MiB from 1 s to 5 s
        XCTAssertEqual(f.values[.backward], 2)  // 2 MiB from 2 s to 3 s
        XCTAssertNil(f.values[.slowest])
        XCTAssertNil(f.values[.messagesPerSecond])
        XCTAssertEqual(f.datagrams?.sent, 6)
        XCTAssertEqual(f.datagrams?.received, 4)
        XCTAssertEqual(f.datagrams?.lost, 2)
    }

    func testFanoutFigures() {
        let mib: UInt64 = 1 << 20
        let sender = report(start: 1_000_000_000, end: 2_000_000_000, bytes: 8 * mib, messages: 4, sent: 8)
        // Receiver 1 has 4 MiB at 2 s (4 MiB/s), receiver 2 has 3 MiB at 4 s (1 MiB/s).
        let one = report(start: 500, end: 2_000_000_000, bytes: 4 * mib, messages: 4, received: 4)
        let two = report(start: 500, end: 4_000_000_000, bytes: 3 * mib, messages: 3, received: 3)
        let shape = CaseShape(payloadBytes: Int(mib), receivers: 2)
        XCTAssertEqual(FanoutPattern.topology(shape), Topology(roles: ["sender", "receiver 1", "receiver 2"],
                                                               links: [.init(from: 0, to: 1), .init(from: 0, to: 2)]))
        let f = FanoutPattern.figures([sender, one, two], shape)
        XCTAssertEqual(f.durationNs, 3_000_000_000)
        XCTAssertEqual(f.bytes, 7 * mib)
        XCTAssertEqual(f.messages, 4)
        XCTAssertEqual(f.values[.throughput]!, 7.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(f.values[.slowest], 1)
        XCTAssertNil(f.values[.messagesPerSecond])
        XCTAssertEqual(f.datagrams?.sent, 8)
        XCTAssertEqual(f.datagrams?.received, 7)
        XCTAssertEqual(f.datagrams?.lost, 1)
    }

    func testPairsFigures() {
        let mib: UInt64 = 1 << 20
        // Pair 1: 2 s to 4 s, 4 MiB (2 MiB/s). Pair 2: 1 s to 3 s, 1 MiB (0.5 MiB/s). Together 1 s to 4 s.
        let reports = [
            report(start: 2_000_000_000, end: 3_000_000_000, bytes: 4 * mib, messages: 4, sent: 4),
            report(start: 1, end: 4_000_000_000, bytes: 4 * mib, messages: 4, received: 4),
            report(start: 1_000_000_000, end: 2_000_000_000, bytes: 2 * mib, messages: 2, sent: 2),
            report(start: 1, end: 3_000_000_000, bytes: 1 * mib, messages: 1, received: 1),
        ]
        let shape = CaseShape(payloadBytes: Int(mib), pairs: 2)
        XCTAssertEqual(PairsPattern.topology(shape), Topology(roles: ["sender 1", "receiver 1", "sender 2", "receiver 2"],
                                                              links: [.init(from: 0, to: 1), .init(from: 2, to: 3)]))
        let f = PairsPattern.figures(reports, shape)
        XCTAssertEqual(f.durationNs, 3_000_000_000)
        XCTAssertEqual(f.bytes, 5 * mib)
        XCTAssertEqual(f.messages, 6)
        XCTAssertEqual(f.values[.throughput]!, 5.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(f.values[.messagesPerSecond]!, 5.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(f.values[.slowest], 0.5)
        XCTAssertEqual(f.datagrams?.sent, 6)
        XCTAssertEqual(f.datagrams?.received, 5)
        XCTAssertEqual(f.datagrams?.lost, 1)
    }

    func testParametersAndSkips() {
        XCTAssertEqual(PatternKind.duplex.parameters, [])
        XCTAssertEqual(PatternKind.fanout.parameters, [.receivers])
        XCTAssertEqual(PatternKind.pairs.parameters, [.pairs])
        XCTAssertEqual(PatternKind.duplex.metrics, [.throughput, .forward, .backward, .cpuPerMessage])
        XCTAssertEqual(PatternKind.fanout.metrics, [.throughput, .slowest, .cpuPerMessage])
        XCTAssertEqual(PatternKind.pairs.metrics, [.throughput, .messagesPerSecond, .slowest, .cpuPerMessage])
        XCTAssertEqual(skipReason(.udp, .duplex, CaseShape(payloadBytes: 1000)),
                       "duplex needs every message to arrive (each worker waits for all of its peer's); udp may drop them, so its loss is measured by throughput")
        for pattern in [PatternKind.duplex, .fanout, .pairs] {
            XCTAssertNotNil(skipReason(.unixDgram, pattern, CaseShape(payloadBytes: datagramHeaderBytes - 1)), pattern.rawValue)
            XCTAssertNil(skipReason(.pipe, pattern, CaseShape(payloadBytes: 1)), pattern.rawValue)
        }
    }

    // MARK: - K-worker trials that fail

    /// This thread's id, from /proc/thread-self (a link to "<pid>/task/<tid>").
    func currentThread() throws -> pid_t {
        let link = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self")
        return try XCTUnwrap(pid_t(link.split(separator: "/").last ?? ""))
    }

    /// The pids of the children of this thread (the one that forks the workers), in fork order.
    static func children(of thread: pid_t) -> [pid_t] {
        let text = (try? String(contentsOfFile: "/proc/self/task/\(thread)/children", encoding: .utf8)) ?? ""
        return text.split(separator: " ").compactMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    func testFanoutTimeoutKillsEveryWorker() throws {
        let thread = try currentThread()
        XCTAssertEqual(Self.children(of: thread), [])
        XCTAssertThrowsError(try trial(.pipe, .fanout, CaseShape(payloadBytes: 64, receivers: 3),
                                       messages: 100_000_000, timeoutNs: 300_000_000)) { error in
            XCTAssertTrue("\(error)".contains("timed out after 300ms"), "\(error)")
        }
        XCTAssertEqual(Self.children(of: thread), [], "a worker outlived the trial or was not reaped")
    }

    /// Bytes `pid` has written so far (wchar in /proc/<pid>/io), 0 if it cannot be read.
    static func bytesWritten(_ pid: pid_t) -> UInt64 {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/io", encoding: .utf8)) ?? ""
        let line = text.split(separator: "\n").first { $0.hasPrefix("wchar:") } ?? ""
        return UInt64(line.dropFirst("wchar:".count).trimmingCharacters(in: .whitespaces)) ?? 0
    }

    /// What the helper thread saw: the workers' pids, in fork order.
    final class Sighting: @unchecked Sendable {
        var pids: [pid_t] = []
        let done = DispatchSemaphore(value: 0)
    }

    func testFanoutWithADeadReceiverFailsNamingIt() throws {
        let thread = try currentThread()
        XCTAssertEqual(Self.children(of: thread), [])
        let receivers = 3
        // A helper thread waits until every worker exists and the sender has written more than the
        // pipes hold (so the timed loop is running), then kills receiver 2 (the third fork).
        let sighting = Sighting()
        let killer = Thread {
            let giveUp = monotonicNanoseconds() + 30_000_000_000
            while monotonicNanoseconds() < giveUp {
                sighting.pids = Self.children(of: thread)
                if sighting.pids.count == receivers + 1 && Self.bytesWritten(sighting.pids[0]) > 4 << 20 {
                    kill(sighting.pids[2], SIGKILL)
                    break
                }
                usleep(1000)
            }
            sighting.done.signal()
        }
        killer.start()
        XCTAssertThrowsError(try trial(.pipe, .fanout, CaseShape(payloadBytes: 65_536, receivers: receivers),
                                       messages: 100_000_000, timeoutNs: 60_000_000_000)) { error in
            XCTAssertEqual("\(error)", "the receiver 2 worker died during the timed loop: killed by signal 9 (Killed)")
        }
        sighting.done.wait()
        XCTAssertEqual(sighting.pids.count, receivers + 1)
        XCTAssertEqual(Self.children(of: thread), [], "a worker outlived the trial or was not reaped")
        for pid in sighting.pids { XCTAssertEqual(kill(pid, 0), -1, "worker \(pid) is still alive") }
    }
}
