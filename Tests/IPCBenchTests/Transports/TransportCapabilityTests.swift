import CShims
import Foundation
import Glibc
import XCTest
@testable import IPCPlatform
@testable import IPCModel
@testable import IPCRun
@testable import IPCAnalysis
@testable import IPCLab

/// The transports beyond the first six, on this machine's kernel: what each leaves behind (nothing),
/// why a case is skipped (golden strings), the paths TransportTests does not take (vmsplice into
/// /dev/null, rings that wrap, end of stream), and strangers at the new sockets.
final class TransportCapabilityTests: TrialTestCase {
    func benchCase(_ kind: TransportKind, _ pattern: PatternKind, _ size: Int) -> BenchCase {
        BenchCase(suite: "s", transport: kind, pattern: pattern, payloadBytes: size, messages: 1, repetitions: 1,
                  warmup: 0, placement: .none, timeoutNs: 1, minTrialNs: 0, verify: false)
    }

    // MARK: - Skip reasons

    func testMessageQueueAboveTheKernelLimitIsSkippedWithTheSysctl() throws {
        let max = Limits.shared.mqMessageMax
        XCTAssertEqual(max, Int(try String(contentsOfFile: "/proc/sys/fs/mqueue/msgsize_max", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)))
        XCTAssertEqual(benchCase(.mq, .latency, max + 1).skipReason(),
                       "payload of \(max + 1) bytes exceeds this kernel's mq message limit of \(max) bytes; raise it with sysctl fs.mqueue.msgsize_max")
        XCTAssertNil(benchCase(.mq, .latency, max).skipReason())
        XCTAssertNil(benchCase(.mq, .throughput, max).skipReason())
    }

    func testMessageQueueSyncMessageIsSkipped() {
        XCTAssertEqual(benchCase(.mq, .syncMessage, 64).skipReason(),
                       "sync-message sends a 16-byte acknowledgement, and mq carries only messages of the payload's size")
        for pattern in PatternKind.allCases where pattern != .syncMessage {
            XCTAssertNil(benchCase(.mq, pattern, 64).skipReason(), pattern.rawValue)
        }
    }

    func testVmspliceLatencyIsSkipped() {
        XCTAssertEqual(benchCase(.vmsplice, .latency, 64).skipReason(),
                       "vmsplice is one-way: latency sends both ways; use it for throughput, fanout, pairs or pubsub")
        XCTAssertEqual(benchCase(.vmsplice, .duplex, 64).skipReason(),
                       "vmsplice is one-way: duplex sends both ways; use it for throughput, fanout, pairs or pubsub")
        for pattern in [PatternKind.throughput, .fanout, .pairs] { XCTAssertNil(benchCase(.vmsplice, pattern, 64).skipReason()) }
        for pattern in [PatternKind.syncMessage, .asyncRequest] { XCTAssertNotNil(benchCase(.vmsplice, pattern, 64).skipReason()) }
    }

    func testSharedMemoryDuplexAndPipelinesAreSkipped() {
        for kind in [TransportKind.shmFutex, .shmSpin] {
            XCTAssertEqual(benchCase(kind, .duplex, 64).skipReason(),
                           "duplex waits for either direction in poll(2), and \(kind.rawValue) has no descriptor to poll")
            var pipelined = benchCase(kind, .asyncRequest, 64)
            pipelined.parameters[.depth] = 4
            XCTAssertEqual(pipelined.skipReason(),
                           "async-request waits for either direction in poll(2), and \(kind.rawValue) has no descriptor to poll")
            XCTAssertEqual(benchCase(kind, .pubsub, 64).skipReason(),
                           "pubsub waits for any of its links in poll(2), and \(kind.rawValue) has no descriptor to poll")
            for pattern in [PatternKind.throughput, .latency, .syncMessage, .asyncRequest, .fanout, .pairs] {
                XCTAssertNil(benchCase(kind, pattern, 64).skipReason(), "\(kind.rawValue) \(pattern.rawValue)")
            }
        }
    }

