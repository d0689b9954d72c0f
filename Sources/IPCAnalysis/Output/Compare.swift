import IPCPlatform
import IPCModel

/// A results file read back for comparison: its case rows and, when it sits beside it, its trials.
public struct ResultFile {
    public let path: String
    /// The case file's columns, in the file's order.
    public let header: [String]
    /// The case rows by column name, as read.
    public let cases: [[String: String]]
    /// The case rows as compare reads them, in the file's order.
    public let rows: [CaseRow]
    /// The trials of each case, by the case's key; nil when `<stem>-trials.csv` is missing.
    public let trials: [CaseKey: [TrialRow]]?

    package static let required = ["run_id", "hostname", "kernel_release", "cpu_model", "transport", "pattern",
                           "payload_bytes", "cpu_placement", "options", "status", "repetitions",
                           "mib_per_s_median", "mib_per_s_mean", "mib_per_s_stddev", "rtt_us_p50", "rtt_us_p99",
                           "rtt_us_mean", "rtt_us_stddev", "messages_per_trial"]
    /// The trials columns compare reads; version 0.1.0 files have them too.
    package static let requiredTrialColumns = ["run_id", "transport", "pattern", "payload_bytes", "cpu_placement", "options",
                                       "trial", "mib_per_s", "rtt_us_p50", "rtt_us_p99"]

    /// Reads `path` and the trials file beside it. Throws `InputError` for anything that is not a
    /// well-formed results file, and for a trials file written by another run.
    public static func load(_ path: String) throws -> ResultFile {
        try Self.read(path, keeping: .everything)!  // ResultsReader.swift: streamed, row by row
    }

    /// The environment columns: those before `transport`, less the run's identity, time, version,
    /// seed, boot and command (which differ on every run by design).
    package var environmentColumnNames: [String] {
        Array(header.prefix { $0 != "transport" }).filter { !["run_id", "timestamp_utc", "ipcbench_version", "seed", "boot_id", "command"].contains($0) }
    }
}

/// One row of a results file, with the columns compare reads.
public struct CaseRow {
    public let key: CaseKey
    public let runID: String
    public let status: String
    public let hostname: String
    public let kernelRelease: String
    public let cpuModel: String
    /// The typed setting columns (workers, nodelay, the knobs) by name, as read; empty in files before 0.4.0.
    public let settings: [String: String]
    /// Per metric, the case column's text as read ("" where the file has no such column).
    package let figures: [(metric: Metric, text: String)]
    /// For the within-run Welch interval on the summary columns: (mean, stddev, count) of the trials'
    /// MiB/s; nil where the columns do not hold usable numbers.
    package let throughputSummary: (mean: Double, sd: Double, n: Double)?

    package init(_ row: [String: String]) {
        func cell(_ column: String) -> String { row[column] ?? "" }
        key = CaseKey(row)
        runID = cell("run_id")
        status = cell("status")
        hostname = cell("hostname")
        kernelRelease = cell("kernel_release")
        cpuModel = cell("cpu_model")
        settings = Dictionary(uniqueKeysWithValues: SettingColumn.all.compactMap { s in row[s.name].map { (s.name, $0) } })
        figures = Metric.all.map { ($0, cell($0.caseColumn)) }
        func number(_ column: String, from low: Double, to high: Double) -> Double? {
            Double(cell(column)).flatMap { $0.isFinite && $0 >= low && $0 <= high ? $0 : nil }
        }
        func summary(_ meanColumn: String, _ sdColumn: String, count: Double?) -> (mean: Double, sd: Double, n: Double)? {
            guard let mean = positiveFigure(cell(meanColumn)), let sd = number(sdColumn, from: 0, to: largestFigure), let count else { return nil }
            return (mean, sd, count)
        }
        throughputSummary = summary("mib_per_s_mean", "mib_per_s_stddev", count: number("repetitions", from: 1, to: 1e9))
    }

    package func figure(_ metric: Metric) -> String { figures.first { $0.metric == metric }?.text ?? "" }

    /// (mean, stddev, count) of the trials for a within-run interval from the summary columns: only
    /// MiB/s has them (the RTT columns summarise round trips, not trials).
    package func summary(_ metric: Metric) -> (mean: Double, sd: Double, n: Double)? {
        metric == .throughput ? throughputSummary : nil
    }
}

/// One row of a trials file, with the columns compare reads.
public struct TrialRow {
    public let key: CaseKey
    public let runID: String
    /// The `trial` column: the trial's number, as read.
    public let trial: String
    /// The interleaved round (nil for the sequential schedule and files before 0.2.0), and when the
    /// trial started and how long it took, in ns (nil where absent): the cost of a trial.
    public let round: Int?
    public let startNs: Double?
    public let durationNs: Double?
    /// The trial columns' texts as read, in the order of `Metric.all` ("" where the file has no such
    /// column): one small array per row, as a trials file may hold millions of rows.
    package let figures: [String]

    package init(_ row: [String: String]) {
        key = CaseKey(row)
        runID = row["run_id"] ?? ""
        trial = row["trial"] ?? ""
        round = row["round"].flatMap { Int($0) }.flatMap { $0 >= 1 ? $0 : nil }
        func nanoseconds(_ column: String) -> Double? { row[column].flatMap { Double($0) }.flatMap { $0.isFinite && $0 >= 0 && $0 < 1e18 ? $0 : nil } }
        startNs = nanoseconds("start_ns")
        durationNs = nanoseconds("duration_ns")
        figures = Metric.all.map { row[$0.trialColumn] ?? "" }
    }

    package func figure(_ metric: Metric) -> String { Metric.all.firstIndex(of: metric).map { figures[$0] } ?? "" }
}

/// One side of a comparison: one results file, or several runs of the same setup (the unit of
/// replication is then the run).
public struct Side {
    public let files: [ResultFile]

    public init(files: [ResultFile]) { self.files = files }

    /// The side's files joined with commas, as given on the command line.
    public var label: String { files.map(\.path).joined(separator: ",") }

    /// The side's units, the boots: its files' indices grouped by the `boot_id` column (runs of one
    /// boot share its state); a file without one is a boot of its own.
    public var boots: [[Int]] {
        var groups: [[Int]] = [], ids: [String] = []
        for (i, file) in files.enumerated() {
            let id = file.cases.first?["boot_id"] ?? ""
            if !id.isEmpty, let g = ids.firstIndex(of: id) { groups[g].append(i) } else { groups.append([i]); ids.append(id) }
        }
        return groups
    }

    /// "3 runs", or "2 boots, 4 runs" where some unit has several runs.
    public func unitsLabel(_ units: [[Int]]) -> String {
        let runs = "\(files.count) run\(files.count == 1 ? "" : "s")"
        return units.count == files.count ? runs : "\(units.count) boot\(units.count == 1 ? "" : "s"), \(runs)"
    }
}

/// The units of each side: its boots where the sides share no boot (a kernel comparison crosses
/// boots, so the runs of one boot are one unit); its runs where one boot holds runs of several
/// sides (the comparison is then inside that boot, and the run is the unit).
public func comparisonUnits(_ sides: [Side]) -> [[[Int]]] {
    let ids = sides.map { Set($0.files.compactMap { $0.cases.first?["boot_id"] }.filter { !$0.isEmpty }) }
    let shared = ids.indices.contains { i in ids.indices.contains { j in j > i && !ids[i].isDisjoint(with: ids[j]) } }
    return sides.map { side in shared ? side.files.indices.map { [$0] } : side.boots }
}
