import Glibc
import IPCPlatform
import IPCModel

/// duplex (asynchronous messages both ways at once): each worker writes `messages` messages of the
/// payload to the other while reading the other's. Each worker's time runs from its first write to
/// the last byte it received.
package enum DuplexPattern: Pattern {
    package static func topology(_ shape: CaseShape) -> Topology { .pair("first", "second") }

    package static func payloadBuffers(worker index: Int, _ shape: CaseShape) -> Int { 2 }

    package static func requirements(_ shape: CaseShape) -> Requirements {
        var r = Requirements(bothWays: true, polling: "either direction", noLoss: "each worker waits for all of its peer's", numberedMessages: "sequence number")
        r.waitsItself = true
        return r
    }

    package static func makeLoop(worker index: Int, _ endpoints: [Endpoint], _ work: LoopWork) -> TimedLoop {
        DuplexLoop(endpoints[0], work)
    }

    /// Forward: the second worker's bytes over the first's first write to the second's last byte; backward the
    /// other way; combined: both over the earlier first write to the later last byte.
    package static func figures(_ reports: [WorkerReport], _ shape: CaseShape) -> TrialFigures {
        let a = reports[0], b = reports[1]
        var f = TrialFigures()
        f.durationNs = max(a.endNs, b.endNs) &- min(a.startNs, b.startNs)
        f.bytes = a.bytes + b.bytes
        f.messages = a.messages + b.messages
        f.values[.throughput] = mibPerSecond(f.bytes, f.durationNs)
        f.values[.forward] = mibPerSecond(b.bytes, b.endNs &- a.startNs)
        f.values[.backward] = mibPerSecond(a.bytes, a.endNs &- b.startNs)
        var d = DatagramCounts()
        d.sent = a.datagrams.sent + b.datagrams.sent
        d.received = a.datagrams.received + b.datagrams.received
        d.lost = d.sent - min(d.sent, d.received)
        d.reordered = a.datagrams.reordered + b.datagrams.reordered
        d.duplicated = a.datagrams.duplicated + b.datagrams.duplicated
        f.datagrams = d
        return f
    }
}

