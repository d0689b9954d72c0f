import Histogram
import IPCPlatform

/// A figure ipcbench measures per trial and sums up per case: its name (as compare writes it), its
/// unit, its columns, which way is better and how a trial's value is taken. The trials and case
/// files, the runner, compare, pivot, the run table and the scripts (through `ipcbench list --format
/// csv`) all read these definitions.
///
/// A new metric is its definition here (a `static let` and a place in `all`) and, where the pattern
/// computes it, a line in the pattern's `figures` and its `metrics`; one every pattern has goes in
/// `everyPattern` instead.
public struct Metric: Hashable, Sendable, CustomStringConvertible {
    public let name: String
    public let unit: String
    /// Its column in the trials file: the trial's value.
    public let trialColumn: String
    /// Its column in the case file: the median of the trials' values, or for the round-trip
    /// percentiles that percentile of all the case's round trips.
    public let caseColumn: String
    public let higherIsBetter: Bool
    /// The minor version (0.N.0) whose files first carry it; the trials file orders columns by it.
    package let version: Int
    package let places: Int
    package let source: Source

    /// How the case row sums up the trials' values.
    package enum Source: Sendable {
        /// The pattern's `figures` set it; the case file has its median (`<trial column>_median`).
        case pattern
        /// As `pattern`, and the case file also has its 95% interval, mean, stddev, min and max.
        case patternWithSpread
        /// A percentile of the trial's round trips; the case file's round-trip columns hold it.
        case roundTripPercentile(Double)
        /// All the workers' CPU time (user and system) per message; the case file has its median.
        case cpuPerMessage
    }

    package init(_ name: String, unit: String, trialColumn: String, caseColumn: String? = nil, higherIsBetter: Bool,
         version: Int, places: Int = 3, source: Source = .pattern) {
        self.name = name
        self.unit = unit
        self.trialColumn = trialColumn
        self.caseColumn = caseColumn ?? trialColumn + "_median"
        self.higherIsBetter = higherIsBetter
        self.version = version
        self.places = places
        self.source = source
    }

    public static let throughput = Metric("MiB/s", unit: "MiB/s", trialColumn: "mib_per_s", higherIsBetter: true, version: 1, source: .patternWithSpread)
    public static let rttP50 = Metric("RTT p50 us", unit: "us", trialColumn: "rtt_us_p50", caseColumn: "rtt_us_p50", higherIsBetter: false,
                                      version: 1, source: .roundTripPercentile(50))
    public static let rttP99 = Metric("RTT p99 us", unit: "us", trialColumn: "rtt_us_p99", caseColumn: "rtt_us_p99", higherIsBetter: false,
                                      version: 1, source: .roundTripPercentile(99))
    public static let messagesPerSecond = Metric("msgs/s", unit: "messages/s", trialColumn: "msgs_per_s", higherIsBetter: true, version: 2, places: 0)
    /// fanout and pairs: the slowest receiver's (or pair's) MiB/s.
    public static let slowest = Metric("slowest MiB/s", unit: "MiB/s", trialColumn: "mib_per_s_slowest", higherIsBetter: true, version: 2)
    /// duplex: each direction on its own (worker 0 to 1, and 1 to 0).
    public static let forward = Metric("forward MiB/s", unit: "MiB/s", trialColumn: "mib_per_s_forward", higherIsBetter: true, version: 3)
    public static let backward = Metric("backward MiB/s", unit: "MiB/s", trialColumn: "mib_per_s_backward", higherIsBetter: true, version: 3)
    /// pubsub: publish-to-delivery latency percentiles over every delivery of the trial.
    public static let deliveryP50 = Metric("delivery p50 us", unit: "us", trialColumn: "delivery_us_p50", higherIsBetter: false, version: 3)
    public static let deliveryP99 = Metric("delivery p99 us", unit: "us", trialColumn: "delivery_us_p99", higherIsBetter: false, version: 3)
    /// The kernel's and the loops' CPU cost of a message (netperf's service demand): every worker's
    /// user and system time over the trial, per message, round trip or request.
    public static let cpuPerMessage = Metric("CPU us/msg", unit: "us per message", trialColumn: "cpu_us_per_msg", higherIsBetter: false,
                                             version: 3, places: 4, source: .cpuPerMessage)

