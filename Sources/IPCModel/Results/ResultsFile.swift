import Glibc
import IPCPlatform

/// A column of a results file with how a row's value is taken: the header, the rows and the JSON
/// form are all made from one list of these, so they cannot disagree.
package struct Column<Row>: Sendable {
    package let spec: ResultColumn
    package let value: @Sendable (Row) -> Value?

    package init(_ name: String, version: Int = 1, unit: String? = nil, _ kind: ColumnKind, at path: [String], _ value: @escaping @Sendable (Row) -> Value?) {
        spec = ResultColumn(name: name, version: version, unit: unit, kind: kind, path: path)
        // The record holds what the CSV writes: a figure rounded to its column's decimals (none
        // where it is not finite), an empty text as no value.
        self.value = { row in
            switch (value(row), kind) {
            case (.decimal(let d, _)?, .decimal(let places)):
                return Double(formatDecimal(d, places: places)).map { .decimal($0, places: places) }
            case (.text("")?, _): return nil
            case (let v, _): return v
            }
        }
    }

    package var name: String { spec.name }
}

/// A figure; `Column` gives it its column's decimals.
@Sendable private func figure(_ v: Double) -> Value { .decimal(v, places: 0) }

private let text = ColumnKind.text(names: nil)
private let count = ColumnKind.whole(least: 0)

/// The environment group that leads every case row.
package let environmentSchema: [Column<Environment>] = {
    typealias C = Column<Environment>
    func t(_ name: String, version: Int = 1, _ v: @escaping @Sendable (Environment) -> String) -> C {
        C(name, version: version, text, at: ["environment", name]) { .text(v($0)) }
    }
    return [
        t("run_id") { $0.runID }, t("timestamp_utc") { $0.timestampUTC }, t("hostname") { $0.hostname },
        t("kernel_release") { $0.kernelRelease }, t("kernel_version") { $0.kernelVersion }, t("arch") { $0.arch },
        t("cpu_model") { $0.cpuModel }, C("cpus_online", count, at: ["environment", "cpus_online"]) { .whole($0.cpusOnline) },
        t("ipcbench_version") { $0.version },
        t("mitigations", version: 2) { $0.mitigations }, t("kernel_cmdline_mitigations", version: 2) { $0.cmdlineMitigations },
        t("kernel_cmdline_preempt", version: 2) { $0.cmdlinePreempt }, t("smt", version: 2) { $0.smt },
        t("clocksource", version: 2) { $0.clocksource }, t("cpu_governor", version: 2) { $0.cpuGovernor },
        t("boot_id", version: 3) { $0.bootID }, t("proc_version", version: 3) { $0.procVersion },
        t("kernel_cmdline", version: 3) { $0.kernelCmdline }, t("virtualization", version: 3) { $0.virtualization },
        t("command", version: 3) { $0.command },
    ]
}()

public let environmentColumns = environmentSchema.map(\.name)

public func environmentRow(_ env: Environment) -> [String] { environmentSchema.map { $0.value(env)?.text ?? "" } }

/// One case row's sources.
package typealias CaseRowSource = (result: CaseResult, env: Environment)

/// The metrics whose case-file column came before their trials-file column (Metric.version is the latter's).
private let caseColumnFirstVersion = ["msgs_per_s": 1, "mib_per_s_forward": 2, "mib_per_s_backward": 2]

