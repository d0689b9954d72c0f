import Glibc
import IPCPlatform
import IPCModel
import IPCRun
import IPCAnalysis
import IPCLab

/// The human-readable results, one line per case as it finishes.
struct SummaryTable {
    let stream: UnsafeMutablePointer<FILE>
    let enabled: Bool

    init(to stream: UnsafeMutablePointer<FILE>, enabled: Bool) {
        self.stream = stream
        self.enabled = enabled
    }

    private func line(_ text: String) {
        guard enabled else { return }
        fputs(text + "\n", stream)
        fflush(stream)
    }

    private func cells(_ values: [String]) -> String {
        let widths = [15, 11, 8, 12, 8, 22, 22]
        return zip(values, widths).map { $0.count >= $1 ? $0 + " " : $0 + String(repeating: " ", count: $1 - $0.count) }
            .joined()
    }

    func printHeader() {
        line(cells(["transport", "pattern", "size", "cpus", "status", "MiB/s median, interval", "RTT p50 / p99 us"]))
    }

    /// The median and its interval: `ci` for a 95% interval, `range` (min to max) with fewer than 6
    /// trials, where no pair of trials reaches 95%; digits enough to tell the two ends apart.
    static func interval(_ t: Summary) -> String {
        var places = t.median >= 100 ? 0 : t.median >= 10 ? 1 : 2
        while places < 4 && formatDecimal(t.ci95Low, places: places) == formatDecimal(t.ci95High, places: places) && t.ci95Low != t.ci95High {
            places += 1
        }
        let kind = t.count >= 6 ? "ci" : "range"
        return "\(formatDecimal(t.median, places: max(places, 1))) \(kind) \(formatDecimal(t.ci95Low, places: places))-\(formatDecimal(t.ci95High, places: places))"
    }

    func printRow(_ r: CaseResult) {
        let c = r.benchCase
        var rate = "", rtt = ""
        if let t = r.summaries[.throughput] { rate = Self.interval(t) }
        if let p = r.roundTrips { rtt = "\(formatDecimal(p.p50, places: 2)) / \(formatDecimal(p.p99, places: 2))" }
        // Many workers' CPUs are in the case file; the table keeps its columns and names the parameters.
        let cpus = r.cpuPlacement.count > 12 ? r.cpuPlacement.prefix(10) + "…" : r.cpuPlacement
        line(cells([c.transport.rawValue, c.pattern.rawValue, formatSize(c.payloadBytes), cpus, r.status.rawValue, rate, rtt]) + c.parameterLabel)
        switch r.status {
        case .failed: line("  error: \(r.error)")
        case .skipped: line("  skipped: \(r.error)")
        case .stopped: line("  stopped: \(r.error)")
        case .ok where !r.error.isEmpty: line("  warning: \(r.error)")
        case .ok: break
        }
        let varying = c.pattern.metrics.compactMap { m -> String? in
            guard let t = Summary(r.trials.compactMap { $0.value(of: m) }),
                  t.count > 1, t.coefficientOfVariation > 0.05 else { return nil }
            return "\(formatDecimal(t.coefficientOfVariation * 100, places: 1))% in \(m.name)"
        }
        if r.status == .ok, !varying.isEmpty {
            let help = r.benchCase.placement == .none
                ? "pin the workers (--cpus same or split), add trials (-r), or quiet the machine"
                : "add trials (-r), lengthen them (--min-trial-time), or quiet the machine"
            line("  warning: trials vary by \(varying.joined(separator: ", ")) (CV); \(help)")
        }
        if let d = r.datagrams, d.lost > 0 {
            line("  note: \(d.lost) of \(d.sent) datagrams lost (the receiver fell behind)")
        }
    }

    func note(_ text: String) { line(text) }
}

/// `[trial 37/348] round 2 of 5  pipe throughput 4KiB split  0:12 elapsed ~1:30 left` on stderr, redrawn in place.
final class ProgressLine {
    private let enabled: Bool
    private let start = monotonicNanoseconds()
    private var shown = false

    init(enabled: Bool) { self.enabled = enabled }

    func show(_ p: Progress) {
        guard enabled else { return }
        let elapsed = Double(monotonicNanoseconds() - start) / 1e9
        let done = Double(p.trial - 1) / Double(max(p.trialCount, 1))
        let left = done > 0.01 ? " ~\(clock(elapsed / done - elapsed)) left" : ""
        fputs("\r\u{1B}[K[trial \(p.trial)/\(p.trialCount)] \(p.stage)  \(p.caseName)  \(clock(elapsed)) elapsed\(left)", standardError)
        shown = true
    }

    func clear() {
        guard shown else { return }
        fputs("\r\u{1B}[K", standardError)
        shown = false
    }

    private func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return "\(s / 60):\(s % 60 < 10 ? "0" : "")\(s % 60)"
    }
}
