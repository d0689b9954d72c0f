import Glibc

/// The largest results or trials file compare reads, in bytes.
public let compareFileLimit = 256 << 20

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

    static let required = ["run_id", "hostname", "kernel_release", "cpu_model", "transport", "pattern",
                           "payload_bytes", "cpu_placement", "options", "status", "repetitions",
                           "mib_per_s_median", "mib_per_s_mean", "mib_per_s_stddev", "rtt_us_p50", "rtt_us_p99",
                           "rtt_us_mean", "rtt_us_stddev", "messages_per_trial"]
    /// The trials columns compare reads; version 0.1.0 files have them too.
    static let requiredTrialColumns = ["run_id", "transport", "pattern", "payload_bytes", "cpu_placement", "options",
                                       "trial", "mib_per_s", "rtt_us_p50", "rtt_us_p99"]

    /// Reads `path` and the trials file beside it. Throws `InputError` for anything that is not a
    /// well-formed results file, and for a trials file written by another run.
    public static func load(_ path: String) throws -> ResultFile {
        guard let text = try readRegularFile(path) else { throw InputError("\(path): cannot read the file (does it exist?)") }
        let (header, cases) = try records(text, path: path, required: required, what: "an ipcbench results file")
        let rows = cases.map(CaseRow.init)
        let stem = path.hasSuffix(".csv") ? String(path.dropLast(4)) : path
        let trialsPath = stem + "-trials.csv"
        var trials: [CaseKey: [TrialRow]]? = nil
        if let trialsText = try readRegularFile(trialsPath) {
            let trialRows = try records(trialsText, path: trialsPath, required: requiredTrialColumns, what: "an ipcbench trials file").1.map(TrialRow.init)
            let runs = Set(rows.map(\.runID))
            if let (index, stranger) = trialRows.enumerated().first(where: { !runs.contains($0.1.runID) }) {
                throw InputError("\(trialsPath): row \(index + 2) has run_id \(stranger.runID) but \(path) has run_id \(runs.sorted().joined(separator: ", ")); the trials file is from another run: put the run's own trials file beside it, or move it away")
            }
            trials = Dictionary(grouping: trialRows, by: \.key)
        }
        return ResultFile(path: path, header: header, cases: cases, rows: rows, trials: trials)
    }

    static func records(_ text: String, path: String, required: [String], what: String) throws -> ([String], [[String: String]]) {
        let rows = parseCSV(text).filter { !($0.count == 1 && $0[0].isEmpty) }
        guard let header = rows.first else { throw InputError("\(path): the file is empty; expected \(what) with a header row") }
        guard header.contains("run_id") && header.contains("transport") else {
            throw InputError("\(path): not \(what) (the header has no run_id and transport columns)")
        }
        if let missing = required.first(where: { !header.contains($0) }) {
            throw InputError("\(path): the column \(missing) is missing; was the file written by ipcbench?")
        }
        var seen = Set<String>()
        if let twice = header.first(where: { !seen.insert($0).inserted }) {
            throw InputError("\(path): the column \(twice) appears twice in the header; was the file written by ipcbench?")
        }
        guard rows.count > 1 else { throw InputError("\(path): the file has a header but no rows") }
        let records = try rows.dropFirst().enumerated().map { index, row in
            guard row.count == header.count else {
                throw InputError("\(path): row \(index + 2) has \(row.count) cells but the header has \(header.count)")
            }
            return Dictionary(uniqueKeysWithValues: zip(header, row))
        }
        return (header, records)
    }

    /// The environment columns: those before `transport`, less the run's identity, time, version and
    /// seed (the seed of the shuffled order differs on every run by design).
    var environmentColumnNames: [String] {
        Array(header.prefix { $0 != "transport" }).filter { !["run_id", "timestamp_utc", "ipcbench_version", "seed"].contains($0) }
    }
}

/// Which case a row of a results or trials file belongs to: the fields cases are matched on.
public struct CaseKey: Hashable, Sendable {
    public var transport: String
    public var pattern: String
    public var payloadBytes: String
    /// The placement mode only (split, same, none, pinned): CPU numbers differ between machines.
    public var placement: String
    public var options: String
    /// The pattern's parameter and its value, as "depth 4"; empty where it takes none, and in files from before 0.2.0.
    public var parameter: String

