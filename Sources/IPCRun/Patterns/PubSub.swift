import Glibc
import Histogram
import IPCPlatform
import IPCModel

/// pubsub (publish-subscribe): P publishers, S subscribers, T topics. Subscriber i takes the K topics
/// (i + j) mod T for j < K; each publisher publishes its messages on the topics in turn (message m on
/// topic m mod T), and a message reaches every subscriber of its topic and no other.
/// - direct: each publisher has a link to every subscriber and writes one copy per subscriber of the
///   message's topic (the publisher filters); on a one-to-many transport it sends once to the topic's
///   group.
/// - broker: publishers write to one broker worker, which keeps the subscription table and writes each
///   message to its topic's subscribers (once to the topic's group on a one-to-many transport).
/// Every message is the payload's size and starts with a header (`PubSubHeader`) whose send time
/// gives each delivery's publish-to-delivery latency. Readers wait for any of their links in poll(2)
/// and read without blocking, so that no reader waits on one link while another is full.
package enum PubSubPattern: Pattern {
    package static func topology(_ shape: CaseShape) -> Topology {
        let w = PubSubWorkers(shape)
        var roles = (1...shape.publishers).map { "publisher \($0)" }
        if w.broker != nil { roles.append("broker") }
        roles += (1...shape.subscribers).map { "subscriber \($0)" }
        var links: [Topology.Link] = []
        if let broker = w.broker {
            // Groups 0..<T are the topics'; a publisher's link to the broker is a group of its own.
            for p in 0..<shape.publishers { links.append(.init(from: p, to: broker, group: shape.topics + p)) }
            for s in 0..<shape.subscribers {
                for t in w.topics(of: s) { links.append(.init(from: broker, to: w.subscriber(s), group: t)) }
            }
        } else {
            for p in 0..<shape.publishers {
                for s in 0..<shape.subscribers {
                    for t in w.topics(of: s) { links.append(.init(from: p, to: w.subscriber(s), group: t)) }
                }
            }
        }
        return Topology(roles: roles, links: links)
    }

    package static func payloadBuffers(worker index: Int, _ shape: CaseShape) -> Int {
        let w = PubSubWorkers(shape)
        if index < shape.publishers { return 1 }
        // A reader keeps a buffer per endpoint it reads (a stream's message may arrive in parts): the
        // broker one per publisher (and its end marker), a subscriber one per publisher or per topic.
        return index == w.broker ? shape.publishers + 1 : max(shape.publishers, shape.subscriptions)
    }

    package static func requirements(_ shape: CaseShape) -> Requirements {
        var r = Requirements(polling: "any of its links", broadcast: true)
        r.waitsItself = true
        r.header = (PubSubHeader.bytes, "its header: the trial key, publisher, topic, sequence number and send time")
        r.readsEveryMessage = true
        return r
    }

    package static func makeLoop(worker index: Int, _ endpoints: [Endpoint], _ work: LoopWork) -> TimedLoop {
        let w = PubSubWorkers(work.shape)
        let topology = topology(work.shape)
        let links = topology.endpointLinks(of: index, oneToMany: work.oneToMany).map { topology.links[$0] }
        if index < work.shape.publishers {
            return Publisher(id: index, endpoints, targets(links, w, work), work)
        }
        if index == w.broker {
            let inbound = links.indices.filter { links[$0].to == index }
            let outbound = links.indices.filter { links[$0].from == index }
            return Broker(inbound.map { endpoints[$0] }, outbound.map { endpoints[$0] },
                          targets(outbound.map { links[$0] }, w, work), work)
        }
        // Which sources end each link: its publisher, every publisher of a group, or the broker (0).
        let sources = links.map { link -> UInt64 in
            if w.broker != nil { return 1 }
            return work.oneToMany ? w.allPublishers : 1 << UInt64(link.from)
        }
        return Subscriber(id: index - w.firstSubscriber, endpoints, ends: sources, w, work)
    }

    /// For each topic, the indices of the endpoints (made from `links`, all from one writer) that a
    /// message on it goes to: the topic's group, or each subscriber that takes it.
    package static func targets(_ links: [Topology.Link], _ w: PubSubWorkers, _ work: LoopWork) -> [[Int]] {
        (0..<w.shape.topics).map { t in
            links.indices.filter { e in
                let link = links[e]
                if link.to == w.broker { return true }  // a publisher's one link, to the broker
                return work.oneToMany ? link.group == t : w.takes(link.to - w.firstSubscriber, t)
            }
        }
    }

    /// Delivered MiB/s and msgs/s: every subscriber's deliveries over the first publisher's first
    /// send to the last subscriber's last delivery. Slowest: the least, over subscribers, of its
    /// bytes over the first send to its own last delivery. Latency: every delivery's, all subscribers.
    package static func figures(_ reports: [WorkerReport], _ shape: CaseShape) -> TrialFigures {
        let w = PubSubWorkers(shape)
        let start = reports[..<shape.publishers].map(\.startNs).min()!
        let subscribers = reports[w.firstSubscriber...]
        var f = TrialFigures()
        f.durationNs = subscribers.map(\.endNs).max()! &- start
        f.bytes = subscribers.reduce(0) { $0 + $1.bytes }
        f.messages = subscribers.reduce(0) { $0 + $1.messages }
        f.values[.throughput] = mibPerSecond(f.bytes, f.durationNs)
        f.values[.messagesPerSecond] = f.durationNs > 0 ? Double(f.messages) / (Double(f.durationNs) / 1e9) : 0
        // A subscriber due nothing (fewer messages than topics) has no rate of its own.
        let due = (0..<shape.subscribers).map { UInt64(shape.publishers) * w.deliveries(of: $0, messages: reports[0].messages) }
        f.values[.slowest] = zip(subscribers, due).filter { $0.1 > 0 }.map { mibPerSecond($0.0.bytes, $0.0.endNs &- start) }.min()
        let deliveries = makeRoundTripHistogram(subscribers.flatMap(\.roundTrips))
        if deliveries.totalCount > 0 {
            f.values[.deliveryP50] = Double(deliveries.valueAtPercentile(50)) / 1000
            f.values[.deliveryP99] = Double(deliveries.valueAtPercentile(99)) / 1000
            f.values[.deliveryP999] = Double(deliveries.valueAtPercentile(99.9)) / 1000
        }
        // The deliveries due: each publisher's messages to the subscribers of their topics.
        let allDue = due.reduce(0, +)
        f.datagrams = DatagramCounts(due: allDue, receivers: subscribers)
        // At a rate, what got through counts each published message once: the published messages
        // times the share of their deliveries that arrived.
        let published = reports[..<shape.publishers].reduce(UInt64(0)) { $0 + $1.messages }
        let delivered = allDue > 0 ? Double(published) * Double(min(f.messages, allDue)) / Double(allDue) : 0
        addPacingFigures(&f, shape, senders: Array(reports[..<shape.publishers]), achieved: delivered)
        let uncorrected = makeRoundTripHistogram(subscribers.flatMap(\.uncorrected))
        if shape.rate != nil && uncorrected.totalCount > 0 {
            f.values[.deliveryP999Uncorrected] = Double(uncorrected.valueAtPercentile(99.9)) / 1000
        }
        return f
    }
}