    func testWithoutIPv6LoopbackEveryIPv6CaseIsSkipped() {
        var limits = Limits.shared
        limits.ipv6Loopback = false
        for kind in [TransportKind.tcp6, .udp6] {
            for pattern in PatternKind.allCases {
                XCTAssertEqual(benchCase(kind, pattern, 64).skipReason(limits: limits),
                               "this machine has no IPv6 loopback: a socket cannot be bound to ::1")
            }
        }
        XCTAssertNil(benchCase(.tcp, .latency, 64).skipReason(limits: limits))
        XCTAssertNil(benchCase(.udp, .latency, 64).skipReason(limits: limits))
        limits.ipv6Loopback = true
        XCTAssertNil(benchCase(.tcp6, .latency, 64).skipReason(limits: limits))
    }

    func testSeqpacketAndIPv6LimitsAreProbed() throws {
        XCTAssertGreaterThan(Limits.shared.unixSeqpacketMax, 0)
        XCTAssertEqual(benchCase(.unixSeqpacket, .latency, Limits.shared.unixSeqpacketMax + 1).skipReason(),
                       "payload of \(Limits.shared.unixSeqpacketMax + 1) bytes exceeds this kernel's unix-seqpacket message limit of \(Limits.shared.unixSeqpacketMax) bytes")
        try XCTSkipUnless(Limits.shared.ipv6Loopback, "this machine has no IPv6 loopback")
        XCTAssertEqual(Limits.shared.udp6DatagramMax, 65527)  // IPv6's limit: 65535 - 8
    }

    // MARK: - mq: no queue outlives its trial

    func queueExists(_ name: String) -> Bool {
        let q = cshim_mq_open_existing(name)
        if q >= 0 { closeDescriptor(q); return true }
        XCTAssertEqual(errno, ENOENT, name)
        return false
    }

    func testMessageQueuesAreGoneBeforeTheWorkersStartAndAfterTheTrial() throws {
        var names: [String] = []
        let r = try trial(.mq, .latency, size: 100, messages: 50) { transport in
            names = (transport as! MessageQueueTransport).names
            // Unlinked in prepare: the workers inherit the open queues, nobody can open them by name.
            for name in names { XCTAssertFalse(queueExists(name), name) }
        }
        XCTAssertEqual(r.b.messages, 50)
        XCTAssertEqual(names.count, 2)
        XCTAssertTrue(names[0].hasPrefix("/ipcbench-\(getpid())-") && names[0].hasSuffix("-ab"), names[0])
        for name in names { XCTAssertFalse(queueExists(name), name) }
    }

    func testMessageQueuesAreGoneAfterAFailedTrial() throws {
        var names: [String] = []
        XCTAssertThrowsError(try trial(.mq, .latency, size: 64, messages: 100_000_000, timeoutNs: 300_000_000) { transport in
            names = (transport as! MessageQueueTransport).names
        }) { error in
            XCTAssertTrue("\(error)".contains("timed out after 300ms"), "\(error)")
        }
        XCTAssertEqual(names.count, 2)
        for name in names { XCTAssertFalse(queueExists(name), name) }
    }

    func testMessageQueueWithoutAPayloadSizeIsAClearError() throws {
        let transport = TransportKind.mq.make(TransportOptions())
        defer { transport.close() }
        XCTAssertThrowsError(try transport.prepare(in: directory.path)) { error in
            XCTAssertEqual("\(error)", "mq_open: the message size (the payload size) is not set: Invalid argument")
        }
    }

    func testStaleQueuesOfGoneRunnersAreRemovedAndOthersStay() throws {
        // A pid that is surely gone: a child we reaped.
        let child = cshim_fork()
        if child == 0 { _exit(0) }
        var status: Int32 = 0
        XCTAssertEqual(waitpid(child, &status, 0), child)
        let stale = "ipcbench-\(child)-1-ab", live = "ipcbench-\(getppid())-1-ba", foreign = "other-\(child)-1-ab"
        // /dev/mqueue is where the mqueue file system is usually mounted; a folder of empty files
        // with the same names stands in for its listing, the queues are real.
        let listing = directory.path + "/mqueue"
        XCTAssertEqual(mkdir(listing, 0o700), 0)
        defer {
            for name in [stale, live, foreign] {
                _ = cshim_mq_unlink("/" + name)
                _ = unlink(listing + "/" + name)
            }
            _ = rmdir(listing)
        }
        for name in [stale, live, foreign] {
            let q = cshim_mq_create("/" + name, 1, 16)
            XCTAssertGreaterThanOrEqual(q, 0, name)
            closeDescriptor(q)
            XCTAssertTrue(FileManager.default.createFile(atPath: listing + "/" + name, contents: nil))
        }
        XCTAssertEqual(removeStaleQueues(listing: listing), [stale])
        XCTAssertFalse(queueExists("/" + stale))
        XCTAssertTrue(queueExists("/" + live))
        XCTAssertTrue(queueExists("/" + foreign))
        XCTAssertEqual(removeStaleQueues(listing: directory.path + "/no-such-folder"), [])
    }