/// The case file's columns after the environment, in the results format's order: the case, its
/// settings, its status, every metric's summary of the trials (`Metric.summaryColumns`), the round
/// trips, the CPU, the datagrams and the proofs. Never rename one; add at a group's end.
package let caseSchema: [Column<CaseRowSource>] = {
    typealias C = Column<CaseRowSource>
    @Sendable func decimal(_ v: Double?) -> Value? { v.map(figure) }
    @Sendable func number(_ v: UInt64?) -> Value? { v.map { .whole(Int(clamping: $0)) } }
    @Sendable func perMessage(_ r: CaseResult, _ v: UInt64) -> Value? {
        r.measuredMessages > 0 ? figure(Double(v) / Double(r.measuredMessages)) : nil
    }
    let names = { (all: [String]) in ColumnKind.text(names: all) }
    let key: [C] = [
        C("transport", names(TransportKind.allCases.map(\.rawValue)), at: ["key", "transport"]) { .text($0.result.benchCase.transport.rawValue) },
        C("pattern", names(PatternKind.allCases.map(\.rawValue)), at: ["key", "pattern"]) { .text($0.result.benchCase.pattern.rawValue) },
        C("payload_bytes", unit: "bytes", .whole(least: 1), at: ["key", "payload_bytes"]) { .whole($0.result.benchCase.payloadBytes) },
        C("messages_per_trial", unit: "messages", count, at: ["messages_per_trial"]) { .whole($0.result.messagesPerTrial) },
        C("bytes_per_trial", unit: "bytes", count, at: ["bytes_per_trial"]) { .whole($0.result.bytesPerTrial) },
        C("repetitions", count, at: ["repetitions"]) { .whole($0.result.benchCase.repetitions) },
        C("warmup", count, at: ["warmup"]) { .whole($0.result.benchCase.warmup) },
        C("cpu_placement", text, at: ["key", "cpu_placement"]) { .text($0.result.cpuPlacement) },
        C("options", text, at: ["key", "options"]) { .text($0.result.optionsLabel) },
        C("schedule", version: 2, text, at: ["schedule"]) { .text($0.result.schedule.rawValue) },
        C("seed", version: 2, count, at: ["seed"]) { .whole(Int(clamping: $0.result.seed)) },
    ] + CaseParameter.allCases.map { p in
        C(p.rawValue, version: p.version, p.names == nil ? count : text, at: ["key", p.rawValue]) { parameterValue($0.result.benchCase, p) }
    } + [
        C("workers", version: 3, text, at: ["settings", "workers"]) { .text($0.result.benchCase.workers.rawValue) },
        C("nodelay", version: 4, .flag, at: ["settings", "nodelay"]) { r in
            r.result.benchCase.transport.takesNoDelay ? .flag(r.result.benchCase.transportOptions.noDelay) : nil
        },
    ] + Knob.allCases.map { knob in
        C(knob.rawValue, version: 4, unit: knob.isSize ? "bytes" : "us", count, at: ["settings", knob.rawValue]) { r in
            r.result.knobs[knob].map(Value.whole)
        }
    } + [
        C("status", text, at: ["status"]) { .text($0.result.status.rawValue) },
        C("error", text, at: ["error"]) { .text($0.result.error) },
    ]
    let metrics: [C] = Metric.all.flatMap { m in
        m.summaryColumns.map { summary in
            C(summary.column, version: min(m.version, caseColumnFirstVersion[m.trialColumn] ?? m.version), unit: m.unit, .decimal(places: m.places),
              at: ["figures", m.trialColumn, String(summary.column.dropFirst(m.trialColumn.count + 1))]) {
                decimal($0.result.summaries[m].map(summary.statistic))
            }
        }
    }
    let rtt: [(String, @Sendable (RoundTripSummary) -> Double)] = [("min", \.min), ("p50", \.p50), ("p90", \.p90), ("p99", \.p99),
                                                        ("p999", \.p999), ("max", \.max), ("mean", \.mean), ("stddev", \.stddev)]
    let roundTrips: [C] = rtt.map { name, value in
        C("rtt_us_" + name, unit: "us", .decimal(places: 3), at: ["round_trips_us", name]) { decimal($0.result.roundTrips.map(value)) }
    }
    // At an offered rate the round trips are timed from the intended sends; this one from the actual ones.
    let uncorrected = C("rtt_us_p999_uncorrected", version: 4, unit: "us", .decimal(places: 3), at: ["round_trips_us", "p999_uncorrected"]) {
        decimal($0.result.uncorrectedP999)
    }
    let cpu: [C] = [
        C("cpu_user_us_per_msg", unit: "us per message", .decimal(places: 4), at: ["cpu", "user_us_per_msg"]) { perMessage($0.result, $0.result.usage.userMicroseconds) },
        C("cpu_sys_us_per_msg", unit: "us per message", .decimal(places: 4), at: ["cpu", "sys_us_per_msg"]) { perMessage($0.result, $0.result.usage.systemMicroseconds) },
        C("ctxsw_voluntary_per_msg", unit: "per message", .decimal(places: 4), at: ["cpu", "ctxsw_voluntary_per_msg"]) { perMessage($0.result, $0.result.usage.voluntarySwitches) },
        C("ctxsw_involuntary_per_msg", unit: "per message", .decimal(places: 4), at: ["cpu", "ctxsw_involuntary_per_msg"]) { perMessage($0.result, $0.result.usage.involuntarySwitches) },
    ]
    let datagrams: [C] = [
        C("msgs_sent", unit: "messages", count, at: ["datagrams", "sent"]) { number($0.result.datagrams?.sent) },
        C("msgs_received", unit: "messages", count, at: ["datagrams", "received"]) { number($0.result.datagrams?.received) },
        C("msgs_lost", unit: "messages", count, at: ["datagrams", "lost"]) { number($0.result.datagrams?.lost) },
        C("msgs_reordered", unit: "messages", count, at: ["datagrams", "reordered"]) { number($0.result.datagrams?.reordered) },
        C("msgs_duplicated", unit: "messages", count, at: ["datagrams", "duplicated"]) { number($0.result.datagrams?.duplicated) },
    ]
    let proofs: [C] = [
        C("alloc_bytes_in_loop", unit: "bytes", count, at: ["alloc_bytes_in_loop"]) { number($0.result.allocatedBytesInLoop) },
        C("clock_overhead_ns", unit: "ns", .decimal(places: 1), at: ["clock_overhead_ns"]) { $0.result.status != .skipped ? figure($0.env.clockOverheadNs) : nil },
        C("peers_rejected", version: 2, unit: "connections and datagrams", count, at: ["peers_rejected"]) {
            $0.result.status != .skipped ? number($0.result.peersRejected) : nil
        },
    ]
    return key + metrics + roundTrips + [uncorrected] + cpu + datagrams + proofs
}()