/// Where pubsub's workers are: publishers 0..<P, then the broker (broker topology), then the
/// subscribers; and who takes which topic.
package struct PubSubWorkers {
    package let shape: CaseShape
    package let broker: Int?
    package let firstSubscriber: Int

    package init(_ shape: CaseShape) {
        self.shape = shape
        broker = shape.topology == .broker ? shape.publishers : nil
        firstSubscriber = shape.publishers + (broker == nil ? 0 : 1)
    }

    package func subscriber(_ s: Int) -> Int { firstSubscriber + s }

    /// Subscriber `s`'s topics: (s + j) mod T for j < K.
    package func topics(of s: Int) -> [Int] { (0..<shape.subscriptions).map { (s + $0) % shape.topics } }

    package func takes(_ s: Int, _ topic: Int) -> Bool { topics(of: s).contains(topic) }

    /// Subscriber `s`'s topics as a mask (T ≤ 64).
    package func topicMask(of s: Int) -> UInt64 { topics(of: s).reduce(0) { $0 | 1 << UInt64($1) } }

    package var allPublishers: UInt64 { shape.publishers == 64 ? .max : (1 << UInt64(shape.publishers)) - 1 }

    /// How many of one publisher's `messages` messages subscriber `s` takes.
    package func deliveries(of s: Int, messages: UInt64) -> UInt64 {
        let t = UInt64(shape.topics)
        return topics(of: s).reduce(0) { n, topic in n + messages / t + (UInt64(topic) < messages % t ? 1 : 0) }
    }
}

