import CShims
import Glibc

/// The environment group that leads every row.
public let environmentColumns = [
    "run_id", "timestamp_utc", "hostname", "kernel_release", "kernel_version", "arch", "cpu_model", "cpus_online", "ipcbench_version",
    "mitigations", "kernel_cmdline_mitigations", "kernel_cmdline_preempt", "smt", "clocksource", "cpu_governor",
    "boot_id", "proc_version", "kernel_cmdline", "virtualization", "command",
]

/// The columns of `<stem>.csv`, in the README's order. Never rename one; add at a group's end.
public let caseColumns = environmentColumns + [
    "transport", "pattern", "payload_bytes", "messages_per_trial", "bytes_per_trial", "repetitions", "warmup", "cpu_placement", "options",
    "schedule", "seed", "depth", "receivers", "pairs",
    "status", "error",
    "mib_per_s_median", "mib_per_s_ci95_low", "mib_per_s_ci95_high", "mib_per_s_mean", "mib_per_s_stddev", "mib_per_s_min", "mib_per_s_max", "msgs_per_s_median",
    "mib_per_s_slowest_median", "mib_per_s_forward_median", "mib_per_s_backward_median",
    "rtt_us_min", "rtt_us_p50", "rtt_us_p90", "rtt_us_p99", "rtt_us_p999", "rtt_us_max", "rtt_us_mean", "rtt_us_stddev",
    "cpu_user_us_per_msg", "cpu_sys_us_per_msg", "ctxsw_voluntary_per_msg", "ctxsw_involuntary_per_msg",
    "msgs_sent", "msgs_received", "msgs_lost", "msgs_reordered", "msgs_duplicated",
    "alloc_bytes_in_loop", "clock_overhead_ns", "peers_rejected",
]

/// The columns of `<stem>-trials.csv`.
public let trialColumns = [
    "run_id", "transport", "pattern", "payload_bytes", "cpu_placement", "options", "trial",
    "duration_ns", "bytes", "messages", "mib_per_s", "rtt_us_p50", "rtt_us_p99", "round", "start_ns",
    "depth", "receivers", "pairs", "msgs_per_s", "mib_per_s_slowest", "mib_per_s_forward", "mib_per_s_backward",
]

/// `ipcbench run ARGS (config sha256 HEX)`: how to make the run again, each argument quoted for a
/// shell where it needs it.
public func runCommand(_ arguments: [String], configSHA256: String) -> String {
    let plain = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./,=:+%@")
    let quoted = arguments.dropFirst().map { a in
        !a.isEmpty && a.allSatisfy(plain.contains) ? a : "'" + a.replacing("'", with: "'\\''") + "'"
    }
    return (["ipcbench"] + quoted).joined(separator: " ") + " (config sha256 \(configSHA256))"
}

public func environmentRow(_ env: Environment) -> [String] {
    [env.runID, env.timestampUTC, env.hostname, env.kernelRelease, env.kernelVersion, env.arch, env.cpuModel,
     String(env.cpusOnline), env.version,
     env.mitigations, env.cmdlineMitigations, env.cmdlinePreempt, env.smt, env.clocksource, env.cpuGovernor,
     env.bootID, env.procVersion, env.kernelCmdline, env.virtualization, env.command]
}

