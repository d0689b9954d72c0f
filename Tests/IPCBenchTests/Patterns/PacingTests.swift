import Foundation
import Glibc
import Histogram
import XCTest
@testable import IPCPlatform
@testable import IPCModel
@testable import IPCRun
@testable import IPCAnalysis
@testable import IPCLab

/// An offered rate (`--rate`): the schedule and what it counts, every pattern that paces on real
/// transports (every message and byte checked, nothing allocated in the paced loops), and a stalled
/// receiver that the corrected latency shows and the uncorrected one hides. No test here holds a
/// figure against a threshold of this machine's speed: the checks are counts and orderings. About 10 s
/// (the stall's trial lasts 3 s).
final class PacingTests: TrialTestCase {
    /// The schedule by hand, at given clock readings: intended times, on-time and late sends, the overshoot.
    func testScheduleCountsLateSendsAndOvershoot() {
        let pacer = Pacer(rate: 1000)  // one message every 1 ms
        XCTAssertTrue(pacer.on)
        pacer.start(5_000_000)
        XCTAssertEqual(pacer.intended(0), 5_000_000)
        XCTAssertEqual(pacer.intended(7), 12_000_000)
        XCTAssertTrue(pacer.release(0, now: 5_000_000))  // message 0 is due at the start, on time
        XCTAssertFalse(pacer.release(1, now: 5_999_999))  // looked at before its time: it waits
        XCTAssertTrue(pacer.release(1, now: 6_000_250))  // released 250 ns after its time
        XCTAssertTrue(pacer.release(1, now: 9_000_000))  // already released: no second count
        XCTAssertTrue(pacer.release(2, now: 9_000_000))  // first looked at after its time: late
        XCTAssertTrue(pacer.release(3, now: 9_000_001))  // late too: sent at once, in order
        XCTAssertTrue(pacer.release(4, now: 9_000_002))  // due at 9 ms: late as well
        XCTAssertFalse(pacer.release(5, now: 9_500_000))  // caught up: due at 10 ms, it waits
        XCTAssertTrue(pacer.release(5, now: 10_000_300))
        XCTAssertEqual(pacer.late, 3)
        XCTAssertEqual(pacer.overshoot.totalCount, 3)  // messages 0, 1 and 5 waited for their time
        XCTAssertEqual(pacer.overshoot.max, 300)
        var result = LoopResult()
        pacer.report(&result)
        XCTAssertEqual(result.paced, 6)
        XCTAssertEqual(result.late, 3)
    }

    /// Every pattern that paces, at a rate, on a stream, a message and a lossy transport (and on
    /// threads): every message arrives and is checked, the schedule released every message, the
    /// loops allocate nothing, and the figures offer the rate times the senders.
    func testPacedLoopsMoveEverythingAndAllocateNothing() throws {
        let shapes: [(PatternKind, CaseShape)] = [
            (.throughput, CaseShape(payloadBytes: 64)), (.latency, CaseShape(payloadBytes: 64)),
            (.syncMessage, CaseShape(payloadBytes: 64)), (.asyncRequest, CaseShape(payloadBytes: 64, depth: 1)),
            (.asyncRequest, CaseShape(payloadBytes: 64, depth: 4)), (.fanout, CaseShape(payloadBytes: 64, receivers: 2)),
            (.pairs, CaseShape(payloadBytes: 64, pairs: 2)),
            (.pubsub, CaseShape(payloadBytes: 64, [.publishers: 2, .subscribers: 2, .topics: 2, .subscriptions: 1, .topology: 1])),
            (.pubsub, CaseShape(payloadBytes: 64, [.publishers: 1, .subscribers: 2, .topics: 2, .subscriptions: 2, .topology: 2])),
        ]
        let messages = 400
        for kind in [TransportKind.pipe, .unixStream, .unixDgram, .udp] {
            for (pattern, plain) in shapes {
                var shape = plain
                shape[.rate] = 40_000
                if skipReason(kind, pattern, shape) != nil { continue }
                for workers in [Workers.process, .thread] where workers == .process || kind == .pipe {
                    let label = "\(kind.rawValue) \(pattern.rawValue) \(shape.values) \(workers)"
                    let r = try trial(kind, pattern, shape, messages: messages, workers: workers)
                    XCTAssertEqual(r.workers.map(\.error), r.workers.map { _ in "" }, label)
                    XCTAssertEqual(r.workers.reduce(0) { $0 + $1.allocatedBytes }, 0, label)
                    let roles = pattern.implementation.topology(shape).roles
                    let senders = r.workers.indices.filter { r.workers[$0].paced > 0 }
                    let expected = roles.indices.filter { i in ["client", "sender", "publisher"].contains { roles[i].hasPrefix($0) } }
                    XCTAssertEqual(senders, expected, label)
                    for s in senders {
                        XCTAssertEqual(r.workers[s].paced, UInt64(messages), label)
                        XCTAssertLessThanOrEqual(r.workers[s].late, UInt64(messages), label)
                        // Every send either waited for its time (an overshoot) or went late.
                        let waited = r.workers[s].overshoots.reduce(UInt64(0)) { $0 + $1.1 }
                        XCTAssertEqual(waited + r.workers[s].late, UInt64(messages), label)
                    }
                    let f = pattern.implementation.figures(r.workers, shape)
                    XCTAssertEqual(f.values[.offered], 40_000 * Double(senders.count), label)
                    XCTAssertGreaterThan(f.values[.achieved] ?? 0, 0, label)
                    XCTAssertNotNil(f.values[.lateShare], label)
                    if [.latency, .syncMessage, .asyncRequest].contains(pattern) {
                        // Both figures of every request: from its intended and from its actual send.
                        let corrected = f.latencies.reduce(UInt64(0)) { $0 + $1.1 }
                        let uncorrected = f.uncorrectedLatencies.reduce(UInt64(0)) { $0 + $1.1 }
                        XCTAssertEqual(corrected, r.workers[0].messages, label)
                        XCTAssertEqual(uncorrected, corrected, label)
                        // Taken from the earlier of the two times, the corrected one is never the smaller.
                        XCTAssertGreaterThanOrEqual(makeRoundTripHistogram(f.latencies).max, makeRoundTripHistogram(f.uncorrectedLatencies).max, label)
                    }
                    if [.throughput, .fanout, .pairs].contains(pattern) {
                        // Every delivery timed from the send times its message carried, both ways.
                        let receivers = r.workers.indices.filter { !senders.contains($0) }.map { r.workers[$0] }
                        let timed = receivers.reduce(UInt64(0)) { $0 + $1.roundTrips.reduce(0) { $0 + $1.1 } }
                        XCTAssertEqual(timed, receivers.reduce(UInt64(0)) { $0 + $1.messages }, label)
                        XCTAssertEqual(receivers.reduce(UInt64(0)) { $0 + $1.uncorrected.reduce(0) { $0 + $1.1 } }, timed, label)
                        XCTAssertNotNil(f.values[.deliveryP50], label)
                        XCTAssertGreaterThanOrEqual(f.values[.deliveryP999]!, f.values[.deliveryP999Uncorrected]!, label)
                    }
                    if pattern == .pubsub {
                        XCTAssertNotNil(f.values[.deliveryP999], label)
                        XCTAssertNotNil(f.values[.deliveryP999Uncorrected], label)
                        XCTAssertGreaterThanOrEqual(f.values[.deliveryP999]!, f.values[.deliveryP999Uncorrected]!, label)
                    }
                }
            }
        }
    }