    // MARK: - shm: rings that wrap, end of stream, nothing left behind

    func openDescriptors() throws -> Int { try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count }
    func ringsMapped() throws -> Bool { try String(contentsOfFile: "/proc/self/maps", encoding: .utf8).contains("ipcbench-shm") }

    func testSharedMemoryLeavesNoDescriptorOrMapping() throws {
        let before = try openDescriptors()
        for kind in [TransportKind.shmFutex, .shmSpin] {
            _ = try trial(kind, .latency, size: 64, messages: 100)
            XCTAssertThrowsError(try trial(kind, .latency, size: 64, messages: 100_000_000, timeoutNs: 300_000_000))
            XCTAssertEqual(try openDescriptors(), before, kind.rawValue)
            XCTAssertFalse(try ringsMapped(), kind.rawValue)
        }
    }

    func testSharedMemoryMessagesLargerThanTheRingArriveWhole() throws {
        // 3 MiB + 7 per write through a 1 MiB ring: every write waits for room several times.
        let size = 3 * Int(SharedMemoryTransport.ringCapacity) + 7
        for kind in [TransportKind.shmFutex, .shmSpin] {
            // Small writes that wrap around the ring at odd offsets, many times.
            let s = try trial(kind, .throughput, size: 1000, messages: 5000)
            XCTAssertEqual(s.b.bytes, 5_000_000, kind.rawValue)
            let t = try trial(kind, .throughput, size: size, messages: 4)
            XCTAssertEqual(t.b.bytes, UInt64(4 * size), kind.rawValue)
            let l = try trial(kind, .latency, size: size, messages: 3)
            XCTAssertEqual(l.a.bytes, UInt64(3 * size), kind.rawValue)
            for r in [t, l, s] { XCTAssertEqual(r.a.allocatedBytes + r.b.allocatedBytes, 0, kind.rawValue) }
        }
    }

    func testSharedMemoryReaderSeesEndOfStreamAfterTheRest() throws {
        for kind in [TransportKind.shmFutex, .shmSpin] {
            let transport = kind.make(TransportOptions())
            defer { transport.close() }
            try transport.prepare(in: directory.path)
            let peer = PeerCheck(secret: try TrialSecret.random(), connectorPid: 0, listenerPid: getpid(), deadlineNs: 0)
            let a = try transport.open(.a, peer), b = try transport.open(.b, peer)
            var bytes: [UInt8] = [1, 2, 3, 4, 5]
            XCTAssertEqual(bytes.withUnsafeBytes { a.write($0.baseAddress!, 5) }, 5)
            a.close()
            var received = [UInt8](repeating: 0, count: 8)
            XCTAssertEqual(received.withUnsafeMutableBytes { b.read($0.baseAddress!, 3) }, 3)
            XCTAssertEqual(received.withUnsafeMutableBytes { b.read($0.baseAddress! + 3, 8) }, 2)
            XCTAssertEqual(Array(received[0..<5]), bytes)
            XCTAssertEqual(received.withUnsafeMutableBytes { b.read($0.baseAddress!, 8) }, 0, kind.rawValue)
            // Closed both ways: a write into a full ring fails instead of waiting forever.
            bytes = [UInt8](repeating: 9, count: Int(SharedMemoryTransport.ringCapacity) + 1)
            XCTAssertEqual(bytes.withUnsafeBytes { b.write($0.baseAddress!, $0.count) }, -Int(EPIPE), kind.rawValue)
        }
    }