/// The columns of `<stem>.csv` of format version `version`, in the results format's order.
public func caseFileColumns(version: Int = resultsFormatVersion) -> [ResultColumn] {
    (environmentSchema.map(\.spec) + caseSchema.map(\.spec)).filter { $0.version <= version }
}

/// The column names of `<stem>.csv`, in the results format's order.
public let caseColumns = caseFileColumns().map(\.name)

/// The typed values of one case row, matching `caseFileColumns()`.
public func caseValues(_ r: CaseResult, _ env: Environment) -> RowValues {
    RowValues(environmentSchema.map { $0.value(env) } + caseSchema.map { $0.value((r, env)) })
}

/// The cells of one case row, matching `caseColumns`.
public func caseRow(_ r: CaseResult, _ env: Environment) -> [String] { caseValues(r, env).cells(caseFileColumns()) }

/// One trial row's sources.
package typealias TrialRowSource = (result: CaseResult, trial: TrialRecord, env: Environment)

/// The trials file's columns: the case and the trial, then one per metric. Each version's columns
/// follow the earlier versions', its plain columns before its metrics (that is how they were added).
package let trialSchema: [Column<TrialRowSource>] = {
    typealias C = Column<TrialRowSource>
    let names = { (all: [String]) in ColumnKind.text(names: all) }
    let plain: [C] = [
        C("run_id", text, at: ["run_id"]) { .text($0.env.runID) },
        C("transport", names(TransportKind.allCases.map(\.rawValue)), at: ["key", "transport"]) { .text($0.result.benchCase.transport.rawValue) },
        C("pattern", names(PatternKind.allCases.map(\.rawValue)), at: ["key", "pattern"]) { .text($0.result.benchCase.pattern.rawValue) },
        C("payload_bytes", .whole(least: 1), at: ["key", "payload_bytes"]) { .whole($0.result.benchCase.payloadBytes) },
        C("cpu_placement", text, at: ["key", "cpu_placement"]) { .text($0.result.cpuPlacement) },
        C("options", text, at: ["key", "options"]) { .text($0.result.optionsLabel) },
        C("trial", count, at: ["trial"]) { .whole($0.trial.trial) },
        C("duration_ns", count, at: ["duration_ns"]) { .whole(Int(clamping: $0.trial.durationNs)) },
        C("bytes", count, at: ["bytes"]) { .whole(Int(clamping: $0.trial.bytes)) },
        C("messages", count, at: ["messages"]) { .whole(Int(clamping: $0.trial.messages)) },
        C("round", version: 2, count, at: ["round"]) { $0.trial.round.map(Value.whole) },
        C("start_ns", version: 2, count, at: ["start_ns"]) { .whole(Int(clamping: $0.trial.startNs)) },
    ] + CaseParameter.allCases.map { p in
        C(p.rawValue, version: p.version, p.names == nil ? count : text, at: ["key", p.rawValue]) { parameterValue($0.result.benchCase, p) }
    }
    let metrics = Metric.all.map { m in
        C(m.trialColumn, version: m.version, .decimal(places: m.places), at: ["figures", m.trialColumn]) { $0.trial.value(of: m).map(figure) }
    }
    let versions = Set((plain + metrics).map(\.spec.version)).sorted()
    return versions.flatMap { v in plain.filter { $0.spec.version == v } + metrics.filter { $0.spec.version == v } }
}()

/// The columns of `<stem>-trials.csv` of format version `version`.
public func trialFileColumns(version: Int = resultsFormatVersion) -> [ResultColumn] {
    trialSchema.map(\.spec).filter { $0.version <= version }
}