/// A pubsub message's first 32 bytes, little-endian: the trial key; a word of the publisher (8
/// bits; at most 64), the topic (8 bits; at most 64) and, at an offered rate, how late the message
/// went out after its intended time (48 bits of ns, 78 hours; 0 without a rate); the publisher's
/// message number (`endMarker` for its end); and the send time (CLOCK_MONOTONIC ns, the same clock
/// in every process of the host): at a rate the intended one, so that a delivery's latency is
/// corrected and the uncorrected one is that less the lateness. The pattern fills the rest.
package enum PubSubHeader {
    package static let bytes = 32

    @inline(__always)
    package static func write(_ buffer: UnsafeMutableRawPointer, key: UInt64, publisher: Int, topic: Int, sequence: UInt64, time: UInt64,
                      lateness: UInt64 = 0) {
        let word = UInt64(truncatingIfNeeded: publisher) & 0xFF | (UInt64(truncatingIfNeeded: topic) & 0xFF) << 8
            | min(lateness, latenessLimit) << 16
        buffer.storeBytes(of: key.littleEndian, toByteOffset: 0, as: UInt64.self)
        buffer.storeBytes(of: word.littleEndian, toByteOffset: 8, as: UInt64.self)
        buffer.storeBytes(of: sequence.littleEndian, toByteOffset: 16, as: UInt64.self)
        buffer.storeBytes(of: time.littleEndian, toByteOffset: 24, as: UInt64.self)
    }

    package static let latenessLimit: UInt64 = (1 << 48) - 1

    @inline(__always) package static func key(_ b: UnsafeRawPointer) -> UInt64 { UInt64(littleEndian: b.loadUnaligned(fromByteOffset: 0, as: UInt64.self)) }
    @inline(__always) package static func word(_ b: UnsafeRawPointer) -> UInt64 { UInt64(littleEndian: b.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) }
    @inline(__always) package static func publisher(_ b: UnsafeRawPointer) -> Int { Int(word(b) & 0xFF) }
    @inline(__always) package static func topic(_ b: UnsafeRawPointer) -> Int { Int(word(b) >> 8 & 0xFF) }
    @inline(__always) package static func lateness(_ b: UnsafeRawPointer) -> UInt64 { word(b) >> 16 }
    @inline(__always) package static func sequence(_ b: UnsafeRawPointer) -> UInt64 { UInt64(littleEndian: b.loadUnaligned(fromByteOffset: 16, as: UInt64.self)) }
    @inline(__always) package static func time(_ b: UnsafeRawPointer) -> UInt64 { UInt64(littleEndian: b.loadUnaligned(fromByteOffset: 24, as: UInt64.self)) }
}

/// How long a reader on a lossy transport waits for the next message before it takes the rest as
/// lost (the end markers too): the datagram transports' receive timeout.
package let quietTimeoutMs = Int32(TransportOptions().receiveTimeoutNs / 1_000_000)

