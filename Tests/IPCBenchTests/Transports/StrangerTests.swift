import CShims
import Foundation
import Glibc
import XCTest
@testable import IPCPlatform
@testable import IPCModel
@testable import IPCRun
@testable import IPCAnalysis
@testable import IPCLab

/// A local stranger joins a trial. `runTrial`'s hook runs after the transport is made and before
/// the workers exist, so the stranger always gets there first: its connection is first in the
/// accept queue, its datagrams are already queued. The trial must still move and check every
/// byte of the peer's (`verify`), never count a stranger's, and count what it refused.
final class StrangerTests: TrialTestCase {
    // MARK: - The stranger

    func stranger(_ domain: Int32, _ type: Int32) throws -> Int32 {
        let fd = try makeSocket(domain, type)
        strangers.append(fd)
        return fd
    }

    /// The first bytes of a real data stream: what a checking receiver would accept as data.
    func plausibleBytes(_ count: Int) -> [UInt8] { (0..<count).map(patternByte) }

    /// A datagram laid out like the peer's, with a guessed key.
    func datagram(size: Int, key: UInt64, number: UInt64) -> [UInt8] {
        var bytes = plausibleBytes(max(size, datagramHeaderBytes))
        bytes.withUnsafeMutableBytes { writeDatagramHeader($0.baseAddress!, key: key, number: number) }
        return Array(bytes[0..<size])
    }