/// The column names of `<stem>-trials.csv`.
public let trialColumns = trialFileColumns().map(\.name)

/// The typed values of one trial row: trial `t` of case `r`.
public func trialValues(_ r: CaseResult, _ t: TrialRecord, _ env: Environment) -> RowValues {
    RowValues(trialSchema.map { $0.value((r, t, env)) })
}

/// One row of the trials file: trial `t` of case `r`.
public func trialRow(_ r: CaseResult, _ t: TrialRecord, _ env: Environment) -> [String] {
    trialValues(r, t, env).cells(trialFileColumns())
}

/// `ipcbench run ARGS (config sha256 HEX)`: how to make the run again, each argument quoted for a
/// shell where it needs it.
public func runCommand(_ arguments: [String], configSHA256: String) -> String {
    let plain = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./,=:+%@")
    let quoted = arguments.dropFirst().map { a in
        !a.isEmpty && a.allSatisfy(plain.contains) ? a : "'" + a.replacing("'", with: "'\\''") + "'"
    }
    return (["ipcbench"] + quoted).joined(separator: " ") + " (config sha256 \(configSHA256))"
}

/// depth, receivers, pairs, ...: the value of each the case's pattern takes, nil for the others.
package func parameterValue(_ c: BenchCase, _ p: CaseParameter) -> Value? {
    if p == .rate { return c.shape.rate.map(Value.whole) }
    if p == .wait { return c.shape.wait.map { .text($0.rawValue) } }
    guard c.pattern.parameters.contains(p) else { return nil }
    return p.names == nil ? .whole(c.shape[p]) : .text(p.text(c.shape[p]))
}

/// A CSV file written with plain write(2) calls, so each row is in the kernel's hands (and survives
/// the runner's death) the moment it is written. Created with O_EXCL: never overwrites. It only ever
/// holds whole rows: a row that cannot be written whole is cut off again.
public final class CSVFile {
    public let path: String
    private let fd: Int32
    private let owned: Bool
    /// Bytes of the whole rows written so far.
    private var length = 0

    /// Creates `path`, failing if it exists, and writes the header.
    public convenience init(creating path: String, header: [String]) throws {
        guard let fd = try Self.createExclusive(path) else {
            throw InputError("\(path) already exists; ipcbench never overwrites results: choose another --output")
        }
        try self.init(path: path, fd: fd, header: header)
    }

    /// Creates `path` as `init(creating:header:)` does; nil when it exists (another run took it).
    package convenience init?(claiming path: String, header: [String]) throws {
        guard let fd = try Self.createExclusive(path) else { return nil }
        try self.init(path: path, fd: fd, header: header)
    }

    private init(path: String, fd: Int32, header: [String]) throws {
        self.path = path
        self.fd = fd
        owned = true
        do { try self.write(header) } catch { discard(); throw error }
    }

    /// The new file's descriptor (O_EXCL: never one that exists); nil when `path` exists.
    package static func createExclusive(_ path: String) throws -> Int32? {
        let fd = openFileOrErrno(path, O_WRONLY | O_CREAT | O_EXCL, permissions: 0o644)
        if fd == -EEXIST { return nil }
        guard fd >= 0 else { throw InputError("cannot create \(path): \(errorText(-fd))") }
        return fd
    }

    /// Removes the file again: for a run that ends before it measured anything.
    public func discard() {
        if owned { removeFile(path) }
    }

    /// Standard output, for `--output -`.
    public init(standardOutput header: [String]) throws {
        path = "standard output"
        fd = 1
        owned = false
        try self.write(header)
    }

    /// Throws `ResultsWriteError`: a results file that cannot be written ends the run.
    public func write(_ fields: [String]) throws {
        // `check` refuses control characters: a text from the system (a hostname) is written escaped.
        let bytes = Array(csvLine(fields.map { escapingControlCharacters($0) }).utf8)
        let n = bytes.withUnsafeBytes { writeFully(fd, $0.baseAddress!, $0.count) }
        if n < 0 {
            if owned { truncateFile(fd, to: length) }
            throw ResultsWriteError(path: path, code: Int32(-n))
        }
        length += n
    }

    deinit { if owned { closeDescriptor(fd) } }
}

/// A results file written whole at once (the JSON form), created with O_EXCL: never overwrites.
/// A write that fails leaves the file empty; `discard` removes it.
public final class WholeFile {
    public let path: String
    private let fd: Int32
    private let owned: Bool

    /// Creates `path`, failing if it exists.
    public init(creating path: String) throws {
        guard let fd = try CSVFile.createExclusive(path) else {
            throw InputError("\(path) already exists; ipcbench never overwrites results: choose another --output")
        }
        self.path = path
        self.fd = fd
        owned = true
    }