/// A publisher: message m on topic m mod T, stamped and written to that topic's targets (blocking),
/// then its end marker on every endpoint (three times where messages may be lost). `bytes` and
/// `datagrams.sent` count copies; `messages` counts each message once.
package final class Publisher: TimedLoop {
    private let id: Int
    private let endpoints: [Endpoint]
    private let targets: [[Int]]
    private let work: LoopWork
    private let buffer: UnsafeMutableRawPointer
    /// At an offered rate: the schedule (message m at t0 + m/R; late ones at once, in order).
    private let pacer: Pacer

    package init(id: Int, _ endpoints: [Endpoint], _ targets: [[Int]], _ work: LoopWork) {
        self.id = id
        self.endpoints = endpoints
        self.targets = targets
        self.work = work
        buffer = makePatternBuffer(work.payloadBytes)
        pacer = work.makePacer()
    }

    deinit { buffer.deallocate() }

    package func run(_ result: inout LoopResult) {
        let size = work.payloadBytes, topics = targets.count
        let key = endpoints[0].datagramKey, seal = endpoints[0].seal
        var topic = 0
        result.startNs = monotonicNanoseconds()
        pacer.start(result.startNs)
        publishing: for n in 0..<work.messages {
            let m = UInt64(n)
            let intended = pacer.on ? pacer.wait(m) : 0
            let now = monotonicNanoseconds()
            if pacer.on {
                PubSubHeader.write(buffer, key: key, publisher: id, topic: topic, sequence: m, time: intended, lateness: now &- intended)
            } else {
                PubSubHeader.write(buffer, key: key, publisher: id, topic: topic, sequence: m, time: now)
            }
            if let seal { sealDatagramHeader(buffer, headerBytes: PubSubHeader.bytes, seal) }
            for e in targets[topic] {
                let n = endpoints[e].write(buffer, size)
                if n < 0 { result.failure = .system("write", Int32(-n)); break publishing }
                result.bytes &+= UInt64(size)
                result.datagrams.sent &+= 1
            }
            result.messages &+= 1
            topic += 1
            if topic == topics { topic = 0 }
        }
        result.endNs = monotonicNanoseconds()
        pacer.report(&result)
        PubSubHeader.write(buffer, key: key, publisher: id, topic: 0, sequence: endMarker, time: 0)
        if let seal { sealDatagramHeader(buffer, headerBytes: PubSubHeader.bytes, seal) }
        let copies = endpoints[0].losesDatagrams ? 3 : 1
        for e in endpoints.indices { for _ in 0..<copies { _ = endpoints[e].write(buffer, size) } }
    }

    package func roundTrips() -> [(UInt64, UInt64)] { [] }
    package func overshoots() -> [(UInt64, UInt64)] { pacer.on ? recordedPairs(pacer.overshoot) : [] }
}