    /// At an offered rate (`--rate`): the messages a second all the senders together were asked to
    /// send (the case file holds it as is: every trial offers the same).
    public static let offered = Metric("offered msgs/s", unit: "messages/s", trialColumn: "offered_msgs_per_s", caseColumn: "offered_msgs_per_s",
                                       higherIsBetter: true, version: 4, places: 0)
    /// At an offered rate: the messages that got through (delivered, acknowledged or answered; for
    /// fanout and pubsub counted once per message sent) per second of the trial.
    public static let achieved = Metric("achieved msgs/s", unit: "messages/s", trialColumn: "achieved_msgs_per_s", higherIsBetter: true,
                                        version: 4, places: 0)
    /// At an offered rate: the share of the sends whose intended time had passed when the sender got to them.
    public static let lateShare = Metric("late share", unit: "share of sends", trialColumn: "late_share", caseColumn: "late_share",
                                         higherIsBetter: false, version: 4, places: 4)
    /// At an offered rate: the 99th percentile of how long after its intended time a send that
    /// waited for its time went out (the pacing's own error).
    public static let overshootP99 = Metric("pacing overshoot p99 us", unit: "us", trialColumn: "pacing_overshoot_us_p99",
                                            caseColumn: "pacing_overshoot_us_p99", higherIsBetter: false, version: 4)
    /// pubsub: the 99.9th percentile of publish-to-delivery, and at an offered rate the same from
    /// the actual send instead of the intended one (uncorrected).
    public static let deliveryP999 = Metric("delivery p99.9 us", unit: "us", trialColumn: "delivery_us_p999", higherIsBetter: false, version: 4)
    public static let deliveryP999Uncorrected = Metric("delivery p99.9 uncorrected us", unit: "us", trialColumn: "delivery_us_p999_uncorrected",
                                                       higherIsBetter: false, version: 4)

    /// Every metric, each once, in the order of their columns.
    public static let all: [Metric] = [.throughput, .rttP50, .rttP99, .messagesPerSecond, .slowest, .forward, .backward, .cpuPerMessage,
                                       .deliveryP50, .deliveryP99, .offered, .achieved, .lateShare, .overshootP99, .deliveryP999,
                                       .deliveryP999Uncorrected]

    /// The metrics every pattern has, after its own.
    package static let everyPattern: [Metric] = [.cpuPerMessage]

    /// The metrics of the pattern named in a results file; none for a name this version does not know.
    package static func of(pattern: String) -> [Metric] { PatternKind(rawValue: pattern)?.metrics ?? [] }

    /// Its value in one trial, from what the pattern made of the workers' reports.
    package func value(_ figures: TrialFigures, _ reports: [WorkerReport], roundTrips: Histogram<UInt64>?) -> Double? {
        switch source {
        case .pattern, .patternWithSpread:
            return figures.values[self]
        case .roundTripPercentile(let p):
            guard let h = roundTrips, h.totalCount > 0 else { return nil }
            return Double(h.valueAtPercentile(p)) / 1000
        case .cpuPerMessage:
            guard figures.messages > 0 else { return nil }
            let us = reports.reduce(UInt64(0)) { $0 &+ $1.usage.userMicroseconds &+ $1.usage.systemMicroseconds }
            return Double(us) / Double(figures.messages)
        }
    }

    /// The case file's columns that sum up its trials' values, each with the statistic it holds
    /// (none for the round-trip percentiles, whose columns the round-trip group holds).
    package var summaryColumns: [(column: String, statistic: @Sendable (Summary) -> Double)] {
        switch source {
        case .patternWithSpread:
            let statistics: [(String, @Sendable (Summary) -> Double)] = [
                ("median", { $0.median }), ("ci95_low", { $0.ci95Low }), ("ci95_high", { $0.ci95High }), ("mean", { $0.mean }),
                ("stddev", { $0.standardDeviation }), ("min", { $0.min }), ("max", { $0.max }),
            ]
            return statistics.map { (trialColumn + "_" + $0.0, $0.1) }
        case .pattern, .cpuPerMessage: return [(caseColumn, { $0.median })]
        case .roundTripPercentile: return []
        }
    }

    package func text(_ value: Double?) -> String { value.map { formatDecimal($0, places: places) } ?? "" }

    public var description: String { name }

    public static func == (a: Metric, b: Metric) -> Bool { a.trialColumn == b.trialColumn }
    public func hash(into hasher: inout Hasher) { hasher.combine(trialColumn) }
}

/// `ipcbench list --format csv`: the columns of the table of each pattern's metrics.
public let metricTableColumns = ["pattern", "parameter", "metric", "unit", "higher_is_better", "trial_column", "case_column"]

/// A row per pattern and metric, each pattern's main metric first: what the scripts plot and colour.
public func metricTable() -> [[String]] {
    PatternKind.allCases.flatMap { p in
        p.metrics.map { m in
            [p.rawValue, p.parameters.map(\.rawValue).joined(separator: " "), m.name, m.unit, m.higherIsBetter ? "true" : "false", m.trialColumn, m.caseColumn]
        }
    }
}