    func send(_ fd: Int32, _ bytes: [UInt8]) {
        XCTAssertEqual(bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }, bytes.count)
    }

    func send<Address>(_ fd: Int32, _ bytes: [UInt8], to address: Address) {
        var a = address
        let n = withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { target in
                bytes.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, target, socklen_t(MemoryLayout<Address>.size)) }
            }
        }
        XCTAssertEqual(n, bytes.count)
    }

    /// Datagrams a stranger sends to a worker's socket before it is connected: plausible sequence
    /// numbers and payload, an end marker, and one too short for a header. Returns how many.
    func sendStrangerDatagrams<Address>(_ fd: Int32, size: Int, to address: Address) -> UInt64 {
        let guess = UInt64.random(in: 0...UInt64.max)
        for number in [0, 1, endMarker] { send(fd, datagram(size: size, key: guess, number: number), to: address) }
        send(fd, [1, 2, 3], to: address)
        return 4
    }

    /// Waits until a datagram is queued on `fd`, so that the stranger is surely there before the fork.
    func waitUntilQueued(_ fd: Int32) {
        var entry = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
        XCTAssertEqual(poll(&entry, 1, 60_000), 1, "the stranger's datagram never arrived")
    }

    func checkNothingAllocated(_ r: TrialReports, _ label: String) {
        XCTAssertEqual(r.a.allocatedBytes + r.b.allocatedBytes, 0, label)
    }

    // MARK: - Trials with a stranger

    func testTCPKeepsOnlyTheConnectionWithTheSecret() throws {
        for pattern in PatternKind.allCases {
            let r = try trial(.tcp, pattern, size: 1000, messages: 200) { transport in
                let address = loopbackAddress(port: (transport as! TCPTransport).port)
                // Says what the data stream would say, hangs up after a few bytes, says nothing.
                let eager = try stranger(AF_INET, Int32(SOCK_STREAM.rawValue))
                try IPCPlatform.connect(eager, address, "stranger")
                send(eager, plausibleBytes(4096))
                let brief = try stranger(AF_INET, Int32(SOCK_STREAM.rawValue))
                try IPCPlatform.connect(brief, address, "stranger")
                send(brief, [1, 2, 3, 4, 5])
                _ = shutdown(brief, Int32(SHUT_WR))
                let silent = try stranger(AF_INET, Int32(SOCK_STREAM.rawValue))
                try IPCPlatform.connect(silent, address, "stranger")
            }
            let label = "tcp \(pattern)"
            XCTAssertEqual(r.b.rejected, 3, label)
            XCTAssertEqual(r.a.rejected, 0, label)
            XCTAssertEqual(r.a.messages, 200, label)
            XCTAssertEqual(r.b.messages, 200, label)
            XCTAssertEqual(r.b.bytes, 200 * 1000, label)
            checkNothingAllocated(r, label)
            strangers.forEach(closeDescriptor)
            strangers = []
        }
    }

    func testTCPDropsTheOldestWhenTooManyWait() throws {
        // One more silent connection than the worker lets wait: the oldest goes when the peer comes.
        let r = try trial(.tcp, .throughput, size: 1000, messages: 200) { transport in
            let address = loopbackAddress(port: (transport as! TCPTransport).port)
            for _ in 0..<maxPendingConnections {
                try IPCPlatform.connect(try stranger(AF_INET, Int32(SOCK_STREAM.rawValue)), address, "stranger")
            }
        }
        XCTAssertEqual(r.b.rejected, UInt64(maxPendingConnections))
        XCTAssertEqual(r.b.bytes, 200 * 1000)
        checkNothingAllocated(r, "tcp")
    }

    /// With the workers as threads the connector is the trial's one process: the test process, a
    /// stranger to it, is still refused.
    func testUnixStreamKeepsOnlyTheOtherWorkersConnection() throws {
        for pattern in PatternKind.allCases {
          for workers in [Workers.process, .thread] {
            let r = try trial(.unixStream, pattern, size: 1000, messages: 200, workers: workers) { transport in
                let eager = try stranger(AF_UNIX, Int32(SOCK_STREAM.rawValue))
                try IPCPlatform.connect(eager, unixAddress((transport as! UnixStreamTransport).path), "stranger")
                send(eager, plausibleBytes(4096))
            }
            let label = "unix-stream \(pattern) \(workers)"
            XCTAssertEqual(r.b.rejected, 1, label)
            XCTAssertEqual(r.a.rejected, 0, label)
            XCTAssertEqual(r.b.messages, 200, label)
            XCTAssertEqual(r.b.bytes, 200 * 1000, label)
            checkNothingAllocated(r, label)
            strangers.forEach(closeDescriptor)
            strangers = []
          }
        }
    }

    func testUnixStreamConnectorRefusesASocketTheRunnerDidNotMake() throws {
        // A process of our uid replaces the socket file with its own listener.
        XCTAssertThrowsError(try trial(.unixStream, .throughput, size: 1000, messages: 200) { transport in
            let path = (transport as! UnixStreamTransport).path
            XCTAssertEqual(unlink(path), 0)
            let impostor = try stranger(AF_UNIX, Int32(SOCK_STREAM.rawValue))
            try IPCPlatform.bind(impostor, unixAddress(path), path)
            // SO_PEERCRED names the process that called listen(): a child that exits at once.
            let child = cshim_fork()
            if child == 0 { _exit(Glibc.listen(impostor, 8) == 0 ? 0 : 1) }
            var status: Int32 = 0
            XCTAssertEqual(waitpid(child, &status, 0), child)
            XCTAssertEqual(status, 0)
        }) { error in
            XCTAssertTrue("\(error)".contains("not to the runner (pid \(getpid()))"), "\(error)")
            XCTAssertTrue("\(error)".hasPrefix("sender: "), "\(error)")
        }
    }

    func testUDPDrainsWhatStrangersSentBeforeConnecting() throws {
        for (pattern, size) in [(PatternKind.throughput, 64), (.latency, 64), (.latency, 4)] {
            var sent: UInt64 = 0
            let r = try trial(.udp, pattern, size: size, messages: 200) { transport in
                let udp = transport as! UDPTransport
                let fd = try stranger(AF_INET, Int32(SOCK_DGRAM.rawValue))
                for i in 0..<2 {
                    sent = sendStrangerDatagrams(fd, size: size, to: loopbackAddress(port: udp.ports[i]))
                    waitUntilQueued(udp.sockets[i])
                }
            }
            let label = "udp \(pattern) \(size)"
            // Loopback delivers in a softirq, so the last datagrams may come after connect(), when
            // the kernel no longer delivers them to the socket: at least one was drained.
            for rejected in [r.a.rejected, r.b.rejected] {
                XCTAssertGreaterThan(rejected, 0, label)
                XCTAssertLessThanOrEqual(rejected, sent, label)
            }
            if pattern == .throughput {
                XCTAssertEqual(r.a.datagrams.sent, 200, label)
                XCTAssertGreaterThan(r.b.datagrams.received, 0, label)
                XCTAssertLessThanOrEqual(r.b.datagrams.received, 200, label)
                XCTAssertEqual(r.b.bytes, (r.b.datagrams.received + r.b.datagrams.duplicated) * UInt64(size), label)
            } else {
                XCTAssertEqual(r.a.messages, 200, label)
                XCTAssertEqual(r.b.messages, 200, label)
            }
            checkNothingAllocated(r, label)
        }
    }

    func testUnixDatagramDrainsWhatStrangersSentBeforeConnecting() throws {
        for (pattern, size) in [(PatternKind.throughput, 64), (.latency, 64), (.latency, 4)] {
            var sent: UInt64 = 0
            let r = try trial(.unixDgram, pattern, size: size, messages: 200) { transport in
                let fd = try stranger(AF_UNIX, Int32(SOCK_DGRAM.rawValue))
                for path in (transport as! UnixDatagramTransport).paths {
                    sent = sendStrangerDatagrams(fd, size: size, to: try unixAddress(path))
                }
            }
            let label = "unix-dgram \(pattern) \(size)"
            // AF_UNIX queues a datagram on the receiver within send(), so the count is exact.
            XCTAssertEqual(r.a.rejected, sent, label)
            XCTAssertEqual(r.b.rejected, sent, label)
            XCTAssertEqual(r.b.messages, 200, label)
            if pattern == .throughput {
                XCTAssertEqual(r.b.datagrams.received, 200, label)
                XCTAssertEqual(r.b.datagrams.duplicated, 0, label)
                XCTAssertEqual(r.b.bytes, 200 * UInt64(size), label)
            }
            checkNothingAllocated(r, label)
        }
    }

    // MARK: - The loops' own check, for a datagram that gets past connect()

    // A connected socket gets datagrams only from its peer, so no stranger reaches the loops in a
    // trial; these tests queue foreign datagrams on a socketpair to show what the loops do then.

    let key: UInt64 = 0x0123_4567_89ab_cdef

    /// The socket under a datagram endpoint, for playing the stranger on it.
    func socket(_ endpoint: Endpoint) -> Int32 {
        guard case let .sendReceive(fd) = endpoint.io else { return -1 }
        return fd
    }

    func datagramPair() throws -> (Endpoint, Endpoint) {
        var fds: [Int32] = [-1, -1]
        try check("socketpair") { socketpair(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) }
        for fd in fds { try setReceiveTimeout(fd, nanoseconds: 60_000_000_000) }
        return (Endpoint(.sendReceive(fds[0]), .reliableMessages, datagramKey: key),
                Endpoint(.sendReceive(fds[1]), .reliableMessages, datagramKey: key))
    }

    func testThroughputReceiverDropsDatagramsWithoutTheKey() throws {
        let (sender, receiver) = try datagramPair()
        defer { sender.close(); receiver.close() }
        let work = LoopWork(payloadBytes: 64, messages: 10, verify: true)
        // Wrong key with a plausible number, a wrong end marker, one too short for a header.
        send(socket(sender), datagram(size: 64, key: key ^ 1, number: 0))
        send(socket(sender), datagram(size: 64, key: key ^ (1 << 63), number: endMarker))
        send(socket(sender), datagram(size: 15, key: key, number: 1))
        var sent = LoopResult()
        DatagramSender([sender], work).run(&sent)  // the socketpair queues all of it
        XCTAssertFalse(sent.failure.isFailure, sent.failure.message ?? "")

        let loop = DatagramReceiver(receiver, work)
        var got = LoopResult()
        let counter = AllocationCounter()
        let before = counter.allocatedBytes
        loop.run(&got)
        XCTAssertEqual(counter.allocatedBytes - before, 0)
        XCTAssertFalse(got.failure.isFailure, got.failure.message ?? "")
        XCTAssertEqual(got.rejected, 3)
        XCTAssertEqual(got.datagrams.received, 10)
        XCTAssertEqual(got.datagrams.duplicated, 0)
        XCTAssertEqual(got.bytes, 640)
    }

    /// A group takes anyone's datagrams: a stranger's to the group reaches every member, and each
    /// receiver drops and counts what does not carry the trial's key, while the sender's one send
    /// still reaches both receivers whole.
    func testMulticastReceiversDropAndCountStrangersInTheGroup() throws {
        XCTAssertTrue(Limits.shared.multicastLoopback, "IP multicast delivers on this machine's loopback")
        let transport = UDPMulticastTransport(TransportOptions(payloadBytes: 64, verify: true))
        try transport.prepare(in: directory.path)
        defer { transport.close() }
        let secret = try TrialSecret.random()
        let peer = PeerCheck(secret: secret, connectorPid: getpid(), listenerPid: getpid(), deadlineNs: monotonicNanoseconds() + 10_000_000_000)
        let sender = try transport.open(.a, peer)
        let receivers = [try transport.open(.b, peer), try transport.open(.b, peer)]
        defer { ([sender] + receivers).forEach { $0.close() } }
        let fd = try makeMulticastSender()
        strangers.append(fd)
        let strangersSent = sendStrangerDatagrams(fd, size: 64, to: transport.group)
        let work = LoopWork(payloadBytes: 64, messages: 10, verify: true)
        var sent = LoopResult()
        DatagramSender([sender], work).run(&sent)
        XCTAssertFalse(sent.failure.isFailure, sent.failure.message ?? "")
        XCTAssertEqual(sent.datagrams.sent, 10, "one send per message")
        for (i, receiver) in receivers.enumerated() {
            var got = LoopResult()
            DatagramReceiver(receiver, work).run(&got)
            XCTAssertFalse(got.failure.isFailure, got.failure.message ?? "")
            XCTAssertEqual(got.rejected, strangersSent, "receiver \(i)")
            XCTAssertEqual(got.datagrams.received, 10, "receiver \(i)")
            XCTAssertEqual(got.bytes, 640, "receiver \(i)")
        }
    }

    /// pubsub over a topic's group: a stranger's datagrams are dropped and counted by every subscriber.
    func testPubSubSubscribersDropAndCountStrangersInTheTopicsGroup() throws {
        let transport = UDPMulticastTransport(TransportOptions(payloadBytes: 64, verify: true))
        try transport.prepare(in: directory.path)
        defer { transport.close() }
        let secret = try TrialSecret.random()
        let peer = PeerCheck(secret: secret, connectorPid: getpid(), listenerPid: getpid(), deadlineNs: monotonicNanoseconds() + 10_000_000_000)
        let publisher = try transport.open(.a, peer)
        let subscribers = [try transport.open(.b, peer), try transport.open(.b, peer)]
        defer { ([publisher] + subscribers).forEach { $0.close() } }
        let fd = try makeMulticastSender()
        strangers.append(fd)
        let strangersSent = sendStrangerDatagrams(fd, size: 64, to: transport.group)
        let shape = CaseShape(payloadBytes: 64, [.subscribers: 2])
        var work = LoopWork(payloadBytes: 64, messages: 10, verify: true)
        work.shape = shape
        work.oneToMany = true
        var sent = LoopResult()
        Publisher(id: 0, [publisher], [[0]], work).run(&sent)
        XCTAssertFalse(sent.failure.isFailure, sent.failure.message ?? "")
        XCTAssertEqual(sent.datagrams.sent, 10, "one send per message")
        for (i, subscriber) in subscribers.enumerated() {
            var got = LoopResult()
            Subscriber(id: i, [subscriber], ends: [1], PubSubWorkers(shape), work).run(&got)
            XCTAssertFalse(got.failure.isFailure, got.failure.message ?? "")
            XCTAssertEqual(got.rejected, strangersSent, "subscriber \(i)")
            XCTAssertEqual(got.datagrams.received, 10, "subscriber \(i)")
            XCTAssertEqual(got.bytes, 640, "subscriber \(i)")
        }
    }

    func testEchoServerEchoesOnlyPingsWithTheKey() throws {
        for size in [4, 64] {
            let (client, server) = try datagramPair()
            defer { client.close(); server.close() }
            let ping = datagram(size: size, key: key, number: 0)
            send(socket(client), datagram(size: size, key: key ^ 1, number: 0))
            send(socket(client), ping)
            var r = LoopResult()
            EchoServer(server, LoopWork(payloadBytes: size, messages: 1, verify: true)).run(&r)
            XCTAssertFalse(r.failure.isFailure, r.failure.message ?? "")
            XCTAssertEqual(r.rejected, 1, "\(size)")
            XCTAssertEqual(r.messages, 1, "\(size)")
            var echo = [UInt8](repeating: 0, count: size + 1)
            let n = echo.withUnsafeMutableBytes { recv(socket(client), $0.baseAddress, $0.count, 0) }
            XCTAssertEqual(Array(echo[0..<max(n, 0)]), ping, "\(size)")
        }
    }

    func testPingClientDropsRepliesWithoutTheKey() throws {
        for size in [4, 64] {
            let (client, server) = try datagramPair()
            defer { client.close(); server.close() }
            // The client's queue holds a foreign reply, then the true echo of its first ping.
            let ping = datagram(size: size, key: key, number: 0)
            send(socket(server), datagram(size: size, key: key ^ 1, number: 0))
            send(socket(server), ping)
            var r = LoopResult()
            PingClient(client, LoopWork(payloadBytes: size, messages: 1, verify: true)).run(&r)
            XCTAssertFalse(r.failure.isFailure, r.failure.message ?? "")
            XCTAssertEqual(r.rejected, 1, "\(size)")
            XCTAssertEqual(r.messages, 1, "\(size)")
            // What the client sent is the header's first bytes, then the pattern.
            var sent = [UInt8](repeating: 0, count: size + 1)
            let n = sent.withUnsafeMutableBytes { recv(socket(server), $0.baseAddress, $0.count, 0) }
            XCTAssertEqual(Array(sent[0..<max(n, 0)]), ping, "\(size)")
        }
    }

    // MARK: - The secret and the report

    func testSecretsDifferAndCompareWhole() throws {
        let a = try TrialSecret.random(), b = try TrialSecret.random()
        XCTAssertEqual(a.bytes.count, 16)
        XCTAssertNotEqual(a.bytes, b.bytes)
        XCTAssertTrue(a.matches(a.bytes))
        var last = a.bytes
        last[15] ^= 1
        XCTAssertFalse(a.matches(last))
        XCTAssertFalse(a.matches(Array(a.bytes[0..<15])))
        XCTAssertEqual(a.datagramKey, a.bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) })
    }

    func testReportCodecRoundTripsEveryField() throws {
        var report = WorkerReport()
        report.error = "write: Broken pipe, é"
        for (i, counter) in WorkerReport.counters.enumerated() { report[keyPath: counter] = UInt64(1000 + i) << 40 | UInt64(i) }
        report.cpu = -1
        report.roundTrips = [(5_000, 3), (UInt64.max, 1)]
        report.knobsInForce = TransportKnobs([.pipeSize: 1_048_576, .busyPoll: 50])
        let decoded = try WorkerReport(decoding: report.encoded())
        XCTAssertEqual(decoded.error, report.error)
        for counter in WorkerReport.counters { XCTAssertEqual(decoded[keyPath: counter], report[keyPath: counter]) }
        XCTAssertEqual(Set(WorkerReport.counters.map { decoded[keyPath: $0] }).count, WorkerReport.counters.count, "each counter travels in its own place")
        XCTAssertEqual(decoded.rejected, report.rejected)
        XCTAssertEqual(decoded.cpu, -1)
        XCTAssertEqual(decoded.roundTrips.map(\.0), [5_000, UInt64.max])
        XCTAssertEqual(decoded.roundTrips.map(\.1), [3, 1])
        XCTAssertEqual(decoded.knobsInForce, report.knobsInForce)
        XCTAssertEqual(decoded.encoded(), report.encoded())
        // A cut-off or overlong report is refused, not half read.
        let bytes = report.encoded()
        XCTAssertThrowsError(try WorkerReport(decoding: Array(bytes.dropLast())))
        XCTAssertThrowsError(try WorkerReport(decoding: bytes + [0]))
    }

    func testDatagramThroughputNeedsRoomForTheHeader() {
        func reason(_ size: Int, _ pattern: PatternKind) -> String? {
            BenchCase(suite: "s", transport: .udp, pattern: pattern, payloadBytes: size, messages: 1, repetitions: 1,
                      warmup: 0, placement: .none, timeoutNs: 1, minTrialNs: 0, verify: false).skipReason()
        }
        XCTAssertEqual(reason(15, .throughput), "throughput on udp needs at least 16 bytes per message for the 64-bit trial key and the 64-bit sequence number")
        XCTAssertNil(reason(16, .throughput))
        // A request over UDP carries its number too, so that a late reply is not taken for the next one's.
        XCTAssertEqual(reason(15, .latency), "latency on udp needs at least 16 bytes per message for the 64-bit trial key and the 64-bit round-trip number: udp may drop a request, and a late reply must not pass for the next one's")
        XCTAssertNil(reason(16, .latency))
    }

    // MARK: - udp-multicast: MACs, replays and the namespace

    /// SipHash-2-4's reference vectors (Aumasson and Bernstein, the reference implementation's
    /// vectors.h): key 00 01 .. 0f, message i = 00 01 .. (i - 1), each output as its 8 bytes.
    static let sipHashVectors = [
        "310e0edd47db6f72", "fd67dc93c539f874", "5a4fa9d909806c0d", "2d7efbd796666785",
        "b7877127e09427cf", "8da699cd64557618", "cee3fe586e46c9cb", "37d1018bf50002ab",
        "6224939a79f5f593", "b0e4a90bdf82009e", "f3b9dd94c5bb5d7a", "a7ad6b22462fb3f4",
        "fbe50e86bc8f1e75", "903d84c02756ea14", "eef27a8e90ca23f7", "e545be4961ca29a1",
        "db9bc2577fcc2a3f", "9447be2cf5e99a69", "9cd38d96f0b3c14b", "bd6179a71dc96dbb",
        "98eea21af25cd6be", "c7673b2eb0cbf2d0", "883ea3e395675393", "c8ce5ccd8c030ca8",
        "94af49f6c650adb8", "eab8858ade92e1bc", "f315bb5bb835d817", "adcf6b0763612e2f",
        "a5c91da7acaa4dde", "716595876650a2a6", "28ef495c53a387ad", "42c341d8fa92d832",
        "ce7cf2722f512771", "e37859f94623f3a7", "381205bb1ab0e012", "ae97a10fd434e015",
        "b4a31508beff4d31", "81396229f0907902", "4d0cf49ee5d4dcca", "5c73336a76d8bf9a",
        "d0a704536ba93e0e", "925958fcd6420cad", "a915c29bc8067318", "952b79f3bc0aa6d4",
        "f21df2e41d4535f9", "87577519048f53a9", "10a56cf5dfcd9adb", "eb75095ccd986cd0",
        "51a9cb9ecba312e6", "96afadfc2ce666c7", "72fe52975a4364ee", "5a1645b276d592a1",
        "b274cb8ebf87870a", "6f9bb4203de7b381", "eaecb2a30b22a87f", "9924a43cc1315724",
        "bd838d3aafbf8db7", "0b1a2a3265d51aea", "135079a3231ce660", "932b2846e4d70666",
        "e1915f5cb1eca46c", "f325965ca16d629f", "575ff28e60381be5", "724506eb4c328a95",
    ]

    func testSipHash24MatchesTheReferenceVectors() {
        let key = SipHashKey(Array(0..<16))
        XCTAssertEqual(key, SipHashKey(k0: 0x0706_0504_0302_0100, k1: 0x0f0e_0d0c_0b0a_0908))
        for (length, hex) in Self.sipHashVectors.enumerated() {
            let message = (0..<length).map { UInt8($0) }
            let mac = message.withUnsafeBytes { sipHash24(key, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, length) }
            let bytes = (0..<8).map { String(format: "%02x", UInt8(truncatingIfNeeded: mac >> UInt64(8 * $0))) }.joined()
            XCTAssertEqual(bytes, hex, "message of \(length) bytes")
        }
    }

    /// What the MAC costs a udp-multicast datagram: sealing its header at the sender and checking it
    /// at a receiver, timed over 10 million datagrams and printed (a measurement, not a check: the
    /// README's figure comes from `swift test -c release ... --filter StrangerTests.testMACCostPerDatagram`).
    func testMACCostPerDatagram() {
        let key = SipHashKey(k0: 0x0123_4567_89ab_cdef, k1: 0xfedc_ba98_7654_3210)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 16)
        defer { buffer.deallocate() }
        memset(buffer, 0, 64)
        for (name, header) in [("throughput/fanout (16-byte header)", datagramHeaderBytes), ("pubsub (32-byte header)", PubSubHeader.bytes)] {
            let rounds = 10_000_000
            var valid = 0
            let start = monotonicNanoseconds()
            for n in 0..<rounds {
                buffer.storeBytes(of: UInt64(n), toByteOffset: 8, as: UInt64.self)
                sealDatagramHeader(buffer, headerBytes: header, key)
                if hasValidSeal(buffer, header, headerBytes: header, key) { valid += 1 }
            }
            let ns = Double(monotonicNanoseconds() - start) / Double(rounds)
            XCTAssertEqual(valid, rounds)
            print("MAC, \(name): seal + check \(String(format: "%.1f", ns)) ns per datagram")
        }
    }

    /// What a stranger who reads the group does: sends a datagram of its own with a guessed MAC,
    /// changes the number of one it read (its MAC no longer fits), and sends one it read again.
    /// Each is rejected, none is data or a duplicate, and the MAC costs no allocation.
    func testMulticastReceiversRejectForgedAndReplayedDatagrams() throws {
        let transport = UDPMulticastTransport(TransportOptions(payloadBytes: 64, verify: true))
        try transport.prepare(in: directory.path)
        defer { transport.close() }
        let secret = try TrialSecret.random()
        let peer = PeerCheck(secret: secret, connectorPid: getpid(), listenerPid: getpid(), deadlineNs: monotonicNanoseconds() + 10_000_000_000)
        let sender = try transport.open(.a, peer)
        let receiver = try transport.open(.b, peer)
        let eavesdropper = try transport.open(.b, peer)  // a member of the group like the stranger's socket
        defer { [sender, receiver, eavesdropper].forEach { $0.close() } }
        let work = LoopWork(payloadBytes: 64, messages: 10, verify: true)
        var sent = LoopResult()
        DatagramSender([sender], work).run(&sent)
        XCTAssertFalse(sent.failure.isFailure, sent.failure.message ?? "")
        // What the stranger read: the first datagram, sent as it was and with its number moved ahead.
        var read = [UInt8](repeating: 0, count: 65)
        XCTAssertEqual(read.withUnsafeMutableBytes { recv(socket(eavesdropper), $0.baseAddress, $0.count, 0) }, 64)
        XCTAssertEqual(Array(read[0..<8]) == withUnsafeBytes(of: secret.datagramKey.littleEndian, Array.init), false,
                       "the trial's key does not travel on the group")
        let stranger = try makeMulticastSender()
        strangers.append(stranger)
        let replay = Array(read[0..<64])
        var ahead = replay
        ahead.withUnsafeMutableBytes { $0.storeBytes(of: UInt64(5).littleEndian, toByteOffset: 8, as: UInt64.self) }
        send(stranger, replay, to: transport.group)
        send(stranger, ahead, to: transport.group)
        send(stranger, datagram(size: 64, key: UInt64.random(in: 0...UInt64.max), number: 3), to: transport.group)
        // The receiver's queue: the sender's ten and its end markers, then the stranger's three.
        var tally = DatagramTally(key: receiver.datagramKey, seal: receiver.seal, work)
        defer { tally.deallocate() }
        var got = LoopResult()
        var buffer = [UInt8](repeating: 0, count: 65)
        let counter = AllocationCounter()
        let before = counter.allocatedBytes
        buffer.withUnsafeMutableBytes { raw in
            while true {
                let n = recv(socket(receiver), raw.baseAddress, raw.count, Int32(MSG_DONTWAIT))
                if n < 0 { break }
                _ = tally.take(raw.baseAddress!, n, at: 1, &got)
            }
        }
        XCTAssertEqual(counter.allocatedBytes - before, 0)
        XCTAssertFalse(got.failure.isFailure, got.failure.message ?? "")
        XCTAssertEqual(got.datagrams.received, 10)
        XCTAssertEqual(got.datagrams.duplicated, 0, "a replay is not a duplicate")
        XCTAssertEqual(got.rejected, 3, "the replay, the moved number and the guess")
        XCTAssertEqual(got.bytes, 640)
    }

    /// pubsub over a topic's group: a subscriber rejects a replayed message too. Two publishers,
    /// so that the replay of publisher 0's first message comes while the subscriber still reads.
    func testPubSubSubscribersRejectReplayedMessages() throws {
        let transport = UDPMulticastTransport(TransportOptions(payloadBytes: 64, verify: true))
        try transport.prepare(in: directory.path)
        defer { transport.close() }
        let peer = PeerCheck(secret: try TrialSecret.random(), connectorPid: getpid(), listenerPid: getpid(),
                             deadlineNs: monotonicNanoseconds() + 10_000_000_000)
        let publisher = try transport.open(.a, peer)
        let subscriber = try transport.open(.b, peer)
        let eavesdropper = try transport.open(.b, peer)
        defer { [publisher, subscriber, eavesdropper].forEach { $0.close() } }
        let shape = CaseShape(payloadBytes: 64, [.publishers: 2, .subscribers: 1])
        var work = LoopWork(payloadBytes: 64, messages: 10, verify: true)
        work.shape = shape
        work.oneToMany = true
        var sent = LoopResult()
        Publisher(id: 0, [publisher], [[0]], work).run(&sent)
        var read = [UInt8](repeating: 0, count: 64)
        XCTAssertEqual(read.withUnsafeMutableBytes { recv(socket(eavesdropper), $0.baseAddress, $0.count, 0) }, 64)
        let stranger = try makeMulticastSender()
        strangers.append(stranger)
        send(stranger, read, to: transport.group)
        Publisher(id: 1, [publisher], [[0]], work).run(&sent)
        var got = LoopResult()
        Subscriber(id: 0, [subscriber], ends: [3], PubSubWorkers(shape), work).run(&got)
        XCTAssertFalse(got.failure.isFailure, got.failure.message ?? "")
        XCTAssertEqual(got.datagrams.received, 20)
        XCTAssertEqual(got.datagrams.duplicated, 0, "a replay is not a duplicate")
        XCTAssertEqual(got.rejected, 1)
    }

    /// Runs `body` in the network namespace `original` (a descriptor), then returns this thread to
    /// the one it was in: a stranger's socket, made outside the trial's namespace.
    func outside<T>(_ original: Int32, _ body: () throws -> T) throws -> T {
        let here = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
        defer { close(here) }
        XCTAssertEqual(cshim_setns_net(original), 0)
        defer { XCTAssertEqual(cshim_setns_net(here), 0) }
        return try body()
    }

    /// A fanout trial over udp-multicast runs in a network namespace of its own (these tests run as
    /// root, who may make one): a stranger outside it, in the group at the trial's address and port
    /// before the workers start, receives nothing. With the test switch set there is no namespace,
    /// and the same stranger reads the payload (which the README says).
    func testMulticastTrialRunsInANamespaceOfItsOwn() throws {
        let original = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
        defer { close(original) }
        let ours = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self/ns/net")
        for forcedOff in [false, true] {
            if forcedOff { setenv(TrialNetworkNamespace.testSwitch, "1", 1) }
            defer { unsetenv(TrialNetworkNamespace.testSwitch) }
            var listener: Int32 = -1
            var trialNamespace = ""
            let r = try trial(.udpMulticast, .fanout, CaseShape(payloadBytes: 64, receivers: 2), messages: 200) { transport in
                trialNamespace = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self/ns/net")
                listener = try self.outside(original) { try joinGroup((transport as! UDPMulticastTransport).group) }
                self.strangers.append(listener)
            }
            let label = forcedOff ? "no namespace" : "namespace"
            XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self/ns/net"), ours, "the runner is back")
            XCTAssertEqual(trialNamespace == ours, forcedOff, label)
            XCTAssertEqual(r.workers.map(\.error), ["", "", ""], label)
            XCTAssertEqual(r.workers.dropFirst().map(\.datagrams.received), [200, 200], label)
            var buffer = [UInt8](repeating: 0, count: 128)
            let n = buffer.withUnsafeMutableBytes { recv(listener, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            XCTAssertEqual(n, forcedOff ? 64 : -1, label)
        }
    }
}
