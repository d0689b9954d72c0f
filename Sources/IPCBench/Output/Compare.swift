import Glibc

/// A results file read back for comparison: its case rows and, when it sits beside it, its trials.
public struct ResultFile {
    public let path: String
    public let cases: [[String: String]]
    /// nil when `<stem>-trials.csv` is missing.
    public let trials: [[String: String]]?

    static let required = ["run_id", "hostname", "kernel_release", "cpu_model", "transport", "pattern",
                           "payload_bytes", "cpu_placement", "options", "status", "repetitions",
                           "mib_per_s_median", "mib_per_s_mean", "mib_per_s_stddev", "rtt_us_p50", "rtt_us_p99",
                           "rtt_us_mean", "rtt_us_stddev", "messages_per_trial"]

    public static func load(_ path: String) throws -> ResultFile {
        guard let text = readWholeFile(path) else { throw InputError("\(path): cannot read the file (does it exist?)") }
        let cases = try records(text, path: path, required: required, what: "an ipcbench results file")
        let stem = path.hasSuffix(".csv") ? String(path.dropLast(4)) : path
        let trialsPath = stem + "-trials.csv"
        var trials: [[String: String]]? = nil
        if let trialsText = readWholeFile(trialsPath) {
            trials = try records(trialsText, path: trialsPath, required: trialColumns, what: "an ipcbench trials file")
        }
        return ResultFile(path: path, cases: cases, trials: trials)
    }

    static func records(_ text: String, path: String, required: [String], what: String) throws -> [[String: String]] {
        let rows = parseCSV(text).filter { !($0.count == 1 && $0[0].isEmpty) }
        guard let header = rows.first else { throw InputError("\(path): the file is empty; expected \(what) with a header row") }
        guard header.contains("run_id") && header.contains("transport") else {
            throw InputError("\(path): not \(what) (the header has no run_id and transport columns)")
        }
        if let missing = required.first(where: { !header.contains($0) }) {
            throw InputError("\(path): the column \(missing) is missing; was the file written by ipcbench?")
        }
        guard rows.count > 1 else { throw InputError("\(path): the file has a header but no rows") }
        return try rows.dropFirst().enumerated().map { index, row in
            guard row.count == header.count else {
                throw InputError("\(path): row \(index + 2) has \(row.count) cells but the header has \(header.count)")
            }
            return Dictionary(uniqueKeysWithValues: zip(header, row))
        }
    }

    /// The measured trials of one case row, by that row's own identity in this file.
    func trialValues(of row: [String: String], column: String) -> [Double]? {
        guard let trials else { return nil }
        let identity = ["transport", "pattern", "payload_bytes", "cpu_placement", "options"]
        let values = trials.filter { t in identity.allSatisfy { t[$0] == row[$0] } }.compactMap { Double($0[column] ?? "") }
        return values.isEmpty ? nil : values
    }
}

/// The fields cases are matched on; `--ignore` drops some.
public enum JoinKey: String, CaseIterable, Sendable {
    case transport, pattern, payload, placement, options

    func value(_ row: [String: String]) -> String {
        switch self {
        case .transport: return row["transport"] ?? ""
        case .pattern: return row["pattern"] ?? ""
        case .payload: return row["payload_bytes"] ?? ""
        // The mode only: CPU numbers differ between machines.
        case .placement: return String((row["cpu_placement"] ?? "").prefix { $0 != ":" })
        case .options: return row["options"] ?? ""
        }
    }
}

/// What is compared for a case: one figure for throughput, two for latency.
public struct Metric: Equatable, Sendable {
    public let name: String
    let caseColumn: String
    let trialColumn: String
    public let higherIsBetter: Bool

    public static let throughput = Metric(name: "MiB/s", caseColumn: "mib_per_s_median", trialColumn: "mib_per_s", higherIsBetter: true)
    public static let rttP50 = Metric(name: "RTT p50 us", caseColumn: "rtt_us_p50", trialColumn: "rtt_us_p50", higherIsBetter: false)
    public static let rttP99 = Metric(name: "RTT p99 us", caseColumn: "rtt_us_p99", trialColumn: "rtt_us_p99", higherIsBetter: false)

    static func of(pattern: String) -> [Metric] { pattern == "throughput" ? [.throughput] : [.rttP50, .rttP99] }
}

/// One case and metric, base against one new file.
public struct Change: Sendable {
    public let caseName: String
    public let key: [String: String]
    public let metric: Metric
    public let newFile: Int
    public let base: Double
    public let new: Double
    /// (new − base) / base, in percent.
    public var percent: Double { base != 0 ? (new - base) / base * 100 : 0 }
    public let p: Double?
    /// "U" (Mann-Whitney on the trials), "Welch" (summary; a trials file is missing), or "" (no test possible).
    public let test: String
    public let significant: Bool
    /// A significant change for the worse.
    public var isRegression: Bool { significant && (metric.higherIsBetter ? percent < 0 : percent > 0) }
}

/// Everything `ipcbench compare` reports.
public struct CompareReport {
    public let files: [ResultFile]
    public let changes: [Change]
    /// Cases found in some files but not in others: (case name, the files that have it).
    public let unmatched: [(String, [Int])]
    /// Cases that are not ok in some file: (case name, (file, status) for each such file).
    public let notCompared: [(String, [(Int, String)])]
    public let warnings: [String]
    public let alpha: Double

