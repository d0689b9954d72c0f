import Glibc
import Histogram
import IPCPlatform
import IPCModel

// An offered rate (`--rate R`): a sender sends message i at its intended time t0 + i/R, on the
// clock the harness already uses (CLOCK_MONOTONIC), and never sleeps: it reads the clock until the
// time has come, giving the CPU to a runnable peer (sched_yield) while the time is still far, so
// that two workers on one CPU both make progress. How far past its time each send it waited for
// went out is measured (the overshoot). A send whose time had passed before the sender got to it
// is late: it goes at once, in order. Latency is then taken from the intended time (corrected for
// coordinated omission: a stall delays every message that was due during it) and from the actual
// send (uncorrected, for comparison).

/// A sender's schedule at an offered rate, or (`on` false) none. Allocates only in `init`. A class,
/// so that the timed loop changes its histogram in place, and never optional, so that a loop built
/// for debugging instantiates no generic type at run time (which allocates).
package final class Pacer {
    /// The sender keeps a schedule; otherwise it sends as fast as the path goes and nothing here is used.
    package let on: Bool
    /// Nanoseconds between two intended sends.
    private let intervalNs: Double
    /// t0: the intended time of message 0.
    private(set) var startNs: UInt64 = 0
    /// Messages released so far (0..<released may go).
    private var released: UInt64 = 0
    /// The sender looked at message `released` before its time and waits for it.
    private var waiting = true
    /// Messages whose time had passed when the sender got to them.
    private(set) var late: UInt64 = 0
    /// How long after its intended time each send that waited for its time was released, ns.
    private(set) var overshoot: Histogram<UInt64>

    /// A schedule of `rate` messages a second; nil: none.
    package init(rate: Int?) {
        on = rate != nil
        intervalNs = 1e9 / Double(rate ?? 1)
        overshoot = on ? makeRoundTripHistogram() : Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 2, numberOfSignificantValueDigits: .one)
    }

    /// Starts the schedule at `now`: message 0 is due now, and on time.
    package func start(_ now: UInt64) {
        startNs = now
        released = 0
        waiting = true
    }

    /// Message `i`'s intended time: t0 + i/R.
    @inline(__always)
    package func intended(_ i: UInt64) -> UInt64 { startNs &+ UInt64(Double(i) * intervalNs) }

    /// True when message `i` may go at `now`. The first look at a message whose time has already
    /// passed counts it late; a message looked at before its time is on time, and its overshoot is
    /// recorded when it is released.
    @inline(__always)
    package func release(_ i: UInt64, now: UInt64) -> Bool {
        if i < released { return true }
        let due = intended(i)
        if now < due {
            waiting = true
            return false
        }
        if waiting { _ = overshoot.record(now &- due) } else { late &+= 1 }
        waiting = false
        released = i &+ 1
        return true
    }

    /// Waits on the clock until message `i` may go; returns its intended time.
    @inline(__always)
    package func wait(_ i: UInt64) -> UInt64 {
        while true {
            let now = monotonicNanoseconds()
            if release(i, now: now) { return intended(i) }
            // Far from its time: let a runnable peer on this CPU have it (returns at once when none).
            if intended(i) &- now > yieldAboveNs { yieldProcessor() }
        }
    }

    /// The pacing figures a loop reports: messages sent at the rate and how many of them were late.
    package func report(_ result: inout LoopResult) {
        result.paced = released
        result.late = late
    }
}

/// Below this much time before a send, the pacer reads the clock without yielding.
private let yieldAboveNs: UInt64 = 5_000

extension LoopWork {
    /// The offered rate of each sender, messages a second; nil: as fast as the path goes.
    public var rate: Int? { shape.rate }
    /// How the workers wait for data to read.
    public var wait: WaitMode { shape.wait ?? .auto }

    /// A schedule for a sender at the case's rate (off without one).
    package func makePacer() -> Pacer { Pacer(rate: rate) }

    /// At a rate, the one-way senders (throughput, fanout, pairs) write each message's send times
    /// into it and the receivers time each delivery from them (not where `messagesCarryTimes` is false).
    package var stampsSendTimes: Bool { rate != nil && messagesCarryTimes }
}

// One-way messages at a rate: the sender writes each message's intended and actual send times
// (CLOCK_MONOTONIC ns, one clock for every process of the host) at bytes 16..<32, after the trial key
// and sequence number on message transports and in place of those pattern bytes on a stream; the
// receiver times the message's delivery (its last byte) from each.
package let sendTimesOffset = 16
package let sendTimesHeaderBytes = 32