    /// The one-way patterns at a rate time every delivery from the send times in its message: a
    /// stream whose reads split messages (a payload larger than the pipe's buffer) keeps every byte
    /// around the times checked; a datagram's times are checked as part of its header; vmsplice,
    /// whose pipe holds the sender's pages, carries none; a payload too small for them is skipped.
    func testOneWayDeliveriesAreTimedFromTheSendTimesTheyCarry() throws {
        for (kind, size) in [(TransportKind.pipe, 200_000), (.unixStream, 100), (.unixDgram, 32), (.vmsplice, 4096)] {
            var shape = CaseShape(payloadBytes: size)
            shape[.rate] = 20_000
            let label = "\(kind.rawValue) \(size)"
            XCTAssertNil(skipReason(kind, .throughput, shape), label)
            let r = try trial(kind, .throughput, shape, messages: 300)
            XCTAssertEqual(r.workers.map(\.error), ["", ""], label)
            let corrected = makeRoundTripHistogram(r.b.roundTrips), uncorrected = makeRoundTripHistogram(r.b.uncorrected)
            let f = ThroughputPattern.figures(r.workers, shape)
            if kind == .vmsplice {
                XCTAssertEqual(corrected.totalCount, 0, label)
                XCTAssertNil(f.values[.deliveryP50], label)
                continue
            }
            XCTAssertEqual(corrected.totalCount, 300, label)
            XCTAssertEqual(uncorrected.totalCount, 300, label)
            // A message is delivered after it was sent, and sent no earlier than its intended time.
            XCTAssertGreaterThan(uncorrected.min, 0, label)
            XCTAssertGreaterThanOrEqual(corrected.max, uncorrected.max, label)
            XCTAssertGreaterThanOrEqual(corrected.min, uncorrected.min, label)
            XCTAssertEqual(f.values[.deliveryP999Uncorrected], Double(uncorrected.valueAtPercentile(99.9)) / 1000, label)
        }
        var small = CaseShape(payloadBytes: 31)
        small[.rate] = 1000
        XCTAssertTrue(skipReason(.pipe, .throughput, small)?.contains("32 bytes") ?? false)
        XCTAssertNil(skipReason(.pipe, .throughput, CaseShape(payloadBytes: 31)))
    }

