import CShims
import Glibc
import XCTest
@testable import IPCPlatform
@testable import IPCModel
@testable import IPCRun
@testable import IPCAnalysis
@testable import IPCLab

/// pubsub on the real kernel: both topologies on every transport that serves it, every byte checked,
/// and every subscriber given exactly its own topics (a message on another topic fails the trial; a
/// missing one shows in its count).
final class PubSubTests: TrialTestCase {
    func shape(_ size: Int, _ p: Int, _ s: Int, _ t: Int, _ k: Int, _ topology: PubSubTopology) -> CaseShape {
        CaseShape(payloadBytes: size, [.publishers: p, .subscribers: s, .topics: t, .subscriptions: k,
                                       .topology: PubSubTopology.allCases.firstIndex(of: topology)! + 1])
    }

    func testEverySubscriberGetsExactlyItsTopicsOnEveryTransport() throws {
        let messages = 240
        for kind in TransportKind.allCases {
            for topology in PubSubTopology.allCases {
                for (p, s, t, k) in [(1, 1, 1, 1), (1, 3, 4, 1), (2, 3, 4, 2), (3, 2, 5, 5)] {
                    let size = kind.isDatagram ? 200 : 1000
                    let shape = shape(size, p, s, t, k, topology)
                    if skipReason(kind, .pubsub, shape) != nil { continue }
                    let label = "\(kind.rawValue) \(topology) P\(p) S\(s) T\(t) K\(k)"
                    let r = try trial(kind, .pubsub, shape, messages: messages)
                    XCTAssertEqual(r.workers.map(\.error), Array(repeating: "", count: r.workers.count), label)
                    XCTAssertEqual(r.workers.map(\.allocatedBytes), Array(repeating: 0, count: r.workers.count), label)
                    let w = PubSubWorkers(shape)
                    for i in 0..<s {
                        let got = r.workers[w.subscriber(i)]
                        let due = UInt64(p) * w.deliveries(of: i, messages: UInt64(messages))
                        if kind.semantics == .lossyMessages {
                            XCTAssertLessThanOrEqual(got.datagrams.received, due, label)
                            XCTAssertGreaterThan(got.datagrams.received, 0, label)
                        } else {
                            XCTAssertEqual(got.messages, due, "\(label) subscriber \(i + 1)")
                            XCTAssertEqual(got.bytes, due * UInt64(size), "\(label) subscriber \(i + 1)")
                        }
                    }
                    let f = PubSubPattern.figures(r.workers, shape)
                    XCTAssertEqual(f.bytes, (w.firstSubscriber..<r.workers.count).reduce(0) { $0 + r.workers[$1].bytes }, label)
                    XCTAssertNotNil(f.values[.deliveryP50], label)
                    XCTAssertGreaterThanOrEqual(f.values[.deliveryP99]!, f.values[.deliveryP50]!, label)
                }
            }
        }
    }

    /// Subscriber i takes (i + j) mod T for j < K; a publisher's m-th message is on topic m mod T.
    func testSubscriptionsAndDeliveriesFollowTheFormula() {
        let w = PubSubWorkers(shape(64, 2, 3, 4, 2, .broker))
        XCTAssertEqual((0..<3).map { w.topics(of: $0) }, [[0, 1], [1, 2], [2, 3]])
        XCTAssertEqual(w.broker, 2)
        XCTAssertEqual(w.subscriber(0), 3)
        // 10 messages on 4 topics: topics 0 and 1 get 3 each, 2 and 3 get 2 each.
        XCTAssertEqual((0..<3).map { w.deliveries(of: $0, messages: 10) }, [6, 5, 4])
        let direct = PubSubPattern.topology(shape(64, 2, 3, 4, 2, .direct))
        XCTAssertEqual(direct.roles, ["publisher 1", "publisher 2", "subscriber 1", "subscriber 2", "subscriber 3"])
        XCTAssertEqual(direct.instanceCount(oneToMany: false), 6, "a link per publisher and subscriber")
        XCTAssertEqual(direct.instanceCount(oneToMany: true), 4, "a group per topic")
        let broker = PubSubPattern.topology(shape(64, 2, 3, 4, 2, .broker))
        XCTAssertEqual(broker.instanceCount(oneToMany: false), 5, "publishers to broker, broker to subscribers")
        XCTAssertEqual(broker.instanceCount(oneToMany: true), 6, "a group per publisher into the broker and per topic out")
    }