/// The links a broker or subscriber reads, without blocking: each has a buffer of one message (a
/// stream's may arrive in parts); when none has a whole message it waits for any of them as --wait
/// says: in poll(2) (auto, poll), in epoll_wait(2) on a set of them all (epoll), or not at all, reading
/// them in turn again (busy). Allocates only in `init`.
package struct Inbox {
    private let endpoints: [Endpoint]
    private let size: Int
    private let buffers: UnsafeMutablePointer<UnsafeMutableRawPointer>
    private let filled: UnsafeMutablePointer<Int>
    private let polls: UnsafeMutablePointer<pollfd>
    /// Links still read (a link is done once every source on it has ended).
    private let open: UnsafeMutablePointer<Bool>
    /// uring: the links with a read in flight in the worker's ring.
    private let reading: UnsafeMutablePointer<Bool>
    private var next = 0
    private let wait: WaitMode
    /// epoll: the set of the open links' descriptors; -1 otherwise.
    private let epoll: Int32
    /// busy, where messages may be lost: when the links went quiet (0: they are not).
    private var quietSince: UInt64 = 0
    package let failure: Int32
    /// Its links keep message boundaries (one read, one message; a stranger may send one).
    package let datagrams: Bool
    /// Where anyone may send to its links (udp-multicast): the MAC key that authenticates a header.
    package let seal: SipHashKey?

    package init(_ endpoints: [Endpoint], size: Int, wait: WaitMode) {
        self.endpoints = endpoints
        self.size = size
        self.wait = wait
        var epoll: Int32 = -1
        if wait == .epoll { epoll = makeEpoll() }
        buffers = .allocate(capacity: endpoints.count)
        filled = .allocate(capacity: endpoints.count)
        polls = .allocate(capacity: endpoints.count)
        open = .allocate(capacity: endpoints.count)
        reading = .allocate(capacity: endpoints.count)
        var failure: Int32 = 0
        for (i, e) in endpoints.enumerated() {
            (buffers + i).initialize(to: makePatternBuffer(size))
            (filled + i).initialize(to: 0)
            (polls + i).initialize(to: pollfd(fd: e.pollDescriptors.read, events: Int16(POLLIN), revents: 0))
            (open + i).initialize(to: true)
            (reading + i).initialize(to: false)
            // Under uring the descriptors stay blocking: the ring waits, and would refuse a non-blocking one.
            let r = wait == .uring ? 0 : e.makeNonBlocking()
            if r != 0 { failure = r }
            if wait == .epoll && (epoll < 0 || epollAdd(epoll, e.pollDescriptors.read, tag: UInt32(i)) < 0) { failure = lastError }
        }
        self.epoll = epoll
        self.failure = failure
        datagrams = endpoints[0].isDatagram
        seal = endpoints[0].seal
    }

    /// A message of `count` bytes holds a whole header from the trial: its MAC is right on a sealed
    /// link, it carries the trial's key on any other.
    @inline(__always)
    package func authentic(_ buffer: UnsafeRawPointer, _ count: Int, key: UInt64) -> Bool {
        if let seal { return hasValidSeal(buffer, count, headerBytes: PubSubHeader.bytes, seal) }
        return count >= PubSubHeader.bytes && PubSubHeader.key(buffer) == key
    }

    package func deallocate() {
        for i in endpoints.indices { buffers[i].deallocate() }
        buffers.deallocate()
        filled.deallocate()
        polls.deallocate()
        open.deallocate()
        reading.deallocate()
        closeDescriptor(epoll)
    }

    /// Stops reading link `i`.
    package func close(_ i: Int) {
        open[i] = false
        if epoll >= 0 { epollRemove(epoll, polls[i].fd) }
        polls[i].fd = -1  // poll(2) skips a negative descriptor
    }

    package var anyOpen: Bool { endpoints.indices.contains { open[$0] } }

    package enum Next { case message(link: Int, UnsafeMutableRawPointer, bytes: Int), quiet, failed(Int32), closed(link: Int) }

    /// The next whole message on any open link, taking the links in turn; `quiet` when a lossy
    /// link had nothing for `quietTimeoutMs`; `closed` when a stream link ended.
    @inline(__always)
    package mutating func receive() -> Next {
        if wait == .uring { return receiveThroughRing() }
        let count = endpoints.count
        while true {
            for step in 0..<count {
                let i = (next + step) % count
                if !open[i] { continue }
                let n = endpoints[i].read(buffers[i] + filled[i], size - filled[i])
                if n == -Int(EAGAIN) { continue }
                if n < 0 { return .failed(Int32(-n)) }
                if n == 0 && !datagrams { return .closed(link: i) }
                next = i + 1
                quietSince = 0
                if datagrams { return .message(link: i, buffers[i], bytes: n) }
                filled[i] += n
                if filled[i] == size {
                    filled[i] = 0
                    return .message(link: i, buffers[i], bytes: size)
                }
            }
            let lossy = endpoints[0].losesDatagrams
            let r: Int
            switch wait {
            case .auto, .block, .poll, .uring:  // block cannot serve pubsub (skipReason skips it); uring reads above
                r = pollOnce(polls, count, timeoutMs: lossy ? quietTimeoutMs : -1)
            case .epoll:
                r = epollWaitOne(epoll, timeoutMs: lossy ? quietTimeoutMs : -1)
            case .busy:
                // Read them all again at once; where messages may be lost, give up after the same quiet time.
                r = 1
                if lossy {
                    let now = monotonicNanoseconds()
                    if quietSince == 0 { quietSince = now } else if now &- quietSince >= UInt64(quietTimeoutMs) * 1_000_000 { return .quiet }
                }
            }
            if r < 0 { return .failed(Int32(-r)) }
            if r == 0 { return .quiet }
        }
    }

    /// --wait uring: a read in flight on every open link in the worker's ring (one message's worth,
    /// or the rest of one), and the first to complete is taken; `quiet` as `receive` says.
    @inline(__always)
    private mutating func receiveThroughRing() -> Next {
        let count = endpoints.count
        let quiet = endpoints[0].losesDatagrams ? Int64(quietTimeoutMs) * 1_000_000 : -1
        while true {
            for i in 0..<count where open[i] && !reading[i] {
                let n = endpoints[i].uringStart(reading: true, buffers[i] + filled[i], size - filled[i])
                if n < 0 { return .failed(Int32(-n)) }
                reading[i] = true
            }
            let (tag, n) = endpoints[0].uringWaitAny(timeoutNs: quiet)
            if n == -Int(EAGAIN) { return .quiet }
            var link = -1
            for i in 0..<count where endpoints[i].uringTag(reading: true) == tag {
                link = i
                break
            }
            if link < 0 { return .failed(n < 0 ? Int32(-n) : EINVAL) }
            reading[link] = false
            if n < 0 { return .failed(Int32(-n)) }
            if n == 0 {
                if case .packets = endpoints[link].io { return .failed(EPIPE) }  // the peer closed (no message is empty)
                if !datagrams { return .closed(link: link) }
            }
            quietSince = 0
            if datagrams { return .message(link: link, buffers[link], bytes: n) }
            filled[link] += n
            if filled[link] == size {
                filled[link] = 0
                return .message(link: link, buffers[link], bytes: size)
            }
        }
    }
}

