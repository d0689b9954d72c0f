import CShims
import Glibc

/// A column of a results file: its name, and how a row's cell is written. The header and the rows
/// are both made from one list of these, so they cannot disagree.
struct Column<Row>: Sendable {
    let name: String
    /// The minor version (0.N.0) whose files first carry it (the trials file is ordered by it).
    let version: Int
    /// What its numbers count, as pivot titles name it; nil for text.
    let unit: String?
    let cell: @Sendable (Row) -> String

    init(_ name: String, version: Int = 1, unit: String? = nil, _ cell: @escaping @Sendable (Row) -> String) {
        self.name = name
        self.version = version
        self.unit = unit
        self.cell = cell
    }
}

/// The environment group that leads every case row.
let environmentSchema: [Column<Environment>] = [
    Column("run_id") { $0.runID }, Column("timestamp_utc") { $0.timestampUTC }, Column("hostname") { $0.hostname },
    Column("kernel_release") { $0.kernelRelease }, Column("kernel_version") { $0.kernelVersion }, Column("arch") { $0.arch },
    Column("cpu_model") { $0.cpuModel }, Column("cpus_online") { String($0.cpusOnline) }, Column("ipcbench_version") { $0.version },
    Column("mitigations") { $0.mitigations }, Column("kernel_cmdline_mitigations") { $0.cmdlineMitigations },
    Column("kernel_cmdline_preempt") { $0.cmdlinePreempt }, Column("smt") { $0.smt }, Column("clocksource") { $0.clocksource },
    Column("cpu_governor") { $0.cpuGovernor }, Column("boot_id") { $0.bootID }, Column("proc_version") { $0.procVersion },
    Column("kernel_cmdline") { $0.kernelCmdline }, Column("virtualization") { $0.virtualization }, Column("command") { $0.command },
]

public let environmentColumns = environmentSchema.map(\.name)

public func environmentRow(_ env: Environment) -> [String] { environmentSchema.map { $0.cell(env) } }

/// One case row's sources.
typealias CaseRowSource = (result: CaseResult, env: Environment)

/// The case file's columns after the environment, in the README's order: the case, its status,
/// every metric's summary of the trials (`Metric.summaryColumns`), the round trips, the CPU, the
/// datagrams and the proofs. Never rename one; add at a group's end.
let caseSchema: [Column<CaseRowSource>] = {
    typealias C = Column<CaseRowSource>
    @Sendable func decimal(_ v: Double?, _ places: Int = 3) -> String { v.map { formatDecimal($0, places: places) } ?? "" }
    @Sendable func count(_ v: UInt64?) -> String { v.map(String.init) ?? "" }
    @Sendable func perMessage(_ r: CaseResult, _ v: UInt64) -> String {
        r.measuredMessages > 0 ? formatDecimal(Double(v) / Double(r.measuredMessages), places: 4) : ""
    }
    let key: [C] = [
        C("transport") { $0.result.benchCase.transport.rawValue }, C("pattern") { $0.result.benchCase.pattern.rawValue },
        C("payload_bytes", unit: "bytes") { String($0.result.benchCase.payloadBytes) },
        C("messages_per_trial", unit: "messages") { String($0.result.messagesPerTrial) },
        C("bytes_per_trial", unit: "bytes") { String($0.result.bytesPerTrial) }, C("repetitions") { String($0.result.benchCase.repetitions) },
        C("warmup") { String($0.result.benchCase.warmup) }, C("cpu_placement") { $0.result.cpuPlacement },
        C("options") { $0.result.benchCase.optionsLabel(knobsInForce: $0.result.knobsInForce) },
        C("schedule") { $0.result.schedule.rawValue }, C("seed") { String($0.result.seed) },
    ] + CaseParameter.allCases.map { p in C(p.rawValue, version: p.version) { parameterCell($0.result.benchCase, p) } } + [
        C("workers", version: 3) { $0.result.benchCase.workers.rawValue },
        C("status") { $0.result.status.rawValue }, C("error") { $0.result.error },
    ]
    let metrics: [C] = Metric.all.flatMap { m in
        m.summaryColumns.map { summary in C(summary.column, unit: m.unit) { m.text($0.result.summaries[m].map(summary.statistic)) } }
    }
    let rtt: [(String, @Sendable (RoundTripSummary) -> Double)] = [("min", \.min), ("p50", \.p50), ("p90", \.p90), ("p99", \.p99),
                                                        ("p999", \.p999), ("max", \.max), ("mean", \.mean), ("stddev", \.stddev)]
    let roundTrips: [C] = rtt.map { name, value in C("rtt_us_" + name, unit: "us") { decimal($0.result.roundTrips.map(value)) } }
    let cpu: [C] = [
        C("cpu_user_us_per_msg", unit: "us per message") { perMessage($0.result, $0.result.usage.userMicroseconds) },
        C("cpu_sys_us_per_msg", unit: "us per message") { perMessage($0.result, $0.result.usage.systemMicroseconds) },
        C("ctxsw_voluntary_per_msg", unit: "per message") { perMessage($0.result, $0.result.usage.voluntarySwitches) },
        C("ctxsw_involuntary_per_msg", unit: "per message") { perMessage($0.result, $0.result.usage.involuntarySwitches) },
    ]
    let datagrams: [C] = [
        C("msgs_sent", unit: "messages") { count($0.result.datagrams?.sent) }, C("msgs_received", unit: "messages") { count($0.result.datagrams?.received) },
        C("msgs_lost", unit: "messages") { count($0.result.datagrams?.lost) }, C("msgs_reordered", unit: "messages") { count($0.result.datagrams?.reordered) },
        C("msgs_duplicated", unit: "messages") { count($0.result.datagrams?.duplicated) },
    ]
    let proofs: [C] = [
        C("alloc_bytes_in_loop", unit: "bytes") { count($0.result.allocatedBytesInLoop) },
        C("clock_overhead_ns", unit: "ns") { $0.result.status != .skipped ? formatDecimal($0.env.clockOverheadNs, places: 1) : "" },
        C("peers_rejected", unit: "connections and datagrams") { $0.result.status != .skipped ? String($0.result.peersRejected) : "" },
    ]
    return key + metrics + roundTrips + cpu + datagrams + proofs
}()

