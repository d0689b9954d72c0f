import IPCPlatform
import IPCModel

/// How a results file becomes the history database's rows, and how those rows become a results file
/// again for compare's analysis: the one place that knows both. Files are read only through
/// `ResultsReader` (the CSV pair or the JSON form, checked as `ipcbench check` checks them), and what
/// is stored is the result record's cells by column name, so that a column the model gains (a new
/// key dimension, a new setting) is stored without a migration.

/// One run as the history stores it.
package struct HistoryRun {
    /// The run's identity: the SHA-256 of everything stored of it (`canonicalText`), so that the
    /// same run imported from any file (CSV or JSON), any number of times, is one run.
    package var digest = ""
    package var runID: String
    package var timestampUTC: String
    package var hostname: String
    package var kernelRelease: String
    package var bootID: String
    package var command: String
    /// The config's SHA-256 as the command column names it ("" for a run of the built-in suite).
    package var configSHA256: String
    package var version: String
    /// The results format's version of the file it came from (0.N.0), as text.
    package var formatVersion: String
    /// Every environment column of its first case that has a value, as the CSV writes it.
    package var environment: [(name: String, value: String)]
    package var cases: [HistoryCase]
}

package struct HistoryCase {
    /// Every key column of the result model (`historyKeyColumns`) the case has a value in.
    package var key: [(name: String, value: String)]
    /// Every other cell of the case row that has a value, as the CSV writes it: the key columns as
    /// written, the settings, the status, the figures, and any environment cell that differs from the run's.
    package var cells: [(name: String, value: String)]
    package var status: String
    package var figures: [HistoryFigure]
    /// Each trial's cells that have a value, less its run and its key (the case's).
    package var trials: [[(name: String, value: String)]]

    /// The key as one text: a series is the runs of one host whose case has this text and one metric.
    package var keyText: String { historyKeyText(key) }
}

package struct HistoryFigure {
    /// The metric's trials column (`mib_per_s`, `rtt_us_p99`): its name in the database.
    package var metric: String
    package var value: Double
    package var ci95Low: Double?
    package var ci95High: Double?
}

/// The case key's columns: every column the result model files under `key` (the transport, the
/// pattern, the payload, the placement, the options and each pattern parameter), in its order.
package let historyKeyColumns: [String] = caseFileColumns().filter { $0.path.first == "key" }.map(\.name)

/// The key's text: `name=value` a line, in `historyKeyColumns`' order (values hold no line break: the reader refuses control characters).
package func historyKeyText(_ key: [(name: String, value: String)]) -> String {
    key.map { "\($0.name)=\($0.value)" }.joined(separator: "\n")
}

/// The key back from its text (`historyKeyText`).
package func historyKey(text: String) -> [(name: String, value: String)] {
    text.split(separator: "\n").map { line in
        let parts = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
    }
}

/// A key column's value as series match it: as written, except the placement, whose mode only
/// counts (CPU numbers differ between machines), as compare matches cases.
package func historyKeyValue(_ name: String, _ value: String) -> String {
    name == "cpu_placement" ? String(value.prefix { $0 != ":" }) : value
}

/// The runs of a results file (a CSV pair or the JSON form), read through `ResultsReader`: a file
/// that `ipcbench check` refuses throws, whole.
package func historyRuns(ofFile path: String) throws -> [HistoryRun] {
    let record = try ResultsReader.record(path)
    let caseColumns = record.caseColumns, trialColumns = record.trialColumns
    func cells(_ row: RowValues, _ columns: [ResultColumn]) -> [(name: String, value: String)] {
        zip(columns, row.values).compactMap { column, value in value.map { (column.name, $0.text) } }
    }
    let isEnvironment = Set(caseColumns.filter { $0.path.first == "environment" }.map(\.name))
    let keyNames = Set(historyKeyColumns)
    // The trials of each case, by run and the case's key cells as written.
    var trialsOf: [String: [[(name: String, value: String)]]] = [:]
    for trial in record.trials ?? [] {
        let all = cells(trial, trialColumns)
        let id = trialIdentity(all, keyNames)
        trialsOf[id, default: []].append(all.filter { $0.name != "run_id" && !keyNames.contains($0.name) })
    }
    var order: [String] = []
    var rowsOfRun: [String: [[(name: String, value: String)]]] = [:]
    for row in record.cases {
        let all = cells(row, caseColumns)
        let id = all.first { $0.name == "run_id" }?.value ?? ""
        if rowsOfRun[id] == nil { order.append(id) }
        rowsOfRun[id, default: []].append(all)
    }
    return order.map { id in
        let rows = rowsOfRun[id]!
        let environment = rows[0].filter { isEnvironment.contains($0.name) }
        let env = Dictionary(uniqueKeysWithValues: environment.map { ($0.name, $0.value) })
        func cell(_ name: String) -> String { env[name] ?? "" }
        var run = HistoryRun(runID: id, timestampUTC: cell("timestamp_utc"), hostname: cell("hostname"), kernelRelease: cell("kernel_release"),
                             bootID: cell("boot_id"), command: cell("command"), configSHA256: configDigest(cell("command")),
                             version: cell("ipcbench_version"), formatVersion: formatVersionText(record.version), environment: environment, cases: [])
        run.cases = rows.map { row in
            let byName = Dictionary(uniqueKeysWithValues: row.map { ($0.name, $0.value) })
            let trials = trialsOf[trialIdentity(row, keyNames)] ?? []
            // The environment columns this case has where they differ from the run's (empty ones as "").
            let ownEnvironment = isEnvironment.sorted().compactMap { name -> (name: String, value: String)? in
                (byName[name] ?? "") == (env[name] ?? "") ? nil : (name, byName[name] ?? "")
            }
            return HistoryCase(key: historyKeyColumns.compactMap { name in byName[name].map { (name, historyKeyValue(name, $0)) } },
                               cells: row.filter { !isEnvironment.contains($0.name) } + ownEnvironment,
                               status: byName["status"] ?? "", figures: historyFigures(byName, trials), trials: trials)
        }
        run.digest = sha256Hex(Array(canonicalText(run).utf8))
        return run
    }
}