/// The cells of one case row, matching `caseColumns`.
public func caseRow(_ r: CaseResult, _ env: Environment) -> [String] {
    let c = r.benchCase
    let measured = r.status != .skipped
    func mib(_ v: Double?) -> String { v.map { formatDecimal($0, places: 3) } ?? "" }
    func us(_ v: Double?) -> String { v.map { formatDecimal($0, places: 3) } ?? "" }
    func perMessage(_ v: UInt64) -> String {
        r.measuredMessages > 0 ? formatDecimal(Double(v) / Double(r.measuredMessages), places: 4) : ""
    }
    func count(_ v: UInt64?) -> String { v.map(String.init) ?? "" }
    let t = r.throughput, rtt = r.roundTrips, d = r.datagrams
    return environmentRow(env) + [
        c.transport.rawValue, c.pattern.rawValue, String(c.payloadBytes), String(r.messagesPerTrial),
        String(r.bytesPerTrial), String(c.repetitions), String(c.warmup), r.cpuPlacement, c.optionsLabel(knobsInForce: r.knobsInForce),
        r.schedule.rawValue, String(r.seed)] + parameterCells(c) + [
        r.status.rawValue, r.error,
        mib(t?.median), mib(t?.ci95Low), mib(t?.ci95High), mib(t?.mean), mib(t?.standardDeviation), mib(t?.min), mib(t?.max),
        r.messagesPerSecondMedian.map { formatDecimal($0, places: 0) } ?? "",
        mib(r.slowestMedian), mib(r.forwardMedian), mib(r.backwardMedian),
        us(rtt?.min), us(rtt?.p50), us(rtt?.p90), us(rtt?.p99), us(rtt?.p999), us(rtt?.max), us(rtt?.mean), us(rtt?.stddev),
        perMessage(r.usage.userMicroseconds), perMessage(r.usage.systemMicroseconds),
        perMessage(r.usage.voluntarySwitches), perMessage(r.usage.involuntarySwitches),
        count(d?.sent), count(d?.received), count(d?.lost), count(d?.reordered), count(d?.duplicated),
        count(r.allocatedBytesInLoop), measured ? formatDecimal(env.clockOverheadNs, places: 1) : "",
        measured ? String(r.peersRejected) : "",
    ]
}

/// One row of the trials file: trial `t` of case `r`.
public func trialRow(_ r: CaseResult, _ t: TrialRecord, _ env: Environment) -> [String] {
    let c = r.benchCase
    return [env.runID, c.transport.rawValue, c.pattern.rawValue, String(c.payloadBytes), r.cpuPlacement, c.optionsLabel(knobsInForce: r.knobsInForce),
            String(t.trial), String(t.durationNs), String(t.bytes), String(t.messages),
            t.mibPerSecond.map { formatDecimal($0, places: 3) } ?? "",
            t.rttP50Us.map { formatDecimal($0, places: 3) } ?? "",
            t.rttP99Us.map { formatDecimal($0, places: 3) } ?? "",
            t.round.map(String.init) ?? "", String(t.startNs)] + parameterCells(c) + [
            t.messagesPerSecond.map { formatDecimal($0, places: 0) } ?? "",
            t.slowestMibPerSecond.map { formatDecimal($0, places: 3) } ?? "",
            t.forwardMibPerSecond.map { formatDecimal($0, places: 3) } ?? "",
            t.backwardMibPerSecond.map { formatDecimal($0, places: 3) } ?? ""]
}

/// depth, receivers, pairs: the value of the one the case's pattern takes, empty for the others.
func parameterCells(_ c: BenchCase) -> [String] {
    CaseParameter.allCases.map { $0 == c.pattern.parameter ? String(c.parameterValue ?? 1) : "" }
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
    public init(creating path: String, header: [String]) throws {
        let fd = Int32(retryingInterrupts { Int(Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)) })
        guard fd >= 0 else {
            let code = -fd
            if code == EEXIST { throw InputError("\(path) already exists; ipcbench never overwrites results: choose another --output") }
            throw InputError("cannot create \(path): \(String(cString: strerror(code)))")
        }
        self.path = path
        self.fd = fd
        owned = true
        do { try write(header) } catch { discard(); throw error }
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
        let bytes = Array(csvLine(fields).utf8)
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
public struct OutputPaths: Equatable {
    /// nil for standard output.
    public let casesPath: String?
    public let trialsPath: String?

    public init(output: String?, stem: String) throws {
        let target = output ?? "results/"
        if target == "-" {
            casesPath = nil
            trialsPath = nil
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
        casesPath = base + ".csv"
        trialsPath = base + "-trials.csv"
        var link = stat()
        // lstat, not access: a dangling symlink with the name would make O_EXCL fail later.
        for path in [casesPath!, trialsPath!] where lstat(path, &link) == 0 {
            throw InputError("\(path) already exists; ipcbench never overwrites results: choose another --output")
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