    /// Geometric mean of new/base over the compared cases, per new file and metric, as a change in %.
    public func geometricMeanChange(newFile: Int, metric: Metric) -> Double? {
        let ratios = changes.filter { $0.newFile == newFile && $0.metric == metric && $0.base > 0 && $0.new > 0 }
            .map { $0.new / $0.base }
        guard !ratios.isEmpty else { return nil }
        return (exp(ratios.map { log($0) }.reduce(0, +) / Double(ratios.count)) - 1) * 100
    }
}

public func compareResults(_ files: [ResultFile], ignoring: Set<JoinKey>, alpha: Double) -> CompareReport {
    let keys = JoinKey.allCases.filter { !ignoring.contains($0) }
    func key(_ row: [String: String]) -> [String] { keys.map { $0.value(row) } }
    func name(_ row: [String: String]) -> String { keys.map { $0.value(row) }.filter { !$0.isEmpty }.joined(separator: " ") }
    var warnings: [String] = []
    // Index each file's ok rows by key, keeping the first of any duplicates.
    var indexed: [[[String]: [String: String]]] = []
    var order: [[String]] = []
    var names: [[String]: String] = [:]
    for file in files {
        var map: [[String]: [String: String]] = [:]
        var duplicates = 0
        for row in file.cases where row["status"] == "ok" {
            let k = key(row)
            if map[k] != nil { duplicates += 1; continue }
            map[k] = row
            if names[k] == nil { order.append(k); names[k] = name(row) }
        }
        if duplicates > 0 {
            warnings.append("\(file.path): \(duplicates) cases match another case of the same file once \(ignoring.map(\.rawValue).sorted().joined(separator: ", ")) is ignored; the first of each is compared")
        }
        if file.trials == nil {
            warnings.append("\(file.path): no trials file beside it; p-values come from a Welch test on the summary columns")
        }
        indexed.append(map)
    }
    let base = files[0].cases.first ?? [:]
    for (i, file) in files.enumerated().dropFirst() {
        let other = file.cases.first ?? [:]
        for (column, what) in [("cpu_model", "CPU model"), ("arch", "architecture"), ("cpus_online", "number of CPUs"), ("hostname", "hostname")]
        where base[column] != other[column] {
            warnings.append("file \(i + 1) differs from the base in more than the kernel: \(what) \(other[column] ?? "?") vs \(base[column] ?? "?")")
        }
        let baseModes = Set(files[0].cases.map { JoinKey.placement.value($0) })
        let newModes = Set(file.cases.map { JoinKey.placement.value($0) })
        if baseModes != newModes {
            warnings.append("file \(i + 1) differs from the base in more than the kernel: placement \(newModes.sorted().joined(separator: "+")) vs \(baseModes.sorted().joined(separator: "+"))")
        }
    }

    var notCompared: [(String, [(Int, String)])] = []
    for (i, file) in files.enumerated() {
        for row in file.cases where row["status"] != "ok" {
            let n = name(row)
            if let index = notCompared.firstIndex(where: { $0.0 == n }) {
                notCompared[index].1.append((i, row["status"] ?? ""))
            } else {
                notCompared.append((n, [(i, row["status"] ?? "")]))
            }
        }
    }
    var changes: [Change] = []
    var unmatched: [(String, [Int])] = []
    for k in order {
        let present = indexed.indices.filter { indexed[$0][k] != nil }
        if present.count < files.count { unmatched.append((names[k]!, present)) }
        guard let baseRow = indexed[0][k] else { continue }
        for newIndex in present where newIndex > 0 {
            let newRow = indexed[newIndex][k]!
            for metric in Metric.of(pattern: baseRow["pattern"] ?? "") {
                guard let b = Double(baseRow[metric.caseColumn] ?? ""), let n = Double(newRow[metric.caseColumn] ?? "") else { continue }
                var p: Double? = nil
                var test = ""
                if let x = files[0].trialValues(of: baseRow, column: metric.trialColumn),
                   let y = files[newIndex].trialValues(of: newRow, column: metric.trialColumn) {
                    p = mannWhitneyP(x, y)
                    test = "U"
                } else if let summary1 = welchSummary(baseRow, metric), let summary2 = welchSummary(newRow, metric) {
                    p = welchP(mean1: summary1.0, sd1: summary1.1, n1: summary1.2, mean2: summary2.0, sd2: summary2.1, n2: summary2.2)
                    test = "Welch"
                }
                changes.append(Change(caseName: names[k]!, key: Dictionary(uniqueKeysWithValues: zip(keys.map(\.rawValue), k)),
                                      metric: metric, newFile: newIndex, base: b, new: n, p: p, test: test,
                                      significant: (p ?? 1) < alpha))
            }
        }
    }
    return CompareReport(files: files, changes: changes, unmatched: unmatched, notCompared: notCompared,
                         warnings: warnings, alpha: alpha)
}

/// (mean, standard deviation, count) for the Welch fallback: per-trial throughput, or for latency
/// the mean and deviation of all round trips.
func welchSummary(_ row: [String: String], _ metric: Metric) -> (Double, Double, Int)? {
    if metric == .throughput {
        guard let mean = Double(row["mib_per_s_mean"] ?? ""), let sd = Double(row["mib_per_s_stddev"] ?? ""),
              let n = Int(row["repetitions"] ?? "") else { return nil }
        return (mean, sd, n)
    }
    guard let mean = Double(row["rtt_us_mean"] ?? ""), let sd = Double(row["rtt_us_stddev"] ?? ""),
          let trips = Int(row["messages_per_trial"] ?? ""), let n = Int(row["repetitions"] ?? "") else { return nil }
    return (mean, sd, trips * n)
}
