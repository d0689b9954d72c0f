import CShims
import Glibc
import Histogram

/// What the runner tells whoever shows progress.
public struct Progress: Sendable {
    public let caseIndex: Int
    public let caseCount: Int
    public let caseName: String
    /// 1-based, warmup trials first.
    public let trial: Int
    public let trialCount: Int
}

/// Runs cases one after another and hands each finished case to `onCase` at once, so that a run
/// that dies later keeps it. Single-threaded: it forks, and fork is only safe with one thread.
public final class Runner {
    private let cases: [BenchCase]
    private let cpus: [Int]

    public init(cases: [BenchCase], allowedCPUs: [Int] = allowedCPUs()) {
        self.cases = cases
        self.cpus = allowedCPUs
    }

    /// Throws `RunStopped` on SIGINT, SIGTERM or SIGHUP, after killing the workers and removing
    /// the run's directory. Cases already handed to `onCase` are kept by the caller.
    public func run(onCase: (CaseResult) throws -> Void, progress: (Progress) -> Void = { _ in }) throws {
        cshim_install_stop_handlers()
        let directory = try RunDirectory()
        defer { directory.remove() }
        for (index, benchCase) in cases.enumerated() {
            try checkStopSignal()
            let result = try runCase(benchCase, directory: directory.path) { trial, count in
                progress(Progress(caseIndex: index + 1, caseCount: cases.count, caseName: benchCase.name,
                                  trial: trial, trialCount: count))
            }
            try onCase(result)
        }
    }

    func runCase(_ c: BenchCase, directory: String, progress: (Int, Int) -> Void) throws -> CaseResult {
        if let reason = c.skipReason() {
            return CaseResult(c, status: .skipped, error: reason)
        }
        var result = CaseResult(c, status: .ok, error: "")
        let asked: (a: Int?, b: Int?)
        do {
            asked = try c.placement.cpus(allowed: cpus)
        } catch let error as InputError {
            return CaseResult(c, status: .failed, error: error.message)
        }
        var work = LoopWork(payloadBytes: c.payloadBytes, messages: c.messages, verify: c.verify)
        var histogram = makeRoundTripHistogram()
        var rates: [Double] = []
        var messageRates: [Double] = []
        var warnings: [String] = []
        let trialCount = c.warmup + c.repetitions
        for trial in 1...trialCount {
            progress(trial, trialCount)
            let reports: TrialReports
            do {
                reports = try runTrial(transport: c.transport, options: c.transportOptions, pattern: c.pattern,
                                       work: work, cpus: asked, directory: directory, timeoutNs: c.timeoutNs)
            } catch let failure as TrialFailure {
                result.status = .failed
                result.error = "trial \(trial) of \(trialCount): \(failure.message)"
                return result
            } catch let error as SystemCallError {
                result.status = .failed
                result.error = "trial \(trial) of \(trialCount): \(error)"
                return result
            }
            let (a, b) = (reports.a, reports.b)
            let isThroughput = c.pattern == .throughput
            let durationNs = isThroughput ? b.endNs &- a.startNs : a.endNs &- a.startNs
            let warmup = trial <= c.warmup
            if warmup {
                // Calibration: the last warmup trial sets how much each measured trial moves.
                if trial == c.warmup && c.minTrialNs > 0 && durationNs > 0 && durationNs < c.minTrialNs {
                    let factor = min((c.minTrialNs + durationNs - 1) / durationNs, 10_000)
                    work.messages = c.messages * Int(factor)
                    result.messagesPerTrial = work.messages
                    result.bytesPerTrial = work.messages * c.payloadBytes
                }
                continue
            }
            let seconds = Double(durationNs) / 1e9
            let bytes = isThroughput ? b.bytes : a.bytes
            let messages = a.messages  // sent (throughput) or round trips (latency)
            var record = TrialRecord(trial: trial - c.warmup, durationNs: durationNs, bytes: bytes, messages: messages)
            if isThroughput {
                let rate = seconds > 0 ? Double(bytes) / 1_048_576 / seconds : 0
                record.mibPerSecond = rate
                rates.append(rate)
                messageRates.append(seconds > 0 ? Double(b.messages) / seconds : 0)
            } else {
                var trialHistogram = makeRoundTripHistogram()
                // The pairs come from a histogram with this one's range, so every one fits.
                for (value, count) in a.roundTrips { _ = trialHistogram.record(value, count: count) }
                histogram.add(trialHistogram)
                record.rttP50Us = Double(trialHistogram.valueAtPercentile(50)) / 1000
                record.rttP99Us = Double(trialHistogram.valueAtPercentile(99)) / 1000
            }
            result.trials.append(record)
            result.usage = result.usage + a.usage + b.usage
            result.measuredMessages += messages
            result.allocatedBytesInLoop = max(result.allocatedBytesInLoop ?? 0, a.allocatedBytes + b.allocatedBytes)
            if c.transport.isDatagram {
                var d = result.datagrams ?? DatagramCounts()
                let sender = a.datagrams, receiver = isThroughput ? b.datagrams : a.datagrams
                d.sent += sender.sent
                d.received += receiver.received
                d.lost += sender.sent - min(sender.sent, receiver.received)
                d.reordered += receiver.reordered
                d.duplicated += receiver.duplicated
                result.datagrams = d
            }
            result.cpuPlacement = "\(c.placement.mode):\(a.cpu),\(b.cpu)"
            for (name, want, got) in [(c.pattern.roleName(.a), asked.a, a.cpu), (c.pattern.roleName(.b), asked.b, b.cpu)] {
                if let want, Int64(want) != got {
                    let warning = "\(name) ran on CPU \(got), not CPU \(want) as asked"
                    if !warnings.contains(warning) { warnings.append(warning) }
                }
            }
        }
        result.error = warnings.joined(separator: "; ")
        if c.pattern == .throughput {
            result.throughput = Summary(rates)
        } else {
            result.roundTrips = RoundTripSummary(histogram)
        }
        result.messagesPerSecondMedian = Summary(messageRates)?.median
        return result
    }
}
