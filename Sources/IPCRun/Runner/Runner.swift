import Histogram
import IPCPlatform
import IPCModel

/// What the runner tells whoever shows progress.
public struct Progress: Sendable {
    /// 1-based count of the trial about to run, over the whole run (warmup trials included).
    public let trial: Int
    public let trialCount: Int
    /// "calibrating", "round 2 of 5", or for the sequential schedule "case 3 of 58".
    public let stage: String
    public let caseName: String
}

/// Runs a plan of cases on a schedule, writing each trial through `onTrial` the moment it ends and
/// each case through `onCase` once it is complete (interleaved: at the end of the last round).
/// Single-threaded: it forks, and fork is only safe with one thread.
public final class Runner {
    private let cases: [BenchCase]
    private let cpus: [Int]
    public let schedule: Schedule
    public let seed: UInt64

    public init(cases: [BenchCase], schedule: Schedule = .interleaved, seed: UInt64 = randomSeed(),
                allowedCPUs: [Int] = allowedCPUs()) {
        self.cases = cases
        self.schedule = schedule
        self.seed = seed
        self.cpus = allowedCPUs
    }

    /// Runs every case with its FIFOs and socket files in `directory`. Throws `RunStopped` on SIGINT,
    /// SIGTERM or SIGHUP after the workers are killed and every case not yet handed to `onCase` has
    /// been handed over with status `stopped` (or its own failed/skipped status), so nothing measured
    /// is lost. An error thrown by `onTrial` or `onCase` (a write error) ends the run at once.
    public func run(in directory: String, onTrial: (CaseResult, TrialRecord) throws -> Void,
                    onCase: (CaseResult) throws -> Void, progress: (Progress) -> Void = { _ in }) throws {
        installStopHandlers()
        raiseDescriptorLimit()
        let start = monotonicNanoseconds()
        var states = cases.map { CaseState($0, schedule: schedule, seed: seed, cpus: cpus) }
        var handed = [Bool](repeating: false, count: cases.count)
        let trialCount = states.reduce(0) { $0 + $1.trialsLeft }
        var trialIndex = 0

        func trial(_ i: Int, round: Int?, stage: String) throws {
            trialIndex += 1
            progress(Progress(trial: trialIndex, trialCount: trialCount, stage: stage, caseName: cases[i].name))
            if let record = try states[i].runNextTrial(round: round, directory: directory, runStartNs: start) {
                try onTrial(states[i].result, record)
            }
        }
        func hand(_ i: Int) throws {
            handed[i] = true
            try onCase(states[i].finished())
        }

        do {
            try checkStopSignal()
            switch schedule {
            case .sequential:
                for i in states.indices {
                    while states[i].trialsLeft > 0 {
                        try trial(i, round: nil, stage: "case \(i + 1) of \(cases.count)")
                    }
                    try hand(i)
                }
            case .interleaved:
                for i in states.indices {
                    while states[i].warmupsLeft > 0 { try trial(i, round: nil, stage: "calibrating") }
                }
                var generator = SeededGenerator(seed: seed)
                let rounds = states.map(\.benchCase.repetitions).max() ?? 0
                for round in 1...max(rounds, 1) {
                    var order = states.indices.filter { states[$0].trialsLeft > 0 }
                    generator.shuffle(&order)
                    for i in order { try trial(i, round: round, stage: "round \(round) of \(rounds)") }
                }
                for i in states.indices { try hand(i) }
            }
        } catch let stop as RunStopped {
            for i in states.indices where !handed[i] {
                states[i].stop()
                try hand(i)
            }
            throw stop
        }
    }
}