    /// A message on a topic the subscriber does not take fails its loop, as does a corrupted byte.
    func testASubscriberRefusesAnotherTopicAndACorruptByte() throws {
        let w = PubSubWorkers(shape(64, 1, 2, 4, 1, .direct))  // subscriber 1 takes topic 0 only
        for (topic, corrupt, expected) in [(1, false, "impossible sequence number 1"), (0, true, "byte 0 differs")] {
            var fds: [Int32] = [0, 0]
            XCTAssertEqual(cshim_pipe_cloexec(&fds), 0)
            defer { closeDescriptor(fds[1]) }
            let work = LoopWork(payloadBytes: 64, messages: 4, verify: true)
            let buffer = makePatternBuffer(64)
            defer { buffer.deallocate() }
            PubSubHeader.write(buffer, key: 7, publisher: 0, topic: topic, sequence: UInt64(topic), time: monotonicNanoseconds())
            if corrupt { buffer.storeBytes(of: 0xff, toByteOffset: 40, as: UInt8.self) }
            XCTAssertEqual(Glibc.write(fds[1], buffer, 64), 64)
            let endpoint = Endpoint(.readWrite(read: fds[0], write: -1), .stream, datagramKey: 7)
            let loop = Subscriber(id: 0, [endpoint], ends: [1], w, work)
            var r = LoopResult()
            loop.run(&r)
            XCTAssertTrue(r.failure.message?.contains(expected) ?? false, "\(r.failure.message ?? "no failure")")
            endpoint.close()
        }
    }

    /// On a reliable transport a subscriber whose sources have all ended fails when a message it was
    /// due never came.
    func testASubscriberFailsWhenADueMessageIsMissing() throws {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(cshim_pipe_cloexec(&fds), 0)
        defer { closeDescriptor(fds[1]) }
        let w = PubSubWorkers(shape(64, 1, 1, 1, 1, .direct))
        let buffer = makePatternBuffer(64)
        defer { buffer.deallocate() }
        PubSubHeader.write(buffer, key: 0, publisher: 0, topic: 0, sequence: 0, time: monotonicNanoseconds())
        XCTAssertEqual(Glibc.write(fds[1], buffer, 64), 64)
        PubSubHeader.write(buffer, key: 0, publisher: 0, topic: 0, sequence: endMarker, time: 0)
        XCTAssertEqual(Glibc.write(fds[1], buffer, 64), 64)
        let endpoint = Endpoint(.readWrite(read: fds[0], write: -1), .stream)
        let loop = Subscriber(id: 0, [endpoint], ends: [1], w, LoopWork(payloadBytes: 64, messages: 8, verify: true))
        var r = LoopResult()
        loop.run(&r)
        XCTAssertEqual(r.failure.message, "only 1 of the 8 messages due arrived before every sender had ended")
        endpoint.close()
    }

    /// A stranger's datagram to a subscriber's socket is dropped and counted, never taken as data.
    func testAStrangersDatagramIsCountedNotDelivered() throws {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0, &fds), 0)
        defer { closeDescriptor(fds[1]) }
        let w = PubSubWorkers(shape(64, 1, 1, 1, 1, .direct))
        let buffer = makePatternBuffer(64)
        defer { buffer.deallocate() }
        PubSubHeader.write(buffer, key: 99, publisher: 0, topic: 0, sequence: 0, time: monotonicNanoseconds())
        XCTAssertEqual(Glibc.write(fds[1], buffer, 64), 64)  // the wrong key
        PubSubHeader.write(buffer, key: 7, publisher: 0, topic: 0, sequence: 0, time: monotonicNanoseconds())
        XCTAssertEqual(Glibc.write(fds[1], buffer, 64), 64)
        PubSubHeader.write(buffer, key: 7, publisher: 0, topic: 0, sequence: endMarker, time: 0)
        XCTAssertEqual(Glibc.write(fds[1], buffer, 64), 64)
        let endpoint = Endpoint(.sendReceive(fds[0]), .reliableMessages, datagramKey: 7)
        let loop = Subscriber(id: 0, [endpoint], ends: [1], w, LoopWork(payloadBytes: 64, messages: 1, verify: true))
        var r = LoopResult()
        loop.run(&r)
        XCTAssertNil(r.failure.message)
        XCTAssertEqual(r.rejected, 1)
        XCTAssertEqual(r.messages, 1)
        endpoint.close()
    }

    func testSmallPayloadsSharedMemoryAndVmspliceAreSkippedWithTheReason() {
        XCTAssertEqual(skipReason(.pipe, .pubsub, shape(31, 1, 1, 1, 1, .direct)),
                       "pubsub needs at least 32 bytes per message for its header: the trial key, publisher, topic, sequence number and send time")
        XCTAssertNil(skipReason(.pipe, .pubsub, shape(32, 1, 1, 1, 1, .direct)))
        XCTAssertEqual(skipReason(.vmsplice, .pubsub, shape(64, 1, 1, 1, 1, .direct)),
                       "pubsub reads each message's header, and vmsplice's receiver splices the bytes into /dev/null unread (except under --verify)")
        XCTAssertNil(skipReason(.udpMulticast, .pubsub, shape(64, 2, 2, 2, 1, .broker)))
    }
}