    init(_ row: [String: String]) {
        transport = row["transport"] ?? ""
        pattern = row["pattern"] ?? ""
        payloadBytes = row["payload_bytes"] ?? ""
        placement = String((row["cpu_placement"] ?? "").prefix { $0 != ":" })
        options = row["options"] ?? ""
        parameter = CaseParameter.allCases.compactMap { p in row[p.rawValue].flatMap { $0.isEmpty ? nil : "\(p.rawValue) \($0)" } }
            .joined(separator: " ")
    }

    /// The key with the `ignored` fields left empty.
    func ignoring(_ ignored: Set<JoinKey>) -> CaseKey {
        var key = self
        for field in ignored { key[keyPath: field.keyPath] = "" }
        return key
    }

    /// The case's name in the report: its fields that are not empty, joined with spaces.
    var name: String { JoinKey.allCases.map { self[keyPath: $0.keyPath] }.filter { !$0.isEmpty }.joined(separator: " ") }
}

/// One row of a results file, with the columns compare reads.
public struct CaseRow {
    public let key: CaseKey
    public let runID: String
    public let status: String
    public let hostname: String
    public let kernelRelease: String
    public let cpuModel: String
    /// Per metric, the case column's text as read ("" where the file has no such column).
    let figures: [(metric: Metric, text: String)]
    /// For the Welch test on the summary columns: (mean, stddev, count) of the trials' MiB/s, and of
    /// all the round trips; nil where the columns do not hold usable numbers.
    let throughputSummary: (mean: Double, sd: Double, n: Double)?
    let roundTripSummary: (mean: Double, sd: Double, n: Double)?

    init(_ row: [String: String]) {
        func cell(_ column: String) -> String { row[column] ?? "" }
        key = CaseKey(row)
        runID = cell("run_id")
        status = cell("status")
        hostname = cell("hostname")
        kernelRelease = cell("kernel_release")
        cpuModel = cell("cpu_model")
        figures = Metric.all.map { ($0, cell($0.caseColumn)) }
        func number(_ column: String, from low: Double, to high: Double) -> Double? {
            Double(cell(column)).flatMap { $0.isFinite && $0 >= low && $0 <= high ? $0 : nil }
        }
        func summary(_ meanColumn: String, _ sdColumn: String, count: Double?) -> (mean: Double, sd: Double, n: Double)? {
            guard let mean = positiveFigure(cell(meanColumn)), let sd = number(sdColumn, from: 0, to: largestFigure), let count else { return nil }
            return (mean, sd, count)
        }
        let repetitions = number("repetitions", from: 1, to: 1e9)
        let trips = number("messages_per_trial", from: 1, to: 1e12)
        throughputSummary = summary("mib_per_s_mean", "mib_per_s_stddev", count: repetitions)
        // The mean and deviation of all round trips of the case.
        roundTripSummary = summary("rtt_us_mean", "rtt_us_stddev", count: repetitions.flatMap { reps in trips.map { $0 * reps } })
    }

    func figure(_ metric: Metric) -> String { figures.first { $0.metric == metric }?.text ?? "" }

    /// (mean, stddev, count) for the summary Welch test of `metric`: MiB/s for throughput, the round trips otherwise.
    func summary(_ metric: Metric) -> (mean: Double, sd: Double, n: Double)? {
        metric == .throughput ? throughputSummary : roundTripSummary
    }
}

/// One row of a trials file, with the columns compare reads.
public struct TrialRow {
    public let key: CaseKey
    public let runID: String
    /// The `trial` column: the trial's number, as read.
    public let trial: String
    /// Per metric, the trial column's text as read ("" where the file has no such column).
    let figures: [(metric: Metric, text: String)]

    init(_ row: [String: String]) {
        key = CaseKey(row)
        runID = row["run_id"] ?? ""
        trial = row["trial"] ?? ""
        figures = Metric.all.map { ($0, row[$0.trialColumn] ?? "") }
    }

    func figure(_ metric: Metric) -> String { figures.first { $0.metric == metric }?.text ?? "" }
}

