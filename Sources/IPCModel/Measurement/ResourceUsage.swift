import IPCPlatform

/// getrusage figures that matter per message: CPU time and context switches, of the process
/// (RUSAGE_SELF) or, for a worker that is a thread, of the thread (RUSAGE_THREAD).
public struct ResourceUsage: Sendable, Equatable {
    public var userMicroseconds: UInt64 = 0
    public var systemMicroseconds: UInt64 = 0
    public var voluntarySwitches: UInt64 = 0
    public var involuntarySwitches: UInt64 = 0

    public init() {}

    @inline(__always)
    public static func now(thread: Bool = false) -> ResourceUsage {
        let usage = resourceUsage(threadOnly: thread)
        var r = ResourceUsage()
        r.userMicroseconds = UInt64(usage.ru_utime.tv_sec) * 1_000_000 + UInt64(usage.ru_utime.tv_usec)
        r.systemMicroseconds = UInt64(usage.ru_stime.tv_sec) * 1_000_000 + UInt64(usage.ru_stime.tv_usec)
        r.voluntarySwitches = UInt64(usage.ru_nvcsw)
        r.involuntarySwitches = UInt64(usage.ru_nivcsw)
        return r
    }

    public static func - (a: ResourceUsage, b: ResourceUsage) -> ResourceUsage {
        var r = ResourceUsage()
        r.userMicroseconds = a.userMicroseconds &- b.userMicroseconds
        r.systemMicroseconds = a.systemMicroseconds &- b.systemMicroseconds
        r.voluntarySwitches = a.voluntarySwitches &- b.voluntarySwitches
        r.involuntarySwitches = a.involuntarySwitches &- b.involuntarySwitches
        return r
    }

    public static func + (a: ResourceUsage, b: ResourceUsage) -> ResourceUsage {
        var r = ResourceUsage()
        r.userMicroseconds = a.userMicroseconds + b.userMicroseconds
        r.systemMicroseconds = a.systemMicroseconds + b.systemMicroseconds
        r.voluntarySwitches = a.voluntarySwitches + b.voluntarySwitches
        r.involuntarySwitches = a.involuntarySwitches + b.involuntarySwitches
        return r
    }
}
