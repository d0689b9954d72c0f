import Glibc

/// CLOCK_MONOTONIC in nanoseconds: one clock for every process on this machine, so a sender's
/// start and a receiver's end can be subtracted.
@inlinable @inline(__always)
public func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

/// The cost of one clock read: the median gap between back-to-back reads, in nanoseconds.
public func measureClockOverhead(samples: Int = 10_001) -> Double {
    var gaps = [UInt64](repeating: 0, count: samples)
    for i in 0..<samples {
        let t0 = monotonicNanoseconds()
        let t1 = monotonicNanoseconds()
        gaps[i] = t1 &- t0
    }
    gaps.sort()
    return Double(gaps[samples / 2])
}