    /// Without a rate nothing paces and nothing is reported as paced.
    func testWithoutARateNothingPaces() throws {
        let r = try trial(.pipe, .latency, size: 64, messages: 200)
        XCTAssertEqual(r.workers.map(\.paced), [0, 0])
        XCTAssertTrue(r.a.uncorrected.isEmpty && r.a.overshoots.isEmpty)
        let f = LatencyPattern.figures(r.workers, CaseShape(payloadBytes: 64))
        XCTAssertNil(f.values[.offered])
        XCTAssertNil(f.values[.achieved])
    }

    /// Coordinated omission: the server is stopped (SIGSTOP) for 200 ms of a 3 s ping-pong at 10,000
    /// a second. The client, waiting for its one outstanding reply, sends nothing meanwhile; the
    /// ~2,000 pings due during the stall go late, at once. Timed from their intended sends, they
    /// carry the stall (the corrected p99.9 is most of it); timed from their actual sends, only the
    /// one ping in flight does, one in 30,000, which the p99.9 never sees.
    func testStalledReceiverShowsInTheCorrectedLatencyOnly() throws {
        let stallNs: UInt64 = 200_000_000
        var shape = CaseShape(payloadBytes: 64)
        shape[.rate] = 10_000
        let stopper = Stopper(after: 0.8, for: stallNs)  // well inside the trial's loop, which lasts 3 s
        stopper.start()
        let r = try trial(.pipe, .latency, shape, messages: 30_000)
        stopper.join()
        XCTAssertEqual(r.a.error, "")
        XCTAssertEqual(r.a.messages, 30_000)
        let stoppedAt = try XCTUnwrap(stopper.stoppedAt, "the server was never found to stop")
        // The stall fell inside the client's loop (one clock, CLOCK_MONOTONIC, for every process).
        XCTAssertGreaterThan(stoppedAt, r.a.startNs)
        XCTAssertLessThan(stoppedAt &+ stallNs, r.a.endNs)
        let corrected = makeRoundTripHistogram(r.a.roundTrips)
        let uncorrected = makeRoundTripHistogram(r.a.uncorrected)
        let half = stallNs / 2
        // At least the pings due in the stall's first half waited half of it or more.
        let due = stallNs / 100_000  // one ping every 100 µs
        XCTAssertGreaterThanOrEqual(r.a.late, due / 2)
        XCTAssertGreaterThanOrEqual(count(corrected, atLeast: half), due / 4)  // ~1,000; a quarter leaves room for the signals' delivery
        XCTAssertGreaterThanOrEqual(corrected.valueAtPercentile(99.9), half)
        // From the actual sends: only the ping in flight when it stopped (one at a time) saw the stall.
        XCTAssertLessThanOrEqual(count(uncorrected, atLeast: half), 5)
        XCTAssertLessThan(uncorrected.valueAtPercentile(99.9), half)
        // The figures a case row is made of say the same.
        let f = LatencyPattern.figures(r.workers, shape)
        XCTAssertGreaterThan(f.values[.lateShare]!, 0)
        XCTAssertGreaterThan(makeRoundTripHistogram(f.latencies).valueAtPercentile(99.9),
                             2 * makeRoundTripHistogram(f.uncorrectedLatencies).valueAtPercentile(99.9))
    }

    func count(_ h: Histogram<UInt64>, atLeast ns: UInt64) -> UInt64 {
        h.recordedValues().filter { $0.value >= ns }.reduce(0) { $0 + $1.count }
    }
}

/// Stops the trial's server worker (the child of this process that does not lead its process
/// group: worker 0, the client, leads it) `after` seconds once it exists, for `stallNs`, then lets
/// it go on.
final class Stopper: @unchecked Sendable {
    private let delay: Double
    private let stallNs: UInt64
    private var thread: Thread?
    private let done = DispatchSemaphore(value: 0)
    private(set) var stoppedAt: UInt64?

    init(after delay: Double, for stallNs: UInt64) {
        self.delay = delay
        self.stallNs = stallNs
    }

    func start() {
        let t = Thread { [self] in
            defer { done.signal() }
            let limit = Date().addingTimeInterval(20)
            var server: pid_t?
            while server == nil && Date() < limit {
                server = Self.server()
                if server == nil { usleep(1000) }
            }
            guard let server else { return }
            Thread.sleep(forTimeInterval: delay)
            stoppedAt = monotonicNanoseconds()
            guard kill(server, SIGSTOP) == 0 else { stoppedAt = nil; return }
            var left = timespec(tv_sec: Int(stallNs / 1_000_000_000), tv_nsec: Int(stallNs % 1_000_000_000))
            while true {
                var rest = timespec()
                if nanosleep(&left, &rest) == 0 { break }
                left = rest  // interrupted: sleep the rest, so that the stall is never shorter
            }
            _ = kill(server, SIGCONT)
        }
        thread = t
        t.start()
    }

    func join() { done.wait() }

    /// The child of this process whose process group is another's.
    static func server() -> pid_t? {
        let me = getpid()
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for name in entries {
            guard let pid = pid_t(name), let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            // After "pid (comm)": state, ppid, pgrp, ...
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 3, pid_t(fields[1]) == me, let group = pid_t(fields[2]), group != pid else { continue }
            return pid
        }
        return nil
    }
}