/// The columns of `<stem>.csv`, in the README's order.
public let caseColumns = environmentColumns + caseSchema.map(\.name)

/// The cells of one case row, matching `caseColumns`.
public func caseRow(_ r: CaseResult, _ env: Environment) -> [String] {
    environmentRow(env) + caseSchema.map { $0.cell((r, env)) }
}

/// One trial row's sources.
typealias TrialRowSource = (result: CaseResult, trial: TrialRecord, env: Environment)

/// The trials file's columns: the case and the trial, then one per metric. Each version's columns
/// follow the earlier versions', its plain columns before its metrics (that is how they were added).
let trialSchema: [Column<TrialRowSource>] = {
    typealias C = Column<TrialRowSource>
    let plain: [C] = [
        C("run_id") { $0.env.runID }, C("transport") { $0.result.benchCase.transport.rawValue },
        C("pattern") { $0.result.benchCase.pattern.rawValue }, C("payload_bytes") { String($0.result.benchCase.payloadBytes) },
        C("cpu_placement") { $0.result.cpuPlacement }, C("options") { $0.result.benchCase.optionsLabel(knobsInForce: $0.result.knobsInForce) },
        C("trial") { String($0.trial.trial) }, C("duration_ns") { String($0.trial.durationNs) }, C("bytes") { String($0.trial.bytes) },
        C("messages") { String($0.trial.messages) },
        C("round", version: 2) { $0.trial.round.map(String.init) ?? "" }, C("start_ns", version: 2) { String($0.trial.startNs) },
    ] + CaseParameter.allCases.map { p in C(p.rawValue, version: p.version) { parameterCell($0.result.benchCase, p) } }
    let metrics = Metric.all.map { m in C(m.trialColumn, version: m.version) { m.text($0.trial.value(of: m)) } }
    let versions = Set((plain + metrics).map(\.version)).sorted()
    return versions.flatMap { v in plain.filter { $0.version == v } + metrics.filter { $0.version == v } }
}()

/// The columns of `<stem>-trials.csv`.
public let trialColumns = trialSchema.map(\.name)

