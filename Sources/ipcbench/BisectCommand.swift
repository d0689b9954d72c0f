import ArgumentParser
import Glibc
import IPCPlatform
import IPCModel
import IPCRun
import IPCAnalysis
import IPCLab

/// `ipcbench bisect --list FILE`: finds the first kernel of an ordered list whose case differs from
/// the first (good) kernel's by more than the threshold, each step a kernel comparison (`ipcbench
/// kernels GOOD STEP`, the vm driver) in a folder of its own.
struct BisectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bisect",
        abstract: "Find the first bad kernel of a list, or commit of a git tree: each step a kernel comparison against the good one.",
        discussion: """
        Either an ordered list of kernels (--list), or two commits of a kernel git tree (--good, \
        --bad, --git, --build, --image), driven through git bisect run: each step builds its \
        commit (a build that fails is git bisect skip) and compares its image with the good \
        commit's; the tree is left as it was (git bisect reset). \
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
    var list: String?

    @Option(help: ArgumentHelp("A good commit of the kernel git tree (with --bad, --build and --image).", valueName: "commit"))
    var good: String?

    @Option(help: ArgumentHelp("A bad commit of the kernel git tree, after --good.", valueName: "commit"))
    var bad: String?

    @Option(help: ArgumentHelp("The kernel git tree to bisect (default: the working folder).", valueName: "dir"))
    var git = "."

    @Option(help: ArgumentHelp("The command that builds a commit (run with sh -c in the tree), leaving its image at --image.", valueName: "cmd"))
    var build: String?

    @Option(help: ArgumentHelp("Where --build leaves the bootable image (in the tree where relative).", valueName: "path"))
    var image: String?

    @Option(help: ArgumentHelp("Kernel arguments every commit's kernel boots with (with --good and --bad).", valueName: "args"))
    var append = ""

    @Flag(name: .customLong("git-step"), help: .hidden)
    var gitStep = false

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
        if gitStep { throw ExitCode(runGitStep(folder: try absolutePath(output))) }
        guard threshold > 0 && threshold <= 1000 else { throw InputError("--threshold \(threshold): give a change in % above 0, at most 1000") }
        guard (1...100).contains(boots) else { throw InputError("--boots \(boots): give 1 to 100 boots a side") }
        guard (boots...100).contains(maxBoots) else { throw InputError("--max-boots \(maxBoots): give \(boots) (--boots) to 100") }
        let commits = [good, bad, build, image].contains { $0 != nil }
        if list != nil && commits {
            throw InputError("give --list FILE, or --good and --bad commits with --build and --image; not both")
        }
        guard let list else {
            for (value, name) in [(good, "--good COMMIT"), (bad, "--bad COMMIT"), (build, "--build CMD"), (image, "--image PATH")] where value == nil {
                throw InputError(commits ? "bisecting commits needs \(name) too (--good, --bad, --build, --image)"
                                         : "give --list FILE (an ordered list of kernels), or --good and --bad commits with --build and --image")
            }
            return try bisectCommits()
        }
        let kernels = try readBisectList(list)
        for k in kernels { _ = try resolveKernel(k.kernel) }
        let filter = try seriesFilter()
        _ = try options.resolve(config: config)
        let folder = try absolutePath(output)
        try makeOutputFolder(folder)
        installStopHandlers()
        var driver = StepDriver(binary: try ownPath(), kernels: kernels, labels: kernels.indices.map { String($0 + 1) }, folder: folder, filter: filter,
                                arguments: try kernelsArguments())
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

    private func seriesFilter() throws -> SeriesFilter {
        var filter = SeriesFilter()
        if let metric { try filter.setMetric(metric) }
        for k in key { try filter.addKey(k) }
        return filter
    }

    /// The options each step's `ipcbench kernels` gets besides its kernels, boots and folder.
    private func kernelsArguments() throws -> [String] {
        ["--accel", accel, "--memory", memory, "--boot-timeout", bootTimeout]
            + (try config.map { ["--config", try absolutePath($0)] } ?? []) + options.arguments
    }

    /// `--good A --bad B`: builds the good commit, then `git bisect run` of this binary's
    /// `--git-step` over the commits between; `git bisect reset` on every way out.
    private func bisectCommits() throws {
        let tree = GitTree(try absolutePath(git))
        guard tree.git(["rev-parse", "--show-toplevel"]).ok else { throw InputError("--git \(git): not a git work tree; give the kernel tree's folder") }
        guard let goodCommit = tree.commit(good!) else { throw InputError("--good \(good!): not a commit of \(tree.path)") }
        guard let badCommit = tree.commit(bad!) else { throw InputError("--bad \(bad!): not a commit of \(tree.path)") }
        guard tree.git(["merge-base", "--is-ancestor", goodCommit, badCommit]).ok, goodCommit != badCommit else {
            throw InputError("--good \(good!) is not an ancestor of --bad \(bad!) in \(tree.path): give a good commit before the bad one")
        }
        if tree.bisecting { throw InputError("\(tree.path): a git bisect is under way there; end it with git -C \(tree.path) bisect reset") }
        guard tree.git(["status", "--porcelain", "--untracked-files=no"]).output.isEmpty else {
            throw InputError("\(tree.path) has uncommitted changes; commit or stash them first (bisect checks out other commits)")
        }
        for (value, name) in [(build!, "--build"), (append, "--append")] where value.contains(where: { $0 == "\n" || $0 == "\r" }) {
            throw InputError("\(name): give one line")
        }
        _ = try seriesFilter()  // checked here; each step reads --metric and --key again
        _ = try options.resolve(config: config)
        let imagePath = image!.hasPrefix("/") ? image! : tree.path + "/" + image!
        let folder = try absolutePath(output)
        try makeOutputFolder(folder)
        let state = GitBisectState(tree: tree.path, build: build!, image: imagePath, goodImage: "\(folder)/kernel-\(goodCommit.prefix(12))", append: append,
                                   threshold: threshold, boots: boots, maxBoots: maxBoots, metric: metric, keys: key, arguments: try kernelsArguments())
        try state.write(folder)
        // This bisect's steps only, and no failure of an earlier one.
        removeFile(folder + "/" + GitBisectState.stepsFile)
        removeFile(folder + "/" + GitBisectState.failedFile)
        installStopHandlers()
        print("bisecting \(tree.path) from \(goodCommit.prefix(12)) (good) to \(badCommit.prefix(12)) (bad): threshold \(threshold)%")
        fflush(standardOutput)
        guard tree.git(["bisect", "start"]).ok else { throw InputError("\(tree.path): git bisect start failed") }
        defer {
            if !tree.git(["bisect", "reset"]).ok { printError("ipcbench: warning: git bisect reset failed in \(tree.path); run it there") }
        }
        // The good commit's image: what every step is compared with.
        let checkout = tree.git(["checkout", "--quiet", "--detach", goodCommit])
        guard checkout.ok else { throw InputError("\(tree.path): cannot check out \(goodCommit.prefix(12)): \(checkout.output.split(separator: "\n").last ?? "")") }
        let log = "\(folder)/build-\(goodCommit.prefix(12)).log"
        if let why = buildKernel(build!, in: tree.path, image: imagePath, log: log) {
            if stopSignalReceived() != 0 { throw ExitCode(128 + stopSignalReceived()) }
            throw InputError("the good commit \(goodCommit.prefix(12)) does not build: \(why); its output is in \(log)")
        }
        try copyImage(imagePath, to: state.goodImage)
        for (verdict, commit) in [("bad", badCommit), ("good", goodCommit)] {
            let marked = tree.git(["bisect", verdict, commit])
            guard marked.ok else { throw InputError("git bisect \(verdict) \(commit.prefix(12)): \(marked.output.split(separator: "\n").last ?? "")") }
        }
        if !tree.bisectResult().found {
            fflush(standardOutput)
            let ended = runRelaying(["git", "-C", tree.path, "bisect", "run", try ownPath(), "bisect", "--git-step", "-o", folder])
            guard ended != "not started" else { throw InputError("cannot start git bisect run: \(errorText(lastError))") }
            if stopSignalReceived() != 0 { throw ExitCode(128 + stopSignalReceived()) }
            // A step that failed wrote its status (3, or 128+N) and said why; git then stopped.
            if let failed = readText(folder + "/" + GitBisectState.failedFile), let status = Int32(failed.split(separator: "\n").last ?? "") {
                removeFile(folder + "/" + GitBisectState.failedFile)
                throw ExitCode(status)
            }
            if ended != "exit status 0" && tree.bisectResult().commits.isEmpty {
                printError("ipcbench: error: git bisect run in \(tree.path) ended with \(ended); its output is above")
                throw ExitCode(3)
            }
        }
        let steps = GitBisectState.readSteps(folder)
        print(table(["commit", "boots", "change_pct", "ci95_low_pct", "ci95_high_pct", "q", "decision"], steps.map { s in
            [s.commit, s.boots, s.percent, s.low, s.high, s.q, s.decision]
        }), terminator: "")
        let result = tree.bisectResult()
        func named(_ commit: String) -> String { "\(commit.prefix(12)) \(tree.git(["log", "-1", "--format=%s", commit]).output)" }
        if result.found, let first = result.commits.first {
            print("first bad commit: \(named(first))")
        } else {
            print("the first bad commit is one of: \(result.commits.map(named).joined(separator: "; ")) (skipped: they did not build, boot, or decide within --max-boots)")
            throw ExitCode(1)
        }
    }

    /// One step of `git bisect run`: builds the checked-out commit, compares its image with the good
    /// one's as a --list step does, and exits as git bisect run asks: 0 good, 1 bad, 125 skip (did
    /// not build or boot, or undecided); 255 stops the bisect where the step failed (its status in
    /// the folder's step-failed file for the bisect to exit with).
    private func runGitStep(folder: String) -> Int32 {
        installStopHandlers()
        func fail(_ status: Int32) -> Int32 {
            appendToFile(folder + "/" + GitBisectState.failedFile, "\(status)\n")
            return 255
        }
        do {
            let state = try GitBisectState.read(folder)
            let tree = GitTree(state.tree)
            let commit = tree.git(["rev-parse", "HEAD"]).output
            let short = String(commit.prefix(12))
            let subject = tree.git(["log", "-1", "--format=%s", commit]).output.replacing("\t", with: " ")
            let log = "\(folder)/build-\(short).log"
            if let why = buildKernel(state.build, in: tree.path, image: state.image, log: log) {
                if stopSignalReceived() != 0 { return fail(128 + stopSignalReceived()) }
                print("step: \(short) \(subject): did not build (\(why); its output is in \(log)): skipped")
                GitBisectState.appendStep(folder, [short, "", "", "", "", "", "skipped (did not build)"])
                return 125
            }
            let stepImage = "\(folder)/kernel-\(short)"
            try copyImage(state.image, to: stepImage)
            var filter = SeriesFilter()
            if let metric = state.metric { try filter.setMetric(metric) }
            for k in state.keys { try filter.addKey(k) }
            let kernels = [BisectKernel(kernel: state.goodImage, append: state.append), BisectKernel(kernel: stepImage, append: state.append),
                           BisectKernel(kernel: stepImage, append: state.append)]
            var driver = StepDriver(binary: try ownPath(), kernels: kernels, labels: ["good", short, short], folder: folder, filter: filter,
                                    arguments: state.arguments)
            driver.chosen = GitBisectState.readCase(folder)
            // The same search as --list over [good, this commit, bad]: it measures this commit alone.
            let outcome = try runBisect(count: 3, driver: &driver, thresholdPct: state.threshold, boots: state.boots, maxBoots: state.maxBoots) { step in
                print("step: \(short) \(subject), \(step.boots) boots a side: \(measured(step.measurement)): \(step.decision.rawValue)")
                fflush(standardOutput)
                func pct(_ v: Double?) -> String { v.map { formatDecimal($0, places: 1) } ?? "" }
                GitBisectState.appendStep(folder, [short, String(step.boots), pct(step.measurement?.percent), pct(step.measurement?.low),
                                                   pct(step.measurement?.high), step.measurement?.q.map { formatDecimal($0, places: 4) } ?? "",
                                                   step.measurement == nil ? "skipped (did not boot)" : step.decision.rawValue])
            }
            if let chosen = driver.chosen { GitBisectState.writeCase(folder, chosen) }
            switch outcome.steps.last?.decision ?? .skipped {
            case .good: return 0
            case .bad: return 1
            case .undecided, .skipped: return 125
            }
        } catch let error as ExitCode {
            return fail(error.rawValue)
        } catch {
            printError("ipcbench: error: \(error)")
            return fail(error is InputError ? 2 : 3)
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
        return table(header, rows)
    }

    private func table(_ header: [String], _ rows: [[String]]) -> String {
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
    /// Each kernel's name in its step's folder: its line in the list, or its commit.
    let labels: [String]
    let folder: String
    let filter: SeriesFilter
    let arguments: [String]
    /// The case and metric bisected, chosen at the first step that measured one.
    var chosen: (name: String, metric: String, cells: [String: String])?

    mutating func measure(_ index: Int, boots: Int) throws -> BisectMeasurement? {
        let good = kernels[0], step = kernels[index]
        let stepFolder = "\(folder)/step-\(labels[index])-boots-\(boots)"
        var argv = [binary, "kernels", good.kernel, step.kernel, "--boots", String(boots), "-o", stepFolder]
        if !good.append.isEmpty { argv += ["--append-base", good.append] }
        if !step.append.isEmpty { argv += ["--append-new", step.append] }
        argv += arguments
        let log = openFileOrErrno(stepFolder + ".log", O_WRONLY | O_CREAT | O_APPEND)
        guard log >= 0 else { throw InputError("\(stepFolder).log: cannot write: \(errorText(-log))") }
        let pid = spawnGroup(argv, output: log)
        closeDescriptor(log)
        guard pid > 0 else { throw InputError("\(binary): cannot start ipcbench kernels") }
        let ended = waitPassingStop(pid)
        if stopSignalReceived() != 0 { throw ExitCode(128 + stopSignalReceived()) }
        switch ended {
        case "exit status 0", "exit status 1": break  // 1: a boot failed; the comparison says what it has
        case let other where other.hasPrefix("killed by signal "):
            throw ExitCode(128 + (Int32(other.dropFirst("killed by signal ".count)) ?? 15))
        default:
            let status = Int32(ended.split(separator: " ").last ?? "") ?? 3
            printError("ipcbench: error: step \(index + 1) (\(step.kernel)): ipcbench kernels ended with \(ended); its output is in \(stepFolder).log")
            throw ExitCode(status >= 128 ? status : 3)
        }
        guard let text = readText(stepFolder + "/comparison.csv") else { return nil }  // no comparison: the kernel did not boot
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

/// A file's text, or nil where it cannot be read (or is not a regular file of at most 64 MiB).
func readText(_ path: String) -> String? {
    (try? readRegularFile(path, limit: 64 << 20, what: "a file of the bisect's")) ?? nil
}

/// `-o`'s folder, made where it is missing.
func makeOutputFolder(_ folder: String) throws {
    do { try makeDirectory(folder) } catch let error as SystemCallError {
        throw InputError("-o \(folder): cannot make the folder: \(errorText(error.code))")
    }
}

/// This binary's path.
func ownPath() throws -> String {
    guard let path = resolvedPath("/proc/self/exe") else { throw InputError("cannot find this binary's path (/proc/self/exe); is /proc mounted?") }
    return path
}

/// `path` against the working folder.
func absolutePath(_ path: String) throws -> String {
    if path.hasPrefix("/") { return path }
    guard let folder = currentDirectory() else { throw InputError("\(path): cannot read the working folder") }
    return folder + "/" + path
}
