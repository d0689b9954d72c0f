import FoundationEssentials
import Glibc
import IPCPlatform
import IPCModel

/// A step Otava found in a series, and what compare's analysis of the runs on either side says.
package struct ChangePoint {
    package var series: Series
    /// The index in `series.points` of the first run after the step.
    package var index: Int
    package var otavaP: Double
    /// compare's change (after over before, %) and its 95% interval; nil where compare had no test.
    package var percent: Double?
    package var low: Double?
    package var high: Double?
    /// compare's p for the runs on either side, and the places in that stretch the boundary could
    /// have been put (Otava put it where the runs differ most, which makes any p small).
    package var p: Double?
    package var places = 1
    /// `p` × `places`, adjusted with Benjamini-Hochberg over every series examined.
    package var q: Double?
    package var confirmed = false

    package var before: SeriesPoint { series.points[index - 1] }
    package var after: SeriesPoint { series.points[index] }
}

/// Where `otava` is: on PATH (scripts/setup --history puts it in the checkout's .venv, which
/// scripts/test and scripts/ipcbench put first on PATH); nil when it is not installed.
package func otavaExecutable() -> String? {
    findExecutable("otava", defaultPath: "")
}

/// `ipcbench history changes`: every series the filter selects through Apache Otava, each change
/// point checked by compare's analysis of the runs between it and its neighbours. `all`: the ones
/// compare does not confirm (q ≥ 0.05) too.
public func historyChanges(database location: String, filter: SeriesFilter, format: HistoryFormat, all: Bool) throws -> String {
    guard let otava = otavaExecutable() else {
        throw InputError("history changes needs Apache Otava (the otava command), and it is not on PATH: run scripts/setup --history")
    }
    let db = try openHistoryDatabase(location, create: false)
    defer { db.close() }
    try HistorySchema.checkReadable(db)
    let series = try loadSeries(db, filter)
    var changes = try otavaChangePoints(series, otava: otava)
    for i in changes.indices { try measure(&changes[i], among: changes, db) }
    adjust(&changes, examined: series.filter { $0.points.count >= fewestRunsForChanges }.count)
    return formatChanges(series, all ? changes : changes.filter(\.confirmed), format)
}

/// The fewest runs a series needs before Otava looks at it.
package let fewestRunsForChanges = 4

/// Otava's change points in each series: one CSV file a series (its runs in time order, with their
/// position as an attribute), one config naming them all, one `otava analyze … --output json`.
package func otavaChangePoints(_ series: [Series], otava: String) throws -> [ChangePoint] {
    let candidates = series.indices.filter { series[$0].points.count >= fewestRunsForChanges }
    guard !candidates.isEmpty else { return [] }
    let folder = try TemporaryFolder(prefix: "ipcbench-history-")
    defer { folder.remove() }
    var config = "tests:\n"
    for i in candidates {
        var text = "timestamp_utc,position,value\n"
        for (position, p) in series[i].points.enumerated() { text += "\(p.timestampUTC),\(position),\(p.value)\n" }
        let file = try folder.write("s\(i).csv", text)
        config += "  s\(i):\n    type: csv\n    file: \(yamlQuoted(file))\n    time_column: timestamp_utc\n"
        config += "    attributes: [position]\n    metrics:\n      value:\n        column: value\n"
    }
    let configPath = try folder.write("otava.yaml", config)
    let outputPath = folder.path + "/output"
    let output = openFileOrErrno(outputPath, O_WRONLY | O_CREAT | O_TRUNC, permissions: 0o600)
    guard output >= 0 else { throw DatabaseError("\(outputPath): cannot make Otava's output file: \(errorText(-output))") }
    folder.made.append(outputPath)
    let pid = spawnGroup([otava, "analyze", "--config-file", configPath, "--output", "json"] + candidates.map { "s\($0)" }, output: output)
    closeDescriptor(output)
    guard pid > 0 else { throw DatabaseError("\(otava): cannot start Apache Otava") }
    let ended = reap(pid)
    let text = try readRegularFile(outputPath, limit: 64 << 20, what: "Otava's output") ?? ""
    // Otava prints its log, then the result as one JSON object a line.
    let objects = text.split(separator: "\n").filter { $0.hasPrefix("{") }.compactMap { line in
        try? JSONDecoder().decode(JSONTree.self, from: Data(line.utf8))
    }
    guard ended == "exit status 0", !objects.isEmpty else {
        let last = text.split(separator: "\n").last(where: { !$0.hasPrefix("INFO") }).map(String.init) ?? "no output"
        throw DatabaseError("Apache Otava failed (\(ended)): \(last)")
    }
    var found: [ChangePoint] = []
    for object in objects {
        for (name, value) in object.members {
            guard let i = Int(name.dropFirst()), candidates.contains(i) else { continue }
            for point in value.items {
                guard let position = point["attributes"]?["position"]?.number.flatMap({ Int(exactly: $0) }),
                      position >= 1, position < series[i].points.count else { continue }
                for change in point["changes"]?.items ?? [] where change["metric"]?.text == "value" {
                    found.append(ChangePoint(series: series[i], index: position, otavaP: change["pvalue"]?.number ?? .nan,
                                             percent: nil, low: nil, high: nil, q: nil, confirmed: false))
                }
            }
        }
    }
    return found.sorted { ($0.series.hostname, historyKeyText($0.series.key), $0.series.metric, $0.index)
        < ($1.series.hostname, historyKeyText($1.series.key), $1.series.metric, $1.index) }
}