/// One row of the trials file: trial `t` of case `r`.
public func trialRow(_ r: CaseResult, _ t: TrialRecord, _ env: Environment) -> [String] {
    trialSchema.map { $0.cell((r, t, env)) }
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

/// depth, receivers, pairs, ...: the value of each the case's pattern takes, empty for the others.
func parameterCell(_ c: BenchCase, _ p: CaseParameter) -> String {
    c.pattern.parameters.contains(p) ? p.text(c.shape[p]) : ""
}

/// A CSV file written with plain write(2) calls, so each row is in the kernel's hands (and survives
/// the runner's death) the moment it is written. Created with O_EXCL: never overwrites. It only ever
/// holds whole rows: a row that cannot be written whole is cut off again.
public final class CSVFile {
    public let path: String
    private let fd: Int32
    private let owned: Bool
    /// Bytes of the whole rows written so far.
    private var length: off_t = 0

    /// Creates `path`, failing if it exists, and writes the header.
    public convenience init(creating path: String, header: [String]) throws {
        guard let fd = try Self.createExclusive(path) else {
            throw InputError("\(path) already exists; ipcbench never overwrites results: choose another --output")
        }
        try self.init(path: path, fd: fd, header: header)
    }

    /// Creates `path` as `init(creating:header:)` does; nil when it exists (another run took it).
    convenience init?(claiming path: String, header: [String]) throws {
        guard let fd = try Self.createExclusive(path) else { return nil }
        try self.init(path: path, fd: fd, header: header)
    }

    private init(path: String, fd: Int32, header: [String]) throws {
        self.path = path
        self.fd = fd
        owned = true
        do { try write(header) } catch { discard(); throw error }
    }

    /// The new file's descriptor (O_EXCL: never one that exists); nil when `path` exists.
    private static func createExclusive(_ path: String) throws -> Int32? {
        let fd = Int32(retryingInterrupts { Int(Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)) })
        if fd == -EEXIST { return nil }
        guard fd >= 0 else { throw InputError("cannot create \(path): \(String(cString: strerror(-fd)))") }
        return fd
    }

    /// Removes the file again: for a run that ends before it measured anything.
    public func discard() {
        if owned { _ = unlink(path) }
    }

    /// Standard output, for `--output -`.
    public init(standardOutput header: [String]) throws {
        path = "standard output"
        fd = 1
        owned = false
        try write(header)
    }

    /// Throws `ResultsWriteError`: a results file that cannot be written ends the run.
    public func write(_ fields: [String]) throws {
        // `check` refuses control characters: a text from the system (a hostname) is written escaped.
        let bytes = Array(csvLine(fields.map { escapingControlCharacters($0) }).utf8)
        let n = bytes.withUnsafeBytes { writeFully(fd, $0.baseAddress!, $0.count) }
        if n < 0 {
            if owned {
                _ = ftruncate(fd, length)
                _ = lseek(fd, length, SEEK_SET)
            }
            throw ResultsWriteError(path: path, code: Int32(-n))
        }
        length += off_t(n)
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
        var info = stat()
        if !isFolder && stat(target, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR { isFolder = true }
        let base: String
        if isFolder {
            let folder = target.hasSuffix("/") ? String(target.dropLast()) : target
            let made = stat(folder, &info) == 0 ? 0 : resultOrErrno { Int(mkdir(folder, 0o755)) }
            if made < 0 {
                throw InputError("cannot create the output folder \(folder): \(String(cString: strerror(Int32(-made))))")
            }
            base = folder + "/" + stem
        } else {
            base = target.hasSuffix(".csv") ? String(target.dropLast(4)) : target
        }
        numberedBase = isFolder ? base : nil
        casesPath = base + ".csv"
        trialsPath = base + "-trials.csv"
        guard !isFolder else { return }
        var link = stat()
        // lstat, not access: a dangling symlink with the name would make O_EXCL fail later.
        for path in [casesPath!, trialsPath!] where lstat(path, &link) == 0 {
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

/// A write past RLIMIT_FSIZE (`ulimit -f`) then fails with EFBIG, which `CSVFile.write` reports,
/// instead of SIGXFSZ killing the process with a cut-off row.
public func ignoreFileSizeSignal() { cshim_ignore_file_size_signal() }

/// Writing a results file failed (for example the disk is full); the run stops.
public struct ResultsWriteError: Error, CustomStringConvertible {
    public let path: String
    public let code: Int32
    public var description: String { "cannot write \(path): \(String(cString: strerror(code)))" }
}
