import IPCPlatform
import IPCModel

/// What the units of both sides tell about where to spend machine time (Kalibera & Jones): the
/// variance between runs and between trials, and what a run and a round cost.
public struct SpreadEstimate: Sendable, Equatable {
    /// Median over cases, on the log scale: the variance of a run's own level, and of one trial.
    public let runVariance: Double
    public let trialVariance: Double
    /// Seconds: a run's set-up, warm-up and calibration before its first measured trial; one round.
    public let runCost: Double
    public let roundCost: Double
    /// The rounds these runs had (the median over runs).
    public let rounds: Int
    /// The variance of the offset every case of the most-compared metric shares in a run (log
    /// scale): the machine moving as a whole. nil with fewer than two cases.
    public var sharedRunVariance: Double? = nil

    /// The rounds per run that minimise the variance of a unit's figure per second of machine time.
    public var bestRounds: Double { optimalRounds(runVariance: runVariance, trialVariance: trialVariance, runCost: runCost, roundCost: roundCost) }
}

/// The trials per run (rounds) that give the smallest variance of the mean over units for a fixed
/// machine time: minimise (runCost + n·roundCost)·(runVariance + (π/2)·trialVariance/n), which is
/// n = √(runCost·(π/2)·trialVariance / (roundCost·runVariance)). (π/2: a run's figure is the median
/// of its trials.) Infinite when the runs show no variance of their own.
public func optimalRounds(runVariance: Double, trialVariance: Double, runCost: Double, roundCost: Double) -> Double {
    guard runVariance > 0, roundCost > 0 else { return .infinity }
    return (runCost * Double.pi / 2 * trialVariance / (roundCost * runVariance)).squareRoot()
}

/// The spread and cost figures of the compared runs: medians over cases of the variance between
/// runs (less the part the trials' own noise explains) and between trials; a run's cost before its
/// first measured trial, and a round's, from the trials files' start_ns and duration_ns.
package func spreadEstimate(_ cases: [(runVariance: Double, trialVariance: Double, trials: Double)], files: [ResultFile],
                    sharedRunVariance: Double?) -> SpreadEstimate? {
    guard !cases.isEmpty else { return nil }
    let runVariance = median(cases.map { max(0, $0.runVariance - Double.pi / 2 * $0.trialVariance / max($0.trials, 1)) })
    let trialVariance = median(cases.map(\.trialVariance))
    var fixed: [Double] = [], perRound: [Double] = [], rounds: [Double] = []
    for file in files {
        let trials = (file.trials ?? [:]).values.flatMap { $0 }
        let starts = trials.compactMap(\.startNs)
        let ends = trials.compactMap { t in t.startNs.flatMap { s in t.durationNs.map { s + $0 } } }
        let count = trials.compactMap(\.round).max() ?? 0
        guard let first = starts.min(), let last = ends.max(), count >= 1, last > first else { continue }
        fixed.append(first / 1e9)
        perRound.append((last - first) / 1e9 / Double(count))
        rounds.append(Double(count))
    }
    guard !fixed.isEmpty else { return nil }
    return SpreadEstimate(runVariance: runVariance, trialVariance: trialVariance, runCost: median(fixed), roundCost: median(perRound),
                          rounds: Int(median(rounds)), sharedRunVariance: sharedRunVariance)
}