/// Reads a regular file of at most `compareFileLimit` bytes; nil when it does not exist. Anything
/// else (a FIFO, a device, a directory, a file too big) is an `InputError`.
func readRegularFile(_ path: String) throws -> String? {
    // O_NONBLOCK: opening a FIFO must not wait for a writer.
    let fd = Int32(retryingInterrupts { Int(open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) })
    if fd < 0 {
        if -fd == ENOENT { return nil }
        throw InputError("\(path): cannot read the file: \(String(cString: strerror(-fd)))")
    }
    defer { close(fd) }
    var info = stat()
    let statResult = resultOrErrno { Int(fstat(fd, &info)) }
    guard statResult >= 0 else { throw InputError("\(path): cannot read the file: \(String(cString: strerror(Int32(-statResult))))") }
    let type = info.st_mode & S_IFMT
    guard type == S_IFREG else {
        let kind = type == S_IFDIR ? "a directory" : type == S_IFIFO ? "a FIFO" : type == S_IFCHR ? "a character device"
            : type == S_IFBLK ? "a block device" : type == S_IFSOCK ? "a socket" : "not a plain file"
        throw InputError("\(path): \(kind), not a regular file; compare reads results files (.csv) only")
    }
    let tooBig = InputError("\(path): larger than \(compareFileLimit >> 20) MiB, the most compare reads; is it a results file?")
    guard info.st_size <= compareFileLimit else { throw tooBig }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = retryingInterrupts { chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) } }
        if n < 0 { throw InputError("\(path): cannot read the file: \(String(cString: strerror(Int32(-n))))") }
        if n == 0 { break }
        bytes.append(contentsOf: chunk[0..<n])
        if bytes.count > compareFileLimit { throw tooBig }
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// One side of a comparison: one results file, or several runs of the same setup (the unit of
/// replication is then the run).
public struct Side {
    public let files: [ResultFile]

    public init(files: [ResultFile]) { self.files = files }

    /// The side's files joined with commas, as given on the command line.
    public var label: String { files.map(\.path).joined(separator: ",") }
}

/// The fields cases are matched on; `--ignore` drops some.
public enum JoinKey: String, CaseIterable, Sendable {
    case transport, pattern, payload, placement, options, parameter

    var keyPath: WritableKeyPath<CaseKey, String> {
        switch self {
        case .transport: return \.transport
        case .pattern: return \.pattern
        case .payload: return \.payloadBytes
        case .placement: return \.placement
        case .options: return \.options
        case .parameter: return \.parameter
        }
    }

    /// This field of a row read by column name.
    func value(_ row: [String: String]) -> String { CaseKey(row)[keyPath: keyPath] }
}

/// How an interval was found (the `method` column of the CSV).
public enum IntervalMethod: String, Sendable {
    /// One run a side: the Mann-Whitney shift interval on the logs of the trials.
    case uShift = "U-shift"
    /// Several runs on a side: Welch's t interval over the runs' log medians.
    case runsWelch = "runs-welch"
    /// One run a side and a trials file missing: Welch on the summary columns.
    case summaryWelch = "summary-welch"
    /// Geometric mean, one run a side: trials resampled within each case.
    case bootstrap = "bootstrap"
    /// No interval could be computed.
    case none = ""
}

/// One case and metric, the base side against one new side.
public struct Change {
    public let caseName: String
    /// The case's key, the fields left out of the join empty.
    public let key: CaseKey
    public let metric: Metric
    public let newSide: Int
    /// Each side's center: the median of the trials (one run), or the geometric mean of the run medians.
    public let base: Double
    public let new: Double
    /// For log(new/base); nil when none could be computed.
    public let interval: LogInterval?
    public let method: IntervalMethod
    /// Per run, log of the run's median (used by the geometric mean over runs).
    let baseRunLogs: [Double]
    let newRunLogs: [Double]
    /// The trials (one run a side), for the bootstrap of the geometric mean.
    let baseTrials: [Double]?
    let newTrials: [Double]?

    /// new/base − 1, in percent.
    public var percent: Double { (new / base - 1) * 100 }
    public var significant: Bool { interval?.excludesZero ?? false }
    /// A regression whose whole interval lies beyond `pct` percent.
    public func isRegression(beyond pct: Double) -> Bool {
        guard let i = interval else { return false }
        return metric.higherIsBetter ? (exp(i.high) - 1) * 100 < -pct : (exp(i.low) - 1) * 100 > pct
    }
}

