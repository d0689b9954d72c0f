import ArgumentParser
import Glibc
import IPCBench

/// `ipcbench bisect --list FILE`: finds the first kernel of an ordered list whose case differs from
/// the first (good) kernel's by more than the threshold, each step a kernel comparison (`ipcbench
/// kernels GOOD STEP`, the vm driver) in a folder of its own.
struct BisectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bisect",
        abstract: "Find the first bad kernel of an ordered list: each step a kernel comparison against the good one.",
        discussion: """
        The list is a file with a kernel a line (an image's path or a release in /boot, then its \
        kernel arguments), the good kernel first and the bad one last. Each step compares a kernel \
        with the good one (ipcbench kernels, virtual machines) in a folder of its own in -o, and \
        decides: bad where the change exceeds --threshold in the bad direction with q < 0.05, good \
        where its whole 95% interval lies within it; undecided, it adds --boots boots a side up to \
        --max-boots; a kernel that does not boot, or is still undecided, is skipped. The case and \
        metric are those of the largest change compare calls significant at the first step (else \
        the largest change), among those --metric and --key leave. The same command again resumes: each step's folder keeps its finished boots. \
        Exit status: 0 the first bad kernel found; 1 skipped kernels leave it among several; 2 bad \
        input; 3 a step's files could not be written; 128+N stopped by signal N.
        """)

    @Option(help: ArgumentHelp("The kernels, one a line: good first, bad last.", valueName: "file"))
    var list: String

    @Option(help: ArgumentHelp("A step is bad past this change, in % (default 5).", valueName: "pct"))
    var threshold = 5.0

    @Option(help: ArgumentHelp("The metric to bisect (mib_per_s, rtt_us_p50, … or its name as compare writes it; default: that of the largest significant change at the first step, else the largest change).", valueName: "metric"))
    var metric: String?

    @Option(help: ArgumentHelp("Only cases whose key column NAME has this value (repeatable: transport, pattern, payload_bytes, placement, options, a parameter).", valueName: "name=value"))
    var key: [String] = []

    @Option(help: ArgumentHelp("Boots a side at a step's start, and added while it is undecided, 1 to 100 (default 2).", valueName: "n"))
    var boots = 2

    @Option(name: .customLong("max-boots"), help: ArgumentHelp("The most boots a side a step gets, 1 to 100 (default 6).", valueName: "n"))
    var maxBoots = 6

    @Option(help: ArgumentHelp("A TOML suite file for the run in every boot (default: the embedded default suite).", valueName: "config"))
    var config: String?

    @OptionGroup(title: "Suite options (as for ipcbench run)")
    var options: RunOptions

    @Option(help: ArgumentHelp("auto, kvm or tcg (as for ipcbench kernels).", valueName: "accel"))
    var accel = "auto"

    @Option(help: ArgumentHelp("The guest's memory (default 2GiB).", valueName: "size"))
    var memory = "2GiB"

    @Option(name: .customLong("boot-timeout"), help: ArgumentHelp("End a boot that has not finished its suite after this long (default 30m).", valueName: "duration"))
    var bootTimeout = "30m"

    @Option(name: [.short, .long], help: ArgumentHelp("The bisect's folder: a kernels folder per step.", valueName: "dir"))
    var output: String

    func run() throws {
        guard threshold > 0 && threshold <= 1000 else { throw InputError("--threshold \(threshold): give a change in % above 0, at most 1000") }
        guard (1...100).contains(boots) else { throw InputError("--boots \(boots): give 1 to 100 boots a side") }
        guard (boots...100).contains(maxBoots) else { throw InputError("--max-boots \(maxBoots): give \(boots) (--boots) to 100") }
        let kernels = try readBisectList(list)
        for k in kernels { _ = try resolveKernel(k.kernel) }
        var filter = SeriesFilter()
        if let metric { try filter.setMetric(metric) }
        for k in key { try filter.addKey(k) }
        _ = try options.resolve(config: config)
        let folder = try absolutePath(output)
        if mkdir(folder, 0o755) != 0 && errno != EEXIST { throw InputError("-o \(folder): cannot make the folder: \(String(cString: strerror(errno)))") }
        var driver = StepDriver(binary: try ownPath(), kernels: kernels, folder: folder, filter: filter,
                                arguments: ["--accel", accel, "--memory", memory, "--boot-timeout", bootTimeout]
                                    + (try config.map { ["--config", try absolutePath($0)] } ?? []) + options.arguments)
        print("bisecting \(kernels.count) kernels of \(list): \(kernels[0].kernel) good, \(kernels[kernels.count - 1].kernel) bad, threshold \(threshold)%")
        let outcome = try runBisect(count: kernels.count, driver: &driver, thresholdPct: threshold, boots: boots, maxBoots: maxBoots) { step in
            print("step: \(describe(kernels[step.index], step.index)), \(step.boots) boots a side: \(measured(step.measurement)): \(step.decision.rawValue)")
            fflush(standardOutput)
        }
        print(stepsTable(outcome, kernels), terminator: "")
        let bad = describe(kernels[outcome.firstBad], outcome.firstBad)
        if outcome.unsure.isEmpty {
            print("first bad kernel: \(bad) (the last good: \(describe(kernels[outcome.lastGood], outcome.lastGood)))")
        } else {
            print("the first bad kernel is one of: \((outcome.unsure.map { describe(kernels[$0], $0) } + [bad]).joined(separator: "; ")) (skipped or undecided: more --max-boots may decide)")
            throw ExitCode(1)
        }
    }

    private func describe(_ k: BisectKernel, _ index: Int) -> String {
        "\(k.kernel)\(k.append.isEmpty ? "" : " " + k.append) (line \(index + 1))"
    }

    private func measured(_ m: BisectMeasurement?) -> String {
        guard let m else { return "did not boot" }
        func pct(_ v: Double?) -> String { v.map { formatDecimal($0, places: 1) + "%" } ?? "-" }
        return "change \(pct(m.percent)) [\(pct(m.low)), \(pct(m.high))], q \(m.q.map { formatDecimal($0, places: 4) } ?? "-")"
    }

    private func stepsTable(_ outcome: BisectOutcome, _ kernels: [BisectKernel]) -> String {
        func pct(_ v: Double?) -> String { v.map { formatDecimal($0, places: 1) } ?? "" }
        let header = ["kernel", "boots", "change_pct", "ci95_low_pct", "ci95_high_pct", "q", "decision"]
        let rows = outcome.steps.map { s in
            [describe(kernels[s.index], s.index), String(s.boots), pct(s.measurement?.percent), pct(s.measurement?.low), pct(s.measurement?.high),
             s.measurement?.q.map { formatDecimal($0, places: 4) } ?? "", s.decision.rawValue]
        }
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return ([header] + rows).map { row in
            var line = row.enumerated().map { i, cell in cell + String(repeating: " ", count: widths[i] - cell.count) }.joined(separator: "  ")
            while line.hasSuffix(" ") { line.removeLast() }
            return line + "\n"
        }.joined()
    }
}