/// A trial's or case's run and key cells as written, as one text: what joins a trial to its case.
private func trialIdentity(_ cells: [(name: String, value: String)], _ keyNames: Set<String>) -> String {
    cells.filter { $0.name == "run_id" || keyNames.contains($0.name) }.map { "\($0.name)=\($0.value)" }.joined(separator: "\n")
}

/// Per metric the case row has a figure for: the figure (the case column, the trials' median), and
/// its 95% interval, from the case row's columns where it has them and otherwise from the trials
/// (`Summary`, as the runner makes them).
package func historyFigures(_ row: [String: String], _ trials: [[(name: String, value: String)]]) -> [HistoryFigure] {
    Metric.all.compactMap { metric in
        guard let value = positiveFigure(row[metric.caseColumn] ?? "") else { return nil }
        var low = Double(row[metric.trialColumn + "_ci95_low"] ?? ""), high = Double(row[metric.trialColumn + "_ci95_high"] ?? "")
        if low == nil || high == nil,
           let summary = Summary(trials.compactMap { t in t.first { $0.name == metric.trialColumn }.flatMap { positiveFigure($0.value) } }) {
            (low, high) = (summary.ci95Low, summary.ci95High)
        }
        return HistoryFigure(metric: metric.trialColumn, value: value, ci95Low: low, ci95High: high)
    }
}

/// The SHA-256 of the config in a command column, `… (config sha256 HEX)`; "" where there is none.
package func configDigest(_ command: String) -> String {
    guard let part = command.split(separator: "(", omittingEmptySubsequences: false).last(where: { $0.hasPrefix("config sha256 ") }) else { return "" }
    let hex = part.dropFirst("config sha256 ".count).prefix { $0.isHexDigit }
    return hex.count == 64 ? String(hex) : ""
}

/// Everything stored of a run, one fact a line, in a fixed order: what its digest is taken over.
/// The figures are not in it: they are made from the cells.
package func canonicalText(_ run: HistoryRun) -> String {
    var lines = ["ipcbench history run v1"]
    for (name, value) in run.environment { lines.append("env \(name)=\(value)") }
    for c in run.cases {
        lines.append("case")
        for (name, value) in c.cells { lines.append("cell \(name)=\(value)") }
        for t in c.trials {
            lines.append("trial")
            for (name, value) in t { lines.append("trial cell \(name)=\(value)") }
        }
    }
    return lines.joined(separator: "\n")
}

/// One stored case read back: its run's environment, its cells and its trials' cells.
package struct StoredCase {
    package var environment: [(name: String, value: String)]
    package var key: [(name: String, value: String)]
    package var cells: [(name: String, value: String)]
    package var trials: [[(name: String, value: String)]]
}

/// A stored case as a results file of one row (and its trials), for compare's analysis of the runs
/// on either side of a change point. `label` names it where compare would name a file.
package func resultFile(_ stored: StoredCase, label: String) -> ResultFile {
    var row: [String: String] = [:]
    for (name, value) in stored.environment + stored.cells { row[name] = value }
    let caseRow = CaseRow(row)
    var keyCells: [String: String] = ["run_id": row["run_id"] ?? ""]
    for name in historyKeyColumns { keyCells[name] = row[name] ?? "" }
    let trials = stored.trials.map { t -> TrialRow in
        var cells = keyCells
        for (name, value) in t { cells[name] = value }
        return TrialRow(cells)
    }
    let header = caseColumns.filter { row[$0] != nil } + row.keys.filter { !caseColumns.contains($0) }.sorted()
    return ResultFile(path: label, header: header, cases: [row], rows: [caseRow], trials: [caseRow.key: trials])
}
