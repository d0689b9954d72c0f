/// How a results file becomes the history database's rows, and how those rows become a results file
/// again for compare's analysis: the one place that knows both. It reads results with today's reader
/// (`ResultFile.load`, the validation `ipcbench check` applies); the result model replaces that here.

/// One run as the history stores it.
struct HistoryRun {
    /// The run's identity: the SHA-256 of everything stored of it (`canonicalText`), so that the
    /// same run imported from any file, any number of times, is one run.
    var digest = ""
    var runID: String
    var timestampUTC: String
    var hostname: String
    var kernelRelease: String
    var bootID: String
    var command: String
    /// The config's SHA-256 as the command column names it ("" for a run of the built-in suite).
    var configSHA256: String
    var version: String
    /// Every environment column of the results file (those before `transport`), as written.
    var environment: [(name: String, value: String)]
    var cases: [HistoryCase]
}

struct HistoryCase {
    /// The case key's columns (`historyKeyColumns`), by name; a key column the case has no value in is left out.
    var key: [(name: String, value: String)]
    /// Every column of the case row from `transport` on, as written.
    var cells: [(name: String, value: String)]
    var status: String
    var figures: [HistoryFigure]
    var trials: [HistoryTrial]

    /// The key as one text: a series is the runs of one host whose case has this text and one metric.
    var keyText: String { historyKeyText(key) }
}

struct HistoryFigure {
    /// The metric's trials column (`mib_per_s`, `rtt_us_p99`): its name in the database.
    var metric: String
    var value: Double
    var ci95Low: Double?
    var ci95High: Double?
}

struct HistoryTrial {
    var trial: String
    var round: Int?
    var startNs: Double?
    var durationNs: Double?
    var figures: [(metric: String, value: Double)]
}

/// The columns of the case key, as compare matches cases (`CaseKey`): the transport, the pattern,
/// the payload, the placement's mode (CPU numbers differ between machines), the options and each
/// pattern parameter.
let historyKeyColumns = ["transport", "pattern", "payload_bytes", "cpu_placement", "options"] + CaseParameter.allCases.map(\.rawValue)

/// The key's text: `name=value` a line, in `historyKeyColumns`' order (values hold no line break: the reader refuses control characters).
func historyKeyText(_ key: [(name: String, value: String)]) -> String {
    key.map { "\($0.name)=\($0.value)" }.joined(separator: "\n")
}

/// The case key of a case row: its key columns that have a value.
func historyKey(_ row: [String: String]) -> [(name: String, value: String)] {
    let key = CaseKey(row)
    return historyKeyColumns.compactMap { name in
        let value: String
        switch name {
        case "transport": value = key.transport
        case "pattern": value = key.pattern
        case "payload_bytes": value = key.payloadBytes
        case "cpu_placement": value = key.placement
        case "options": value = key.options
        default: value = row[name] ?? ""
        }
        return value.isEmpty && !["transport", "pattern", "payload_bytes"].contains(name) ? nil : (name, value)
    }
}

/// The runs of a results file (and its trials file), read and checked as `ipcbench check` does: a
/// file it refuses throws, whole. `source` is the path the runs are recorded as imported from.
func historyRuns(ofFile path: String) throws -> [HistoryRun] {
    let file = try ResultFile.load(path)
    let environmentNames = Array(file.header.prefix { $0 != "transport" })
    let caseNames = Array(file.header.drop { $0 != "transport" })
    var order: [String] = []
    var rowsOfRun: [String: [[String: String]]] = [:]
    for row in file.cases {
        let id = row["run_id"] ?? ""
        if rowsOfRun[id] == nil { order.append(id) }
        rowsOfRun[id, default: []].append(row)
    }
    return order.map { id in
        let rows = rowsOfRun[id]!
        let first = rows[0]
        func cell(_ name: String) -> String { first[name] ?? "" }
        var run = HistoryRun(runID: id, timestampUTC: cell("timestamp_utc"), hostname: cell("hostname"), kernelRelease: cell("kernel_release"),
                             bootID: cell("boot_id"), command: cell("command"), configSHA256: configDigest(cell("command")),
                             version: cell("ipcbench_version"), environment: environmentNames.map { ($0, first[$0] ?? "") }, cases: [])
        run.cases = rows.map { row in
            let trials = (file.trials?[CaseKey(row)] ?? []).filter { $0.runID == id }
            return HistoryCase(key: historyKey(row), cells: caseNames.map { ($0, row[$0] ?? "") }, status: row["status"] ?? "",
                               figures: historyFigures(row, trials), trials: trials.map(historyTrial))
        }
        run.digest = sha256Hex(Array(canonicalText(run).utf8))
        return run
    }
}