/// The geometric mean of new/base over the compared cases of one metric and new side.
public struct GeomeanChange {
    public let metric: Metric
    public let newSide: Int
    public let cases: Int
    public let percent: Double
    public let interval: LogInterval?
    public let method: IntervalMethod
    public var significant: Bool { interval?.excludesZero ?? false }
}

/// Everything `ipcbench compare` reports.
public struct CompareReport {
    public let sides: [Side]
    public let changes: [Change]
    public let geomeans: [GeomeanChange]
    /// Cases not present in every file: (case name, where it is present).
    public let unmatched: [(String, [String])]
    /// Cases that are not ok in some file: (case name, "<status> in <where>" for each such file).
    public let notCompared: [(String, [String])]
    public let warnings: [String]
    /// Differences between the sides' environments that are expected (the kernel).
    public let notes: [String]
    /// The interval level is 1 − alpha.
    public let alpha: Double

    /// Some new side is compared one run against one run: run-to-run variance is not measured.
    public var oneRunComparison: Bool { sides.dropFirst().contains { $0.files.count == 1 } && sides[0].files.count == 1 }

    func sideName(_ i: Int) -> String { i == 0 ? "base" : (sides.count > 2 ? "new\(i)" : "new") }
}

/// Largest figure compare accepts; anything bigger is a broken file, not a measurement.
let largestFigure = 1e15

/// A figure a ratio can use: finite, positive, at most `largestFigure`.
func positiveFigure(_ text: String) -> Double? {
    guard let v = Double(text), v.isFinite, v > 0, v <= largestFigure else { return nil }
    return v
}

/// The figures of one run for one case and metric.
enum RunFigures {
    case trials([Double])
    /// No trials: the case row's median, and (mean, sd, count) for the summary Welch test when available.
    case summary(median: Double, welch: (mean: Double, sd: Double, n: Double)?)

    var center: Double {
        switch self {
        case .trials(let values): return median(values)
        case .summary(let m, _): return m
        }
    }
}

/// The figures of `row` in `file` for `metric`, or a warning naming what is wrong with them.
func runFigures(_ file: ResultFile, _ row: CaseRow, _ metric: Metric, caseName: String) -> Result<RunFigures, CompareWarning> {
    func bad(_ column: String, _ text: String, trial: String? = nil) -> CompareWarning {
        CompareWarning("\(file.path): \(caseName): \(column) is '\(text)'\(trial.map { " in trial \($0)" } ?? ""), not a positive number up to 1e15; the case is skipped")
    }
    if let trials = file.trials?[row.key] {
        var values: [Double] = []
        for t in trials {
            guard let v = positiveFigure(t.figure(metric)) else { return .failure(bad(metric.trialColumn, t.figure(metric), trial: t.trial)) }
            values.append(v)
        }
        return .success(.trials(values))
    }
    guard let m = positiveFigure(row.figure(metric)) else { return .failure(bad(metric.caseColumn, row.figure(metric))) }
    return .success(.summary(median: m, welch: row.summary(metric)))
}

/// A warning line (an Error so that it can travel in a Result).
struct CompareWarning: Error {
    let text: String
    init(_ text: String) { self.text = text }
}