@inline(__always)
package func stampSendTimes(_ message: UnsafeMutableRawPointer, intended: UInt64, actual: UInt64) {
    message.storeBytes(of: intended.littleEndian, toByteOffset: sendTimesOffset, as: UInt64.self)
    message.storeBytes(of: actual.littleEndian, toByteOffset: sendTimesOffset + 8, as: UInt64.self)
}

/// Puts back the pattern bytes a stream sender's send times replaced in `message`, which starts at
/// pattern phase `phase` of its buffer.
@inline(__always)
package func unstampSendTimes(_ message: UnsafeMutableRawPointer, phase: Int) {
    for i in sendTimesOffset..<sendTimesHeaderBytes { message.storeBytes(of: patternByte(phase + i), toByteOffset: i, as: UInt8.self) }
}

/// A one-way receiver's delivery latencies at a rate, from each message's intended send (corrected)
/// and actual send (uncorrected), or (`on` false) none. Allocates only in `init`; a class, like `Pacer`.
package final class DeliveryLatencies {
    package let on: Bool
    private(set) var corrected: Histogram<UInt64>
    private(set) var uncorrected: Histogram<UInt64>

    package init(_ on: Bool) {
        self.on = on
        let off = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 2, numberOfSignificantValueDigits: .one)
        corrected = on ? makeRoundTripHistogram() : off
        uncorrected = on ? makeRoundTripHistogram() : off
    }

    /// Records the delivery at `now` of a message whose send times are the 16 bytes at `times`:
    /// 0, or the value the histograms cannot hold.
    @inline(__always)
    package func record(_ times: UnsafeRawPointer, now: UInt64) -> UInt64 {
        let intended = UInt64(littleEndian: times.loadUnaligned(as: UInt64.self))
        let actual = UInt64(littleEndian: times.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        let fromIntended = now &- min(intended, now), fromActual = now &- min(actual, now)
        if !corrected.record(fromIntended) { return max(fromIntended, 1) }
        if !uncorrected.record(fromActual) { return max(fromActual, 1) }
        return 0
    }

    package func correctedPairs() -> [(UInt64, UInt64)] { on ? recordedPairs(corrected) : [] }
    package func uncorrectedPairs() -> [(UInt64, UInt64)] { on ? recordedPairs(uncorrected) : [] }
}

/// One-way patterns at a rate: every delivery's latency from its intended send, p50, p99 and p99.9
/// (corrected), and from its actual send, p99.9 (uncorrected), in pubsub's delivery columns.
package func addDeliveryFigures(_ f: inout TrialFigures, _ shape: CaseShape, receivers: [WorkerReport]) {
    guard shape.rate != nil else { return }
    let corrected = makeRoundTripHistogram(receivers.flatMap(\.roundTrips))
    if corrected.totalCount > 0 {
        f.values[.deliveryP50] = Double(corrected.valueAtPercentile(50)) / 1000
        f.values[.deliveryP99] = Double(corrected.valueAtPercentile(99)) / 1000
        f.values[.deliveryP999] = Double(corrected.valueAtPercentile(99.9)) / 1000
    }
    let uncorrected = makeRoundTripHistogram(receivers.flatMap(\.uncorrected))
    if uncorrected.totalCount > 0 { f.values[.deliveryP999Uncorrected] = Double(uncorrected.valueAtPercentile(99.9)) / 1000 }
}

/// The figures of a trial at an offered rate: what was offered (each sender's rate, all of them
/// together), what was achieved (`achieved` messages over the trial's duration), the share of sends
/// that were late and the 99th percentile of the pacer's overshoot; and, where the pattern timed
/// each message, the uncorrected latencies beside the corrected ones.
package func addPacingFigures(_ f: inout TrialFigures, _ shape: CaseShape, senders: [WorkerReport], achieved: Double) {
    guard let rate = shape.rate else { return }
    f.values[.offered] = Double(rate) * Double(senders.count)
    f.values[.achieved] = f.durationNs > 0 ? achieved / (Double(f.durationNs) / 1e9) : 0
    let paced = senders.reduce(UInt64(0)) { $0 &+ $1.paced }
    let late = senders.reduce(UInt64(0)) { $0 &+ $1.late }
    f.values[.lateShare] = paced > 0 ? Double(late) / Double(paced) : 0
    let overshoot = makeRoundTripHistogram(senders.flatMap(\.overshoots))
    if overshoot.totalCount > 0 { f.values[.overshootP99] = Double(overshoot.valueAtPercentile(99)) / 1000 }
    f.uncorrectedLatencies = senders.flatMap(\.uncorrected)
}
