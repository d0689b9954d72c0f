import Histogram
import IPCPlatform

/// One measured trial, as the trials file records it.
public struct TrialRecord: Sendable, Equatable {
    public var trial: Int
    public var durationNs: UInt64
    public var bytes: UInt64
    public var messages: UInt64
    /// Its value of each metric it has (`Metric.all` lists them).
    public var values: [Metric: Double] = [:]
    /// The round it ran in (interleaved schedule); nil for the sequential schedule.
    public var round: Int?
    /// When it started, in ns since the run started (the runner's CLOCK_MONOTONIC).
    public var startNs: UInt64 = 0

    public init(trial: Int, durationNs: UInt64, bytes: UInt64, messages: UInt64, values: [Metric: Double] = [:],
                round: Int? = nil, startNs: UInt64 = 0) {
        self.trial = trial
        self.durationNs = durationNs
        self.bytes = bytes
        self.messages = messages
        self.values = values
        self.round = round
        self.startNs = startNs
    }

    /// The trial's figure for `metric` (its trials-file column), nil where the trial has none.
    public func value(of metric: Metric) -> Double? { values[metric] }
}

/// How a case ended.
public enum CaseStatus: String, Sendable {
    case ok
    case skipped
    case failed
    /// A stop signal ended the run before the case had all its trials; the row sums up those it got.
    case stopped
}

/// Round-trip times of a case, in microseconds, from the HDR histogram of all measured trials.
public struct RoundTripSummary: Sendable, Equatable {
    public var min, p50, p90, p99, p999, max, mean, stddev: Double

    package init(_ h: Histogram<UInt64>) {
        let us = { (ns: UInt64) in Double(ns) / 1000 }
        min = us(h.min)
        p50 = us(h.valueAtPercentile(50))
        p90 = us(h.valueAtPercentile(90))
        p99 = us(h.valueAtPercentile(99))
        p999 = us(h.valueAtPercentile(99.9))
        max = us(h.max)
        mean = h.mean / 1000
        stddev = h.stdDeviation / 1000
    }
}

/// Everything one row of the results file says about a case.
public struct CaseResult: Sendable {
    public var benchCase: BenchCase
    public var status: CaseStatus
    /// Why it failed or was skipped; for an ok case, warnings (for example a worker off its CPU).
    public var error: String
    /// What one measured trial moved, after calibration.
    public var messagesPerTrial: Int
    public var bytesPerTrial: Int
    /// `mode:A,B` with the CPUs the workers were on when their loops ended.
    public var cpuPlacement: String
    public var trials: [TrialRecord] = []
    /// Per metric, the summary of the measured trials' values (metrics no trial has are absent).
    public var summaries: [Metric: Summary] = [:]
    public var roundTrips: RoundTripSummary?
    /// At an offered rate: the 99.9th percentile of the round trips timed from the actual sends
    /// (uncorrected), µs; the round trips above are timed from the intended ones.
    public var uncorrectedP999: Double?
    /// Both workers' getrusage deltas over the measured trials' loops, summed.
    public var usage = ResourceUsage()
    /// Messages (or round trips) over the measured trials, the denominator of the per-message columns.
    public var measuredMessages: UInt64 = 0
    public var datagrams: DatagramCounts?
    /// The largest allocation count any measured trial's loops made (both workers summed).
    public var allocatedBytesInLoop: UInt64?
    /// Connections and datagrams from strangers that the workers refused, over the measured trials.
    public var peersRejected: UInt64 = 0
    /// The knobs in force, as the first measured trial's sending worker read them back.
    public var knobsInForce: TransportKnobs?
    public var schedule = Schedule.interleaved
    /// The seed of the interleaved rounds' order; the same on every row of a run.
    public var seed: UInt64 = 0

    /// The knobs the files record: those in force once a trial has run, else those asked for.
    public var knobs: TransportKnobs { knobsInForce ?? benchCase.knobs }

    /// The options column, made from the typed settings.
    public var optionsLabel: String {
        IPCModel.optionsLabel(workers: benchCase.workers, noDelay: benchCase.transportOptions.noDelay, knobs: knobs)
    }

    package init(_ benchCase: BenchCase, status: CaseStatus, error: String) {
        self.benchCase = benchCase
        self.status = status
        self.error = error
        messagesPerTrial = benchCase.messages
        bytesPerTrial = saturatingProduct(benchCase.messages, benchCase.payloadBytes)
        cpuPlacement = benchCase.placement.mode
    }
}