/// compare's analysis of a change point: the runs from the change before it (or the series'
/// start) against those up to the change after it (or the series' end), with compare's units
/// (boots where the sides share none, runs otherwise): the change, its interval and its p.
package func measure(_ change: inout ChangePoint, among changes: [ChangePoint], _ db: HistoryDatabase) throws {
    let mine = changes.filter { $0.series.hostname == change.series.hostname && historyKeyText($0.series.key) == historyKeyText(change.series.key)
        && $0.series.metric == change.series.metric }.map(\.index)
    let start = mine.filter { $0 < change.index }.max() ?? 0
    let end = mine.filter { $0 > change.index }.min() ?? change.series.points.count
    let points = change.series.points
    change.places = max(1, end - start - 1)
    let sides = try [Array(points[start..<change.index]), Array(points[change.index..<end])].map { side in
        Side(files: try side.map { p in resultFile(try loadStoredCase(db, p), label: "run \(p.runID) (\(p.timestampUTC))") })
    }
    let report = compareResults(sides, ignoring: [], alpha: significanceLevel)
    guard let c = report.changes.first(where: { $0.metric.trialColumn == change.series.metric && $0.newSide == 1 }) else { return }
    change.percent = c.percent
    change.low = c.interval.map { (exp($0.low) - 1) * 100 }
    change.high = c.interval.map { (exp($0.high) - 1) * 100 }
    change.p = c.method.givesVerdict ? c.pValue : nil
}

/// The verdicts: a change point is confirmed when its q < 0.05. Its p is compare's for a boundary
/// chosen after looking at the runs, so it is first multiplied by the places the boundary could have
/// been (Bonferroni), then adjusted with Benjamini-Hochberg over every hypothesis examined: each
/// change point, and each series examined where Otava found none. A lab that looks at a thousand
/// flat series is then told of a change in none of them 95% of the time.
package func adjust(_ changes: inout [ChangePoint], examined: Int) {
    let withChanges = Set(changes.map { $0.series.hostname + "\u{0}" + historyKeyText($0.series.key) + "\u{0}" + $0.series.metric }).count
    let corrected: [Double?] = changes.map { c in c.p.map { min(1, $0 * Double(c.places)) } }
    let q = benjaminiHochberg(corrected + Array(repeating: 1.0, count: max(0, examined - withChanges)))
    for i in changes.indices {
        changes[i].q = q[i]
        changes[i].confirmed = (q[i] ?? 1) < significanceLevel
    }
}