    // MARK: - vmsplice into /dev/null, seqpacket end of stream

    func testVmspliceIntoDevNullCountsEveryByte() throws {
        for size in [8, 4096, 65_000, 1 << 20] {
            let messages = max(1, (4 << 20) / size)
            let r = try trial(.vmsplice, .throughput, size: size, messages: messages, verify: false)
            XCTAssertEqual(r.a.bytes, UInt64(messages * size), "\(size)")
            XCTAssertEqual(r.b.bytes, UInt64(messages * size), "\(size)")
            XCTAssertEqual(r.a.allocatedBytes + r.b.allocatedBytes, 0, "\(size)")
        }
    }

    func testSeqpacketReceiveAfterThePeerClosedFails() throws {
        var fds: [Int32] = [-1, -1]
        XCTAssertEqual(cshim_socketpair_cloexec(Int32(SOCK_SEQPACKET.rawValue), &fds), 0)
        let endpoint = Endpoint(.packets(fds[0]), .reliableMessages)
        defer { endpoint.close() }
        closeDescriptor(fds[1])
        var byte: UInt8 = 0
        XCTAssertEqual(withUnsafeMutableBytes(of: &byte) { endpoint.read($0.baseAddress!, 1) }, -Int(EPIPE))
    }

    // MARK: - Strangers at the new sockets

    func testSeqpacketKeepsOnlyTheOtherWorkersConnection() throws {
        for pattern in PatternKind.allCases {
            let r = try trial(.unixSeqpacket, pattern, size: 1000, messages: 200) { transport in
                let eager = try makeSocket(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue))
                strangers.append(eager)
                try IPCPlatform.connect(eager, unixAddress((transport as! UnixSeqpacketTransport).path), "stranger")
                XCTAssertEqual(Glibc.send(eager, [UInt8](repeating: 1, count: 1000), 1000, 0), 1000)
            }
            let label = "unix-seqpacket \(pattern)"
            XCTAssertEqual(r.b.rejected, 1, label)
            XCTAssertEqual(r.a.rejected, 0, label)
            XCTAssertEqual(r.b.messages, 200, label)
            XCTAssertEqual(r.b.bytes, 200 * 1000, label)
            strangers.forEach(closeDescriptor)
            strangers = []
        }
    }

    func testTCP6KeepsOnlyTheConnectionWithTheSecret() throws {
        try XCTSkipUnless(Limits.shared.ipv6Loopback, "this machine has no IPv6 loopback")
        let r = try trial(.tcp6, .latency, size: 1000, messages: 200) { transport in
            let eager = try makeSocket(AF_INET6, Int32(SOCK_STREAM.rawValue))
            strangers.append(eager)
            try Loopback.ipv6.connect(eager, port: (transport as! TCP6Transport).port)
            XCTAssertEqual(Glibc.send(eager, [UInt8](repeating: 7, count: TrialSecret.byteCount), TrialSecret.byteCount, 0),
                           TrialSecret.byteCount)
        }
        XCTAssertEqual(r.b.rejected, 1)
        XCTAssertEqual(r.b.messages, 200)
    }

    func testUDP6DrainsWhatAStrangerSentBeforeConnecting() throws {
        try XCTSkipUnless(Limits.shared.ipv6Loopback, "this machine has no IPv6 loopback")
        let r = try trial(.udp6, .latency, size: 64, messages: 200) { transport in
            let udp = transport as! UDP6Transport
            let fd = try makeSocket(AF_INET6, Int32(SOCK_DGRAM.rawValue))
            strangers.append(fd)
            for i in 0..<2 {
                try Loopback.ipv6.connect(fd, port: udp.ports[i])
                XCTAssertEqual(Glibc.send(fd, [UInt8](repeating: 3, count: 64), 64, 0), 64)
                var entry = [pollfd(fd: udp.sockets[i], events: Int16(POLLIN), revents: 0)]
                XCTAssertEqual(poll(&entry, 1, 60_000), 1)
            }
        }
        XCTAssertEqual(r.a.rejected, 1)
        XCTAssertEqual(r.b.rejected, 1)
        XCTAssertEqual(r.b.messages, 200)
    }
}