/// One case while its trials run: the calibrated work and what the measured trials gave so far.
package struct CaseState {
    private(set) var result: CaseResult
    package var benchCase: BenchCase { result.benchCase }
    private var work: LoopWork
    private let topology: Topology
    private var asked: [Int?] = []
    private var histogram = makeRoundTripHistogram()
    /// At an offered rate: the measured trials' latencies from the actual sends (uncorrected).
    private var uncorrected = makeRoundTripHistogram()
    private var warnings: [String] = []
    /// Trials run so far, warmup included.
    private var trialsRun = 0

    package init(_ c: BenchCase, schedule: Schedule, seed: UInt64, cpus: [Int]) {
        result = CaseResult(c, status: .ok, error: "")
        result.schedule = schedule
        result.seed = seed
        work = LoopWork(payloadBytes: c.payloadBytes, messages: c.messages, verify: c.verify, depth: c.shape.depth)
        topology = c.pattern.implementation.topology(c.shape)
        if let failure = c.transport.probeFailure() {
            result.status = .failed
            result.error = failure
            return
        }
        if let reason = c.skipReason() {
            result.status = .skipped
            result.error = reason
            return
        }
        do {
            asked = try c.placement.cpus(workers: topology.roles.count, allowed: cpus)
        } catch {
            result.status = .failed
            result.error = "\(error)"
        }
    }

    /// Trials still to run; 0 once the case is skipped, failed or complete.
    package var trialsLeft: Int { result.status == .ok ? benchCase.warmup + benchCase.repetitions - trialsRun : 0 }
    package var warmupsLeft: Int { result.status == .ok ? max(benchCase.warmup - trialsRun, 0) : 0 }

    /// Runs the next trial. Returns its record when it was a measured trial. Any error inside the
    /// trial fails the case (and only the case); a stop signal ends the run.
    package mutating func runNextTrial(round: Int?, directory: String, runStartNs: UInt64) throws -> TrialRecord? {
        let c = benchCase
        let trial = trialsRun + 1
        let startNs = monotonicNanoseconds() &- runStartNs
        let reports: TrialReports
        do {
            reports = try runTrial(transport: c.transport, options: c.transportOptions, pattern: c.pattern,
                                   shape: c.shape, work: work, cpus: asked, directory: directory, timeoutNs: c.timeoutNs,
                                   workers: c.workers)
        } catch let stop as RunStopped {
            throw stop  // the trial did not happen: the case is cut short, not failed
        } catch {
            trialsRun = trial
            result.status = .failed
            result.error = "trial \(trial) of \(c.warmup + c.repetitions): \(error)"
            return nil
        }
        trialsRun = trial
        let figures = c.pattern.implementation.figures(reports.workers, c.shape)
        let durationNs = figures.durationNs
        if trial <= c.warmup {
            // Calibration: the last warmup trial sets how much each measured trial moves.
            if trial == c.warmup && !figures.latencies.isEmpty {
                // Where requests may be lost, how long one waits for its reply (`replyTimeout`).
                work.replyTimeoutNs = replyTimeout(warmupP99Ns: makeRoundTripHistogram(figures.latencies).valueAtPercentile(99))
            }
            if trial == c.warmup && c.minTrialNs > 0 && durationNs > 0 && durationNs < c.minTrialNs {
                let factor = Int(min((c.minTrialNs + durationNs - 1) / durationNs, 10_000))
                work.messages = saturatingProduct(c.messages, factor)
                result.messagesPerTrial = work.messages
                result.bytesPerTrial = saturatingProduct(work.messages, c.payloadBytes)
            }
            return nil
        }
        var record = TrialRecord(trial: trial - c.warmup, durationNs: durationNs, bytes: figures.bytes, messages: figures.messages)
        record.round = round
        record.startNs = startNs
        var trialHistogram: Histogram<UInt64>? = nil
        if !figures.latencies.isEmpty {
            let h = makeRoundTripHistogram(figures.latencies)
            histogram.add(h)
            trialHistogram = h
        }
        if !figures.uncorrectedLatencies.isEmpty { uncorrected.add(makeRoundTripHistogram(figures.uncorrectedLatencies)) }
        for metric in Metric.all {
            record.values[metric] = metric.value(figures, reports.workers, roundTrips: trialHistogram)
        }
        result.trials.append(record)
        result.measuredMessages &+= figures.messages
        var allocated: UInt64 = 0
        for report in reports.workers {
            result.usage = result.usage + report.usage
            allocated &+= report.allocatedBytes
            result.peersRejected &+= report.rejected
        }
        result.allocatedBytesInLoop = max(result.allocatedBytesInLoop ?? 0, allocated)
        if c.transport.isDatagram, let got = figures.datagrams {
            var d = result.datagrams ?? DatagramCounts()
            d.sent &+= got.sent
            d.received &+= got.received
            d.lost &+= got.lost
            d.reordered &+= got.reordered
            d.duplicated &+= got.duplicated
            result.datagrams = d
        }
        if result.knobsInForce == nil { result.knobsInForce = reports.workers[0].knobsInForce }
        result.cpuPlacement = "\(c.placement.mode):" + reports.workers.map { String($0.cpu) }.joined(separator: ",")
        for (index, report) in reports.workers.enumerated() {
            if let want = asked[index], Int64(want) != report.cpu {
                let warning = "\(topology.roles[index]) ran on CPU \(report.cpu), not CPU \(want) as asked"
                if !warnings.contains(warning) { warnings.append(warning) }
            }
        }
        return record
    }

    /// Marks a case that a stop signal cut short; a failed or skipped case keeps its status.
    package mutating func stop() {
        guard result.status == .ok, trialsLeft > 0 else { return }
        result.status = .stopped
        warnings.insert("stopped after \(result.trials.count) of \(benchCase.repetitions) measured trials", at: 0)
    }

    /// The case row: the summary of whatever measured trials it got.
    package func finished() -> CaseResult {
        var r = result
        if r.status == .ok, benchCase.transport.semantics == .lossyMessages,
           benchCase.pattern.implementation.requirements(benchCase.shape).numberedWhereLost != nil,
           let d = r.datagrams, let why = tooManyLost(d) {
            r.status = .failed
            r.error = why
            return r
        }
        guard r.status == .ok || r.status == .stopped else { return r }
        r.error = warnings.joined(separator: "; ")
        if histogram.totalCount > 0 { r.roundTrips = RoundTripSummary(histogram) }
        if uncorrected.totalCount > 0 { r.uncorrectedP999 = Double(uncorrected.valueAtPercentile(99.9)) / 1000 }
        for metric in Metric.all {
            r.summaries[metric] = Summary(r.trials.compactMap { $0.value(of: metric) })
        }
        return r
    }
}