/// The broker: reads every publisher's messages and writes each to its topic's targets (blocking);
/// once every publisher has ended (or, where messages may be lost, nothing came for a while) it
/// sends its own end marker (publisher 0) on every outbound endpoint.
package final class Broker: TimedLoop {
    private let outbound: [Endpoint]
    private let targets: [[Int]]
    private let work: LoopWork
    private var inbox: Inbox
    private let key: UInt64
    private let marker: UnsafeMutableRawPointer

    package init(_ inbound: [Endpoint], _ outbound: [Endpoint], _ targets: [[Int]], _ work: LoopWork) {
        self.outbound = outbound
        self.targets = targets
        self.work = work
        inbox = Inbox(inbound, size: work.payloadBytes, wait: work.wait)
        key = inbound[0].datagramKey
        marker = makePatternBuffer(work.payloadBytes)
    }

    deinit {
        inbox.deallocate()
        marker.deallocate()
    }

    package func run(_ result: inout LoopResult) {
        let size = work.payloadBytes, topics = targets.count, publishers = work.shape.publishers
        if inbox.failure != 0 { result.failure = .system("fcntl(O_NONBLOCK) or epoll_ctl", inbox.failure); return }
        var ended = 0
        result.startNs = monotonicNanoseconds()
        forwarding: while ended < publishers {
            switch inbox.receive() {
            case .quiet: break forwarding
            case .failed(let code): result.failure = .system("read", code); return
            case .closed(let link): result.failure = .peerClosed(afterBytes: result.bytes); inbox.close(link); return
            case let .message(link, buffer, count):
                if !inbox.authentic(buffer, count, key: key) {
                    // A stranger's datagram; on a stream (only the two workers hold it) it is corruption.
                    if !inbox.datagrams { result.failure = .corrupt(atByte: result.bytes); return }
                    result.rejected &+= 1
                    continue
                }
                if PubSubHeader.sequence(buffer) == endMarker {
                    inbox.close(link)
                    ended += 1
                    continue
                }
                let topic = PubSubHeader.topic(buffer)
                guard topic < topics else { result.failure = .corrupt(atByte: result.bytes); return }
                for e in targets[topic] {
                    let n = outbound[e].write(buffer, size)
                    if n < 0 { result.failure = .system("write", Int32(-n)); return }
                    result.bytes &+= UInt64(size)
                }
                result.messages &+= 1
            }
        }
        result.endNs = monotonicNanoseconds()
        // The broker's own end marker (publisher 0) on every outbound endpoint.
        PubSubHeader.write(marker, key: key, publisher: 0, topic: 0, sequence: endMarker, time: 0)
        if let seal = outbound[0].seal { sealDatagramHeader(marker, headerBytes: PubSubHeader.bytes, seal) }
        let copies = outbound[0].losesDatagrams ? 3 : 1
        for e in outbound.indices { for _ in 0..<copies { _ = outbound[e].write(marker, size) } }
    }

    package func roundTrips() -> [(UInt64, UInt64)] { [] }
}