/// A step: `ipcbench kernels GOOD STEP --boots N` in `<folder>/step-<line>-boots-<N>` (its output in
/// the same name with .log), then the chosen case's row of its comparison.csv.
struct StepDriver: BisectDriver {
    let binary: String
    let kernels: [BisectKernel]
    let folder: String
    let filter: SeriesFilter
    let arguments: [String]
    /// The case and metric bisected, chosen at the first step that measured one.
    var chosen: (name: String, metric: String, cells: [String: String])?

    mutating func measure(_ index: Int, boots: Int) throws -> BisectMeasurement? {
        let good = kernels[0], step = kernels[index]
        let stepFolder = "\(folder)/step-\(index + 1)-boots-\(boots)"
        var argv = [binary, "kernels", good.kernel, step.kernel, "--boots", String(boots), "-o", stepFolder]
        if !good.append.isEmpty { argv += ["--append-base", good.append] }
        if !step.append.isEmpty { argv += ["--append-new", step.append] }
        argv += arguments
        let log = open(stepFolder + ".log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard log >= 0 else { throw InputError("\(stepFolder).log: cannot write: \(String(cString: strerror(errno)))") }
        let pid = spawnGroup(argv, output: log)
        close(log)
        guard pid > 0 else { throw InputError("\(binary): cannot start ipcbench kernels") }
        let ended = reap(pid)
        switch ended {
        case "exit status 0", "exit status 1": break  // 1: a boot failed; the comparison says what it has
        case let other where other.hasPrefix("killed by signal "):
            throw ExitCode(128 + (Int32(other.dropFirst("killed by signal ".count)) ?? 15))
        default:
            let status = Int32(ended.split(separator: " ").last ?? "") ?? 3
            printError("ipcbench: error: step \(index + 1) (\(step.kernel)): ipcbench kernels ended with \(ended); its output is in \(stepFolder).log")
            throw ExitCode(status >= 128 ? status : 3)
        }
        guard let text = try? readText(stepFolder + "/comparison.csv") else { return nil }  // no comparison: the kernel did not boot
        let rows = parseCSV(text)
        guard let header = rows.first else { return nil }
        let cases = rows.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(header, $0)) }.filter { $0["kind"] == "case" }
        func identity(_ row: [String: String]) -> [String: String] {
            var cells: [String: String] = [:]
            for name in ["transport", "pattern", "payload_bytes", "placement", "options", "metric"] + CaseParameter.allCases.map(\.rawValue) {
                cells[name] = row[name] ?? ""
            }
            return cells
        }
        let row: [String: String]?
        if let chosen {
            row = cases.first { identity($0) == chosen.cells }
        } else {
            let wanted = cases.filter { row in
                (filter.metric.map { m in Metric.all.first { $0.trialColumn == m }?.name == row["metric"] } ?? true)
                    && filter.key.allSatisfy { row[$0.name == "cpu_placement" ? "placement" : $0.name] == $0.value }
                    && Double(row["change_pct"] ?? "") != nil
            }
            // The largest change among those compare calls significant, else among all.
            let significant = wanted.filter { (Double($0["q_value"] ?? "") ?? 1) < 0.05 }
            row = (significant.isEmpty ? wanted : significant).max { abs(Double($0["change_pct"]!)!) < abs(Double($1["change_pct"]!)!) }
            if let row {
                let name = ["transport", "pattern", "payload_bytes", "placement", "options"].compactMap { row[$0] }.filter { !$0.isEmpty }.joined(separator: " ")
                chosen = (name, row["metric"] ?? "", identity(row))
                print("the case: \(name), \(row["metric"] ?? "")")
            }
        }
        guard let row, let percent = Double(row["change_pct"] ?? "") else { return nil }
        let higherIsBetter = Metric.all.first { $0.name == row["metric"] }?.higherIsBetter ?? true
        return BisectMeasurement(percent: percent, low: Double(row["change_ci95_low_pct"] ?? ""), high: Double(row["change_ci95_high_pct"] ?? ""),
                                 q: Double(row["q_value"] ?? ""), higherIsBetter: higherIsBetter)
    }
}

/// A file's text, or nil where it cannot be read.
private func readText(_ path: String) throws -> String? {
    guard let file = fopen(path, "r") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&chunk, 1, chunk.count, file)
        if n == 0 { break }
        bytes += chunk[..<n]
        if bytes.count > 64 << 20 { return nil }
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// This binary's path.
private func ownPath() throws -> String {
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard n > 0 else { throw InputError("cannot find this binary's path (/proc/self/exe); is /proc mounted?") }
    return String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// `path` against the working folder.
private func absolutePath(_ path: String) throws -> String {
    if path.hasPrefix("/") { return path }
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    guard getcwd(&buffer, buffer.count) != nil else { throw InputError("\(path): cannot read the working folder") }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) + "/" + path
}
