import IPCPlatform

/// What one worker sends the runner after its timed loop.
package struct WorkerReport {
    /// Empty when the worker did its part.
    package var error = ""
    package var startNs: UInt64 = 0
    package var endNs: UInt64 = 0
    package var bytes: UInt64 = 0
    package var messages: UInt64 = 0
    package var datagrams = DatagramCounts()
    /// Connections and datagrams from strangers this worker refused, in set-up and in its loop.
    package var rejected: UInt64 = 0
    /// Bytes jemalloc handed this thread between the loop's start and end: must be 0.
    package var allocatedBytes: UInt64 = 0
    package var usage = ResourceUsage()
    /// The CPU the worker ran on when its loop ended.
    package var cpu: Int64 = -1
    package var roundTrips: [(UInt64, UInt64)] = []
    /// At an offered rate: the round trips from the actual sends, and the pacer's overshoots.
    package var uncorrected: [(UInt64, UInt64)] = []
    package var overshoots: [(UInt64, UInt64)] = []
    /// At an offered rate: messages the sender's schedule released, and how many went late.
    package var paced: UInt64 = 0
    package var late: UInt64 = 0
    /// The knobs its endpoints put in force, as the kernel reports them back; typed all the way to
    /// the files' setting columns.
    package var knobsInForce = TransportKnobs()

    /// The counters, in the order the codec writes them: one list for both directions.
    package static var counters: [WritableKeyPath<WorkerReport, UInt64>] {
        [\.startNs, \.endNs, \.bytes, \.messages, \.datagrams.sent, \.datagrams.received, \.datagrams.lost,
         \.datagrams.reordered, \.datagrams.duplicated, \.rejected, \.allocatedBytes, \.usage.userMicroseconds,
         \.usage.systemMicroseconds, \.usage.voluntarySwitches, \.usage.involuntarySwitches, \.paced, \.late]
    }
    package init() {}
}