/// A subscriber: reads its links until every source on each has ended (or, where messages may be
/// lost, nothing came for a while); checks that each message is on one of its own topics, from a
/// real publisher, numbered for that topic and (per publisher) in order, and under `--verify` every
/// byte; records each delivery's latency. Counts what was lost, reordered and duplicated.
package final class Subscriber: TimedLoop {
    private let work: LoopWork
    private var inbox: Inbox
    private let key: UInt64
    private let topics: Int
    private let mine: UInt64
    private let publishers: Int
    /// Per link: the sources whose end marker it waits for, and those that have ended.
    private let ends: UnsafeMutablePointer<UInt64>
    private let ended: UnsafeMutablePointer<UInt64>
    /// Per publisher and topic: the highest message number seen, plus one (0: none yet). Order holds
    /// per publisher and topic: a subscriber reads a group per topic on a one-to-many transport.
    private let highest: UnsafeMutablePointer<UInt64>
    /// What it is due from all the publishers together.
    private let due: UInt64
    /// Where messages may be lost: a bit per publisher and message, to tell duplicates.
    private let seen: UnsafeMutablePointer<UInt64>?
    private var histogram = makeRoundTripHistogram()
    /// At an offered rate: each delivery's latency from the actual send (the header's time is the intended one).
    private let paced: Bool
    private var uncorrected = makeRoundTripHistogram()

    package init(id: Int, _ endpoints: [Endpoint], ends sources: [UInt64], _ w: PubSubWorkers, _ work: LoopWork) {
        paced = work.rate != nil
        self.work = work
        inbox = Inbox(endpoints, size: work.payloadBytes, wait: work.wait)
        key = endpoints[0].datagramKey
        topics = w.shape.topics
        mine = w.topicMask(of: id)
        publishers = w.shape.publishers
        ends = .allocate(capacity: sources.count)
        ends.initialize(from: sources, count: sources.count)
        ended = .allocate(capacity: sources.count)
        ended.initialize(repeating: 0, count: sources.count)
        highest = .allocate(capacity: publishers * topics)
        highest.initialize(repeating: 0, count: publishers * topics)
        due = UInt64(publishers) * w.deliveries(of: id, messages: UInt64(work.messages))
        if endpoints[0].losesDatagrams {
            let words = (publishers * work.messages + 63) / 64
            seen = .allocate(capacity: words)
            seen!.initialize(repeating: 0, count: words)
        } else {
            seen = nil
        }
    }

    deinit {
        inbox.deallocate()
        ends.deallocate()
        ended.deallocate()
        highest.deallocate()
        seen?.deallocate()
    }

    package func run(_ result: inout LoopResult) {
        let size = work.payloadBytes, messages = UInt64(work.messages)
        if inbox.failure != 0 { result.failure = .system("fcntl(O_NONBLOCK) or epoll_ctl", inbox.failure); return }
        result.startNs = monotonicNanoseconds()
        while inbox.anyOpen {
            switch inbox.receive() {
            case .quiet:
                if !result.failure.isFailure && result.datagrams.received == 0 { result.failure = .noDatagramArrived }
                return
            case .failed(let code): result.failure = .system("read", code); return
            case .closed(let link):
                if ended[link] != ends[link] { result.failure = .peerClosed(afterBytes: result.bytes); return }
                inbox.close(link)
            case let .message(link, buffer, count):
                let now = monotonicNanoseconds()
                if !inbox.authentic(buffer, count, key: key) {
                    // A stranger's datagram; on a stream (only the two workers hold it) it is corruption.
                    if !inbox.datagrams { result.failure = .corrupt(atByte: result.bytes); return }
                    result.rejected &+= 1
                    continue
                }
                let publisher = PubSubHeader.publisher(buffer), sequence = PubSubHeader.sequence(buffer)
                if sequence == endMarker {
                    if publisher < 64 { ended[link] |= 1 << UInt64(publisher) }
                    if ended[link] & ends[link] == ends[link] { inbox.close(link) }
                    continue
                }
                let topic = PubSubHeader.topic(buffer)
                // Only this subscriber's topics, from a real publisher, numbered for the topic.
                guard publisher < publishers, topic < topics, mine & (1 << UInt64(topic)) != 0, sequence < messages,
                      sequence % UInt64(topics) == UInt64(topic) else {
                    result.failure = .badSequence(sequence)
                    return
                }
                if work.verify && (count != size || !datagramPayloadIsIntact(buffer, count, headerBytes: PubSubHeader.bytes)) {
                    result.failure = .corrupt(atByte: result.bytes)
                    return
                }
                let order = publisher * topics + topic
                if let seen {
                    let bit = publisher * work.messages + Int(sequence)
                    if seen[bit / 64] & (1 << UInt64(bit % 64)) != 0 {
                        // A publisher sends each message once to a group: on a sealed link a second copy is a replay.
                        if inbox.seal != nil { result.rejected &+= 1 } else { result.datagrams.duplicated &+= 1 }
                        continue
                    }
                    seen[bit / 64] |= 1 << UInt64(bit % 64)
                    if sequence + 1 < highest[order] { result.datagrams.reordered &+= 1 }
                } else if sequence + 1 <= highest[order] {
                    // A reliable link delivers a publisher's messages on a topic in order.
                    result.failure = .badSequence(sequence)
                    return
                }
                if sequence + 1 > highest[order] { highest[order] = sequence + 1 }
                let latency = now &- PubSubHeader.time(buffer)
                if !histogram.record(latency) { result.failure = .histogramOverflow(latency); return }
                if paced {
                    let fromSend = latency &- min(PubSubHeader.lateness(buffer), latency)
                    if !uncorrected.record(fromSend) { result.failure = .histogramOverflow(fromSend); return }
                }
                result.endNs = now
                result.bytes &+= UInt64(count)
                result.messages &+= 1
                result.datagrams.received &+= 1
            }
        }
        // Every source has ended: on a reliable transport all that was due has arrived.
        if seen == nil && result.datagrams.received != due { result.failure = .missing(received: result.datagrams.received, due: due) }
    }

    package func roundTrips() -> [(UInt64, UInt64)] { recordedPairs(histogram) }
    package func uncorrectedRoundTrips() -> [(UInt64, UInt64)] { paced ? recordedPairs(uncorrected) : [] }
}