/// One duplex worker. Its descriptors are non-blocking and it waits in poll(2) for either direction
/// only when neither a write nor a read made progress, so it keeps draining its peer's bytes while
/// its own writes wait: two blocking writers would deadlock once both buffers filled.
package final class DuplexLoop: TimedLoop {
    private let endpoint: Endpoint
    private let work: LoopWork
    private let sendBuffer: UnsafeMutableRawPointer
    private let receiveBuffer: UnsafeMutableRawPointer
    private let waiting: UnsafeMutablePointer<pollfd>
    private var tally: DatagramTally
    private var setupFailure = LoopFailure.none
    /// --wait epoll: the set of the read and write descriptors, and what each is watched for now.
    private var epoll: Int32 = -1
    private var watching = (receiving: true, sending: true)

    package init(_ endpoint: Endpoint, _ work: LoopWork) {
        self.endpoint = endpoint
        self.work = work
        sendBuffer = makePatternBuffer(work.payloadBytes)
        receiveBuffer = makePatternBuffer(work.payloadBytes)
        waiting = UnsafeMutablePointer<pollfd>.allocate(capacity: 2)
        waiting.initialize(repeating: pollfd(), count: 2)
        tally = DatagramTally(key: endpoint.datagramKey, work)
        // Under uring the descriptors stay blocking: the ring waits, and would refuse a non-blocking one.
        let failure = work.wait == .uring ? 0 : endpoint.makeNonBlocking()
        if failure != 0 { setupFailure = .system("fcntl(O_NONBLOCK)", failure) }
        if work.wait == .epoll {
            // One descriptor (a socket) watched for both, or the read and write ends each for its own.
            let fds = endpoint.pollDescriptors
            epoll = makeEpollForBothDirections(read: fds.read, write: fds.write)
            if epoll < 0 { setupFailure = .system("epoll_ctl", -epoll) }
        }
    }

    deinit {
        sendBuffer.deallocate()
        receiveBuffer.deallocate()
        waiting.deallocate()
        tally.deallocate()
        closeDescriptor(epoll)
    }

    package func run(_ result: inout LoopResult) {
        result.startNs = monotonicNanoseconds()
        if setupFailure.isFailure {
            result.failure = setupFailure
        } else if work.wait == .uring {
            runThroughRing(&result)
        } else if endpoint.isDatagram {
            runMessages(&result)
        } else {
            runStream(&result)
        }
    }

    /// --wait uring: a write and a read in flight in the worker's ring at once, each put back as
    /// soon as it completes, and the loop waits for whichever completes first. On a stream a write
    /// offers the rest of the current message and a read asks for up to one message; messages are
    /// numbered and checked as `runMessages` does.
    private func runThroughRing(_ result: inout LoopResult) {
        let datagrams = endpoint.isDatagram
        let size = work.payloadBytes
        let total = datagrams ? UInt64(work.messages) : UInt64(size) * UInt64(work.messages)
        let key = endpoint.datagramKey
        let writeTag = endpoint.uringTag(reading: false)
        var sent: UInt64 = 0, received: UInt64 = 0  // bytes on a stream, messages otherwise
        var writing = false, reading = false
        while sent < total || received < total {
            if sent < total && !writing {
                let n: Int
                if datagrams {
                    writeDatagramHeader(sendBuffer, key: key, number: sent)
                    n = endpoint.uringStart(reading: false, sendBuffer, size)
                } else {
                    n = endpoint.uringStart(reading: false, sendBuffer + Int(sent % UInt64(patternPeriod)), Int(UInt64(size) - sent % UInt64(size)))
                }
                if n < 0 { result.failure = .system("io_uring write", Int32(-n)); break }
                writing = true
            }
            if received < total && !reading {
                let n = endpoint.uringStart(reading: true, receiveBuffer, datagrams ? size : Int(min(UInt64(size), total - received)))
                if n < 0 { result.failure = .system("io_uring read", Int32(-n)); break }
                reading = true
            }
            let (tag, n) = endpoint.uringWaitAny(timeoutNs: -1)
            if tag == writeTag && n != -Int(EAGAIN) {
                writing = false
                if n <= 0 { result.failure = .system(datagrams ? "send" : "write", n == 0 ? EIO : Int32(-n)); break }
                sent &+= datagrams ? 1 : UInt64(n)
                continue
            }
            reading = false
            if n < 0 { result.failure = .system(datagrams ? "recv" : "read", Int32(-n)); break }
            if datagrams {
                if n == 0 { result.failure = .peerClosed(afterBytes: result.bytes); break }
                let outcome = tally.take(receiveBuffer, n, at: monotonicNanoseconds(), &result)
                if outcome == .failed { break }
                if outcome == .endMarker { result.failure = .badSequence(endMarker); break }
                received = result.datagrams.received
            } else {
                if n == 0 { result.failure = .peerClosed(afterBytes: received); break }
                if work.verify, let bad = firstMismatch(receiveBuffer, n, streamOffset: received) {
                    result.failure = .corrupt(atByte: bad)
                    break
                }
                received &+= UInt64(n)
                if received == total { result.endNs = monotonicNanoseconds() }
            }
        }
        if datagrams {
            result.datagrams.sent = sent
            result.messages = result.datagrams.received
        } else {
            result.bytes = received
            result.messages = received / UInt64(size)
        }
    }

    /// Byte streams: each write offers the rest of the current message, each read asks for up to
    /// one message; `bytes` and `messages` count what arrived.
    private func runStream(_ result: inout LoopResult) {
        let size = UInt64(work.payloadBytes)
        let total = size * UInt64(work.messages)
        var sent: UInt64 = 0, received: UInt64 = 0
        while sent < total || received < total {
            var progressed = false
            if sent < total {
                let n = endpoint.writeOnce(sendBuffer + Int(sent % UInt64(patternPeriod)), Int(size - sent % size))
                if n >= 0 {
                    sent &+= UInt64(n)
                    progressed = true
                } else if n != -Int(EAGAIN) {
                    result.failure = .system("write", Int32(-n))
                    break
                }
            }
            if received < total {
                let n = endpoint.read(receiveBuffer, Int(min(size, total - received)))
                if n > 0 {
                    if work.verify, let bad = firstMismatch(receiveBuffer, n, streamOffset: received) {
                        result.failure = .corrupt(atByte: bad)
                        break
                    }
                    received &+= UInt64(n)
                    if received == total { result.endNs = monotonicNanoseconds() }
                    progressed = true
                } else if n == 0 {
                    result.failure = .peerClosed(afterBytes: received)
                    break
                } else if n != -Int(EAGAIN) {
                    result.failure = .system("read", Int32(-n))
                    break
                }
            }
            if !progressed, !wait(sending: sent < total, receiving: received < total, &result) { break }
        }
        result.bytes = received
        result.messages = received / size
    }

    /// Reliable messages: numbered and keyed like throughput's datagrams, checked by `DatagramTally`;
    /// done when every message has been sent and every one of the peer's has arrived.
    private func runMessages(_ result: inout LoopResult) {
        let size = work.payloadBytes
        let messages = UInt64(work.messages)
        let key = endpoint.datagramKey
        var sent: UInt64 = 0
        while sent < messages || result.datagrams.received < messages {
            var progressed = false
            if sent < messages {
                writeDatagramHeader(sendBuffer, key: key, number: sent)
                let n = endpoint.writeOnce(sendBuffer, size)
                if n >= 0 {
                    sent &+= 1
                    progressed = true
                } else if n != -Int(EAGAIN) {
                    result.failure = .system("send", Int32(-n))
                    break
                }
            }
            if result.datagrams.received < messages {
                let n = endpoint.read(receiveBuffer, size)
                if n >= 0 {
                    let outcome = tally.take(receiveBuffer, n, at: monotonicNanoseconds(), &result)
                    if outcome == .failed { break }
                    if outcome == .endMarker { result.failure = .badSequence(endMarker); break }
                    progressed = true
                } else if n != -Int(EAGAIN) {
                    result.failure = .system("recv", Int32(-n))
                    break
                }
            }
            if !progressed, !wait(sending: sent < messages, receiving: result.datagrams.received < messages, &result) { break }
        }
        result.datagrams.sent = sent
        result.messages = result.datagrams.received
    }

    /// Sleeps in poll(2) (or, with --wait epoll, in epoll_wait(2)) until the endpoint can take a
    /// write or has something to read; with --wait busy it does not sleep, and the loop tries again.
    /// False (and the failure recorded) if the wait fails. No timeout: the trial's timeout ends a stuck peer.
    @inline(__always)
    private func wait(sending: Bool, receiving: Bool, _ result: inout LoopResult) -> Bool {
        switch work.wait {
        case .busy:
            return true
        case .epoll:
            let fds = endpoint.pollDescriptors
            if watching != (receiving, sending) {
                // A direction that is done is no longer watched: a writable end would wake the wait at once.
                let changed = fds.write == fds.read ? epollWatch(epoll, fds.read, input: receiving, output: sending)
                    : epollWatch(epoll, fds.read, input: receiving, output: false) | epollWatch(epoll, fds.write, input: false, output: sending)
                if changed != 0 { result.failure = .system("epoll_ctl", lastError); return false }
                watching = (receiving, sending)
            }
            let n = epollWaitOne(epoll, timeoutMs: -1)
            if n < 0 { result.failure = .system("epoll_wait", Int32(-n)) }
            return n >= 0
        case .auto, .block, .poll, .uring:  // block cannot serve duplex (skipReason skips it); uring has its own loop
            break
        }
        let fds = endpoint.pollDescriptors
        waiting[0] = pollfd(fd: receiving ? fds.read : -1, events: Int16(POLLIN), revents: 0)
        waiting[1] = pollfd(fd: sending ? fds.write : -1, events: Int16(POLLOUT), revents: 0)
        let n = pollOnce(waiting, 2, timeoutMs: -1)
        if n < 0 { result.failure = .system("poll", Int32(-n)) }
        return n >= 0
    }

    package func roundTrips() -> [(UInt64, UInt64)] { [] }
}