/// Compares each new side with the base side (sides[0]), case by case, with 1 − alpha intervals.
public func compareResults(_ sides: [Side], ignoring: Set<JoinKey>, alpha: Double) -> CompareReport {
    func sideName(_ i: Int) -> String { i == 0 ? "base" : (sides.count > 2 ? "new\(i)" : "new") }
    func place(_ side: Int, _ file: Int) -> String {
        sides[side].files.count > 1 ? "\(sideName(side)) run \(file + 1)" : sideName(side)
    }
    var warnings: [String] = []
    var notes: [String] = []
    // Index each file's ok rows by key, keeping the first of any duplicates.
    var indexed: [[[CaseKey: CaseRow]]] = []
    var order: [CaseKey] = []
    var seen = Set<CaseKey>()
    for side in sides {
        var sideMaps: [[CaseKey: CaseRow]] = []
        for file in side.files {
            var map: [CaseKey: CaseRow] = [:]
            var duplicates = 0
            for row in file.rows where row.status == "ok" {
                let k = row.key.ignoring(ignoring)
                if map[k] != nil { duplicates += 1; continue }
                map[k] = row
                if seen.insert(k).inserted { order.append(k) }
            }
            if duplicates > 0 {
                warnings.append("\(file.path): \(duplicates) cases match another case of the same file once \(ignoring.map(\.rawValue).sorted().joined(separator: ", ")) is ignored; the first of each is compared")
            }
            sideMaps.append(map)
        }
        indexed.append(sideMaps)
    }
    environmentDifferences(sides, sideName: sideName, warnings: &warnings, notes: &notes)
    if sides.contains(where: { $0.files.count > 1 }) {
        for side in sides { for file in side.files where file.trials == nil {
            warnings.append("\(file.path): no trials file beside it; its run figures come from its median columns (for latency the percentiles of all round trips, not the median of the trials' percentiles)")
        } }
    }

    var notCompared: [(String, [String])] = []
    for (s, side) in sides.enumerated() {
        for (f, file) in side.files.enumerated() {
            for row in file.rows where row.status != "ok" {
                let n = row.key.ignoring(ignoring).name, what = "\(row.status) in \(place(s, f))"
                if let index = notCompared.firstIndex(where: { $0.0 == n }) { notCompared[index].1.append(what) } else { notCompared.append((n, [what])) }
            }
        }
    }

    var cache: [[Int]: [Double]] = [:]
    func counts(_ m: Int, _ n: Int) -> [Double] {
        if let c = cache[[m, n]] { return c }
        let c = mannWhitneyCounts(m, n)
        cache[[m, n]] = c
        return c
    }
    var changes: [Change] = []
    var unmatched: [(String, [String])] = []
    var summaryWarned = Set<String>()
    for k in order {
        var present: [String] = []
        var complete: [Bool] = []
        for (s, maps) in indexed.enumerated() {
            let have = maps.indices.filter { maps[$0][k] != nil }
            complete.append(have.count == maps.count)
            if have.count == maps.count { present.append(sideName(s)) } else { present += have.map { place(s, $0) } }
        }
        let caseName = k.name
        if complete.contains(false) { unmatched.append((caseName, present)) }
        guard complete[0] else { continue }
        let baseRows = indexed[0].map { $0[k]! }
        for newIndex in sides.indices.dropFirst() where complete[newIndex] {
            let newRows = indexed[newIndex].map { $0[k]! }
            for metric in Metric.of(pattern: baseRows[0].key.pattern) {
                var figures: [[RunFigures]] = [[], []]
                var problem: String? = nil
                for (slot, (side, rows)) in [(sides[0], baseRows), (sides[newIndex], newRows)].enumerated() {
                    for (file, row) in zip(side.files, rows) {
                        switch runFigures(file, row, metric, caseName: caseName) {
                        case .success(let f): figures[slot].append(f)
                        case .failure(let w): problem = problem ?? w.text
                        }
                    }
                }
                if let problem {
                    if !warnings.contains(problem) { warnings.append(problem) }
                    continue
                }
                let (b, n) = (figures[0], figures[1])
                let baseLogs = b.map { log($0.center) }, newLogs = n.map { log($0.center) }
                var interval: LogInterval? = nil
                var method = IntervalMethod.none
                var baseTrials: [Double]? = nil, newTrials: [Double]? = nil
                if b.count > 1 || n.count > 1 {
                    interval = welchInterval(baseLogs, newLogs, alpha: alpha)
                    method = interval == nil ? .none : .runsWelch
                } else if case .trials(let x) = b[0], case .trials(let y) = n[0] {
                    interval = shiftInterval(x.map { log($0) }, y.map { log($0) }, alpha: alpha, counts: counts)
                    method = .uShift
                    baseTrials = x; newTrials = y
                } else {
                    let summaries = [b[0], n[0]].map { f -> (mean: Double, sd: Double, n: Double)? in
                        switch f {
                        case .summary(_, let w): return w
                        case .trials(let v):
                            let mean = v.reduce(0, +) / Double(v.count)
                            let sd = v.count > 1 ? (v.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(v.count - 1)).squareRoot() : 0
                            return (mean, sd, Double(v.count))
                        }
                    }
                    if let sb = summaries[0], let sn = summaries[1] {
                        interval = summaryWelchInterval(base: sb, new: sn, alpha: alpha)
                    }
                    method = interval == nil ? .none : .summaryWelch
                    let lacking = [(sides[0].files[0], b[0]), (sides[newIndex].files[0], n[0])].filter {
                        if case .summary = $0.1 { return true } else { return false }
                    }.map(\.0.path)
                    let line = "\(caseName): no trials in \(lacking.joined(separator: " and ")); its interval comes from a Welch test on the summary columns"
                    if summaryWarned.insert(line).inserted { warnings.append(line) }
                }
                changes.append(Change(caseName: caseName, key: k,
                                      metric: metric, newSide: newIndex,
                                      base: exp(baseLogs.reduce(0, +) / Double(baseLogs.count)),
                                      new: exp(newLogs.reduce(0, +) / Double(newLogs.count)),
                                      interval: interval, method: method, baseRunLogs: baseLogs, newRunLogs: newLogs,
                                      baseTrials: baseTrials, newTrials: newTrials))
            }
        }
    }

    var geomeans: [GeomeanChange] = []
    for newIndex in sides.indices.dropFirst() {
        for metric in Metric.all {
            let matching = changes.filter { $0.newSide == newIndex && $0.metric == metric }
            guard !matching.isEmpty else { continue }
            let count = Double(matching.count)
            let percent = (exp(matching.reduce(0) { $0 + log($1.new / $1.base) } / count) - 1) * 100
            var interval: LogInterval? = nil
            var method = IntervalMethod.none
            if sides[0].files.count > 1 || sides[newIndex].files.count > 1 {
                // Per run, the mean over cases of the log median: the run effect is shared by all its cases.
                let baseRuns = sides[0].files.indices.map { r in matching.reduce(0) { $0 + $1.baseRunLogs[r] } / count }
                let newRuns = sides[newIndex].files.indices.map { r in matching.reduce(0) { $0 + $1.newRunLogs[r] } / count }
                interval = welchInterval(baseRuns, newRuns, alpha: alpha)
                method = interval == nil ? .none : .runsWelch
            } else if matching.allSatisfy({ $0.baseTrials != nil && $0.newTrials != nil }) {
                interval = bootstrapGeomeanInterval(matching.map { ($0.baseTrials!, $0.newTrials!) }, alpha: alpha)
                method = interval == nil ? .none : .bootstrap
            }
            geomeans.append(GeomeanChange(metric: metric, newSide: newIndex, cases: matching.count, percent: percent,
                                          interval: interval, method: method))
        }
    }
    return CompareReport(sides: sides, changes: changes, geomeans: geomeans, unmatched: unmatched, notCompared: notCompared,
                         warnings: warnings, notes: notes, alpha: alpha)
}