    /// Standard output, for `--output -`.
    public init(standardOutput: Void) {
        path = "standard output"
        fd = 1
        owned = false
    }

    /// Throws `ResultsWriteError`.
    public func write(_ text: String) throws {
        let bytes = Array(text.utf8)
        let n = bytes.withUnsafeBytes { writeFully(fd, $0.baseAddress!, $0.count) }
        if n < 0 {
            if owned { truncateFile(fd, to: 0) }
            throw ResultsWriteError(path: path, code: Int32(-n))
        }
    }

    public func discard() {
        if owned { removeFile(path) }
    }

    deinit { if owned { closeDescriptor(fd) } }
}

/// Where a run's two files go, from `--output`: a folder (default results/), a `.csv` file, or `-`.
/// In a folder the stem is the run's (`<run_id>-<kernel release>`); runs that start in the same
/// second each take the first free of `<stem>`, `<stem>-2`, `<stem>-3`, ... when they create
/// their files, and put the same suffix in their run_id.
public struct OutputPaths: Equatable {
    /// nil for standard output.
    public private(set) var casesPath: String?
    public private(set) var trialsPath: String?
    /// The folder and stem the numbered names are made from; nil for a named file or `-`.
    private let numberedBase: String?
    /// What the run's files took after the stem: "" or `-2`, `-3`, ... (set by `createFiles`).
    public private(set) var suffix = ""

    public init(output: String?, stem: String) throws {
        let target = output ?? "results/"
        if target == "-" {
            casesPath = nil
            trialsPath = nil
            numberedBase = nil
            return
        }
        var isFolder = target.hasSuffix("/")
        if !isFolder && fileStatus(target)?.kind == .directory { isFolder = true }
        let base: String
        if isFolder {
            let folder = target.hasSuffix("/") ? String(target.dropLast()) : target
            do { try makeDirectory(folder) } catch let failure as SystemCallError {
                throw InputError("cannot create the output folder \(folder): \(errorText(failure.code))")
            }
            base = folder + "/" + stem
        } else {
            base = target.hasSuffix(".csv") ? String(target.dropLast(4)) : target
        }
        numberedBase = isFolder ? base : nil
        casesPath = base + ".csv"
        trialsPath = base + "-trials.csv"
        guard !isFolder else { return }
        // Not following links: a dangling symlink with the name would make O_EXCL fail later.
        for path in [casesPath!, trialsPath!] where fileStatus(path, followingLinks: false) != nil {
            throw InputError("\(path) already exists; ipcbench never overwrites results: choose another --output")
        }
    }

    /// Creates both files (or standard output) with their headers: both or neither, as a file made
    /// before a later one fails is removed again. In a folder, names another run holds are passed over.
    public mutating func createFiles(caseHeader: [String], trialHeader: [String]) throws -> (CSVFile, CSVFile?) {
        guard casesPath != nil else { return (try CSVFile(standardOutput: caseHeader), nil) }
        guard let base = numberedBase else { return try createPair(caseHeader, trialHeader)! }
        for n in 1...1000 {
            suffix = n == 1 ? "" : "-\(n)"
            casesPath = base + suffix + ".csv"
            trialsPath = base + suffix + "-trials.csv"
            if let files = try createPair(caseHeader, trialHeader) { return files }
        }
        throw InputError("\(base).csv and 999 numbered names after it exist; choose another --output")
    }

    /// The two files at `casesPath` and `trialsPath`; nil (with nothing left) when either exists,
    /// except for a named file, whose existing name is an error.
    private func createPair(_ caseHeader: [String], _ trialHeader: [String]) throws -> (CSVFile, CSVFile?)? {
        let named = numberedBase == nil
        guard let cases = named ? try CSVFile(creating: casesPath!, header: caseHeader)
                                : try CSVFile(claiming: casesPath!, header: caseHeader) else { return nil }
        do {
            guard let trials = named ? try CSVFile(creating: trialsPath!, header: trialHeader)
                                     : try CSVFile(claiming: trialsPath!, header: trialHeader) else {
                cases.discard()
                return nil
            }
            return (cases, trials)
        } catch {
            cases.discard()
            throw error
        }
    }
}

/// Writing a results file failed (for example the disk is full); the run stops.
public struct ResultsWriteError: Error, CustomStringConvertible {
    public let path: String
    public let code: Int32
    public var description: String { "cannot write \(path): \(errorText(code))" }
    package init(path: String, code: Int32) {
        self.path = path
        self.code = code
    }
}