/// One stored case read back with its run's environment and its trials.
package func loadStoredCase(_ db: HistoryDatabase, _ p: SeriesPoint) throws -> StoredCase {
    func pairs(_ rows: [[SQLValue]]) -> [(name: String, value: String)] { rows.map { ($0[0].string ?? "", $0[1].string ?? "") } }
    let environment = pairs(try db.query("SELECT name, value FROM run_environment WHERE run = ?", [.integer(p.runRow)]))
    let key = pairs(try db.query("SELECT name, value FROM case_keys WHERE case_id = ?", [.integer(p.caseID)]))
    let cells = pairs(try db.query("SELECT name, value FROM case_cells WHERE case_id = ?", [.integer(p.caseID)]))
    var trials: [Int64: [(name: String, value: String)]] = [:]
    for row in try db.query("SELECT position, name, value FROM trial_cells WHERE case_id = ?", [.integer(p.caseID)]) {
        guard let position = row[0].integer else { continue }
        trials[position, default: []].append((row[1].string ?? "", row[2].string ?? ""))
    }
    return StoredCase(environment: environment, key: key, cells: cells, trials: trials.keys.sorted().map { trials[$0]! })
}

/// The columns of `history changes --format csv`.
package func changesHeader(_ keys: [String]) -> [String] {
    keys + ["metric", "hostname", "before_timestamp_utc", "before_run_id", "before_kernel", "after_timestamp_utc", "after_run_id",
            "after_kernel", "change_pct", "otava_p", "q", "change_ci95_low_pct", "change_ci95_high_pct", "verdict"]
}

package func formatChanges(_ series: [Series], _ changes: [ChangePoint], _ format: HistoryFormat) -> String {
    let keys = keyColumns(series)
    func pct(_ v: Double?) -> String { v.map { formatDecimal($0, places: 2) } ?? "" }
    let rows: [[String]] = changes.map { c in
        keys.map { name in c.series.key.first { $0.name == name }?.value ?? "" }
            + [c.series.metric, c.series.hostname, c.before.timestampUTC, c.before.runID, c.before.kernelRelease,
               c.after.timestampUTC, c.after.runID, c.after.kernelRelease, pct(c.percent),
               c.otavaP.isFinite ? formatDecimal(c.otavaP, places: 6) : "", c.q.map { formatDecimal($0, places: 4) } ?? "",
               pct(c.low), pct(c.high), c.confirmed ? "confirmed" : "not confirmed"]
    }
    return renderRows(changesHeader(keys), rows, format,
                      numeric: ["change_pct", "otava_p", "q", "change_ci95_low_pct", "change_ci95_high_pct"])
}

/// A YAML string in single quotes (a quote in it doubled).
package func yamlQuoted(_ text: String) -> String {
    "'" + text.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "''") + "'"
}

/// A private folder in TMPDIR for the files handed to another program, removed with what was made in it.
package final class TemporaryFolder {
    package let path: String
    package var made: [String] = []

    package init(prefix: String) throws {
        var base = environmentValue("TMPDIR") ?? "/tmp"
        if base.isEmpty { base = "/tmp" }
        do { path = try makeTemporaryDirectory(base + "/" + prefix) } catch let error as SystemCallError {
            throw DatabaseError("\(base): cannot make a temporary folder: \(errorText(error.code))")
        }
    }

    /// Writes `name` in the folder; its path.
    package func write(_ name: String, _ text: String) throws -> String {
        let file = path + "/" + name
        let fd = openFileOrErrno(file, O_WRONLY | O_CREAT | O_EXCL, permissions: 0o600)
        guard fd >= 0 else { throw DatabaseError("\(file): cannot write: \(errorText(-fd))") }
        made.append(file)
        defer { closeDescriptor(fd) }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { writeFully(fd, $0.baseAddress!, $0.count) }
        guard written >= 0 else { throw DatabaseError("\(file): cannot write: \(errorText(Int32(-written)))") }
        return file
    }

    package func remove() {
        for file in made { removeFile(file) }
        removeDirectory(path)
    }
}

/// Reading Otava's JSON output.
extension JSONTree {
    package subscript(_ name: String) -> JSONTree? {
        if case .object(let o) = self { return o[name] }
        return nil
    }

    package var members: [String: JSONTree] { if case .object(let o) = self { return o }; return [:] }
    package var items: [JSONTree] { if case .array(let a) = self { return a }; return [] }
    package var text: String? { if case .string(let s) = self { return s }; return nil }

    /// A number, or a string that holds one (Otava writes some figures as strings).
    package var number: Double? {
        switch self {
        case .int(let n): return Double(n)
        case .double(let d): return d
        case .string(let s): return Double(s)
        case .null, .bool, .array, .object: return nil
        }
    }
}