/// Warns about every environment column (and the placement modes) that differs between or within
/// the sides. The kernel differing between the sides is the point of a comparison: a note.
func environmentDifferences(_ sides: [Side], sideName: (Int) -> String, warnings: inout [String], notes: inout [String]) {
    var columns: [String] = []
    for side in sides { for file in side.files { for c in file.environmentColumnNames where !columns.contains(c) { columns.append(c) } } }
    func quoted(_ values: [String]) -> String { values.map { "\"\($0)\"" }.joined(separator: ", ") }
    func values(_ side: Side, _ column: String) -> [String] {
        var out: [String] = []
        for file in side.files {
            // By name in the whole row: a column of one file's environment group may sit after `transport` in another's.
            for row in file.cases {
                let v = row[column] ?? "(no such column)"
                if !out.contains(v) { out.append(v) }
            }
        }
        return out
    }
    let kernel = ["kernel_release", "kernel_version"]
    for column in columns {
        let perSide = sides.map { values($0, column) }
        for (i, v) in perSide.enumerated() where v.count > 1 {
            warnings.append("the runs of \(sideName(i)) differ in \(column): \(quoted(v))")
        }
        if perSide.contains(where: { Set($0) != Set(perSide[0]) }) {
            let line = "the sides differ in \(column): " + perSide.map(quoted).joined(separator: " vs ")
            if kernel.contains(column) { notes.append(line) } else { warnings.append(line) }
        }
    }
    let modes = sides.map { side in Set(side.files.flatMap { $0.rows.map(\.key.placement) }).sorted().joined(separator: "+") }
    if modes.contains(where: { $0 != modes[0] }) {
        warnings.append("the sides differ in placement: " + modes.joined(separator: " vs "))
    }
}