/// Per metric the case row has a figure for: the figure, and its 95% interval, from the case row's
/// columns where it has them and otherwise from the trials (`Summary`, as the runner makes them).
func historyFigures(_ row: [String: String], _ trials: [TrialRow]) -> [HistoryFigure] {
    Metric.all.compactMap { metric in
        guard let value = positiveFigure(row[metric.caseColumn] ?? "") else { return nil }
        var low = Double(row[metric.trialColumn + "_ci95_low"] ?? ""), high = Double(row[metric.trialColumn + "_ci95_high"] ?? "")
        if low == nil || high == nil, let summary = Summary(trials.compactMap { positiveFigure($0.figure(metric)) }) {
            (low, high) = (summary.ci95Low, summary.ci95High)
        }
        return HistoryFigure(metric: metric.trialColumn, value: value, ci95Low: low, ci95High: high)
    }
}

func historyTrial(_ t: TrialRow) -> HistoryTrial {
    HistoryTrial(trial: t.trial, round: t.round, startNs: t.startNs, durationNs: t.durationNs,
                 figures: Metric.all.compactMap { m in Double(t.figure(m)).map { (m.trialColumn, $0) } })
}

/// The SHA-256 of the config in a command column, `… (config sha256 HEX)`; "" where there is none.
func configDigest(_ command: String) -> String {
    guard let part = command.split(separator: "(", omittingEmptySubsequences: false).last(where: { $0.hasPrefix("config sha256 ") }) else { return "" }
    let hex = part.dropFirst("config sha256 ".count).prefix { $0.isHexDigit }
    return hex.count == 64 ? String(hex) : ""
}

/// Everything stored of a run, one fact a line, in a fixed order: what its digest is taken over.
func canonicalText(_ run: HistoryRun) -> String {
    func text(_ v: Double?) -> String { v.map { String($0) } ?? "" }
    var lines = ["ipcbench history run v1"]
    for (name, value) in run.environment { lines.append("env \(name)=\(value)") }
    for c in run.cases {
        lines.append("case")
        for (name, value) in c.cells { lines.append("cell \(name)=\(value)") }
        for f in c.figures { lines.append("figure \(f.metric)=\(f.value) [\(text(f.ci95Low)) \(text(f.ci95High))]") }
        for t in c.trials {
            lines.append("trial \(t.trial) \(t.round.map { String($0) } ?? "") \(text(t.startNs)) \(text(t.durationNs))")
            for (metric, value) in t.figures { lines.append("trial figure \(metric)=\(value)") }
        }
    }
    return lines.joined(separator: "\n")
}

/// One stored case read back: its run's environment and its cells, and its trials.
struct StoredCase {
    var environment: [(name: String, value: String)]
    var cells: [(name: String, value: String)]
    var trials: [HistoryTrial]
}

/// A stored case as a results file of one row (and its trials), for compare's analysis of the runs
/// on either side of a change point. `label` names it where compare would name a file.
func resultFile(_ stored: StoredCase, label: String) -> ResultFile {
    var row: [String: String] = [:]
    for (name, value) in stored.environment + stored.cells { row[name] = value }
    let caseRow = CaseRow(row)
    let keyCells = Dictionary(uniqueKeysWithValues: (["run_id", "transport", "pattern", "payload_bytes", "cpu_placement", "options"]
        + CaseParameter.allCases.map(\.rawValue)).map { ($0, row[$0] ?? "") })
    let trials = stored.trials.map { t -> TrialRow in
        var cells = keyCells
        cells["trial"] = t.trial
        cells["round"] = t.round.map(String.init) ?? ""
        cells["start_ns"] = t.startNs.map { String(Int64($0)) } ?? ""
        cells["duration_ns"] = t.durationNs.map { String(Int64($0)) } ?? ""
        for (metric, value) in t.figures { cells[metric] = String(value) }
        return TrialRow(cells)
    }
    let header = stored.environment.map(\.name) + stored.cells.map(\.name)
    return ResultFile(path: label, header: header, cases: [row], rows: [caseRow], trials: [caseRow.key: trials])
}

/// The key back from its text (`historyKeyText`).
func historyKey(text: String) -> [(name: String, value: String)] {
    text.split(separator: "\n").map { line in
        let parts = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
    }
}
