import ArgumentParser
import Glibc
import IPCBench

struct KernelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "Compare kernels: boot each several times in alternating order (A B A B), run the same suite in every boot, compare with boots as the unit.",
        discussion: """
        Each kernel is a kernel image's path or a release with /boot/vmlinuz-<release>. Every boot is a \
        virtual machine (virtme-ng, QEMU) that shares the host's root file system and runs this ipcbench \
        binary's `run` with the suite options given here; its results come back into the folder (-o). \
        A journal in the folder records the plan and every finished boot: the same command again \
        resumes with the boots that are missing. Then the boots are compared (one side per kernel, the \
        boot as the unit), the table printed, comparison.csv and the plots written into the folder.
        Exit status: 0 every boot finished; 1 a boot failed (the comparison lacks it); 2 bad input \
        (nothing booted), or the folder holds another plan, a journal that cannot be read, or another \
        ipcbench kernels at work; 3 a journal line, a boot's file or comparison.csv could not be written; \
        128+N stopped by signal N (run it again to resume).
        """)

    @Argument(help: "The base kernel, then one or more new ones: a path to a kernel image, or a release in /boot (6.1.0-57-amd64).")
    var kernels: [String]

    @Option(help: "Boots per kernel, 1 to 100 (default 3).")
    var boots = 3

    @Option(help: "A TOML suite file for the run in every boot (default: the embedded default suite).")
    var config: String?

    @OptionGroup(title: "Suite options (as for ipcbench run)")
    var options: RunOptions

    @Option(name: [.short, .long], help: "The comparison's folder: results, journal, logs, comparison.csv, plots (default results/kernels-<base>-vs-<new>).")
    var output: String?

    @Option(name: .customLong("append-base"), help: "Kernel arguments added for the base kernel, for example 'mitigations=off'.")
    var appendBase = ""

    @Option(name: .customLong("append-new"), help: "Kernel arguments added for the new kernels.")
    var appendNew = ""

    @Option(name: .customLong("order-seed"), help: "Shuffle the order of each round of boots with this seed (default: A B A B ...).")
    var orderSeed: UInt64?

    @Option(help: "The guest's CPUs, 1 to 256 (default: the CPUs this process may use).")
    var vcpus: Int?

    @Option(help: "The guest's memory, at least 256MiB (default 2GiB).")
    var memory = "2GiB"

    @Option(name: .customLong("pin-vcpus"), help: "Host CPUs for the guest's vCPU threads, one per vCPU: 0,1 or 0-3 (default: not pinned).")
    var pinVcpus: String?

    @Option(help: "auto (KVM when a KVM guest answers, else emulation), kvm, or tcg (emulation).")
    var accel = "auto"

    @Option(name: .customLong("boot-timeout"), help: "End a boot that has not finished its suite after this long; it is recorded as failed (default 30m).")
    var bootTimeout = "30m"

    @Option(name: .customLong("db"), help: ArgumentHelp("Import every finished boot's results into this history database at the end: a SQLite file's path or a postgresql:// URL (see ipcbench history).", valueName: "path-or-url"))
    var database: String?

    func run() throws {
        if database?.isEmpty == true { throw InputError("--db: empty; give a SQLite file's path or a postgresql:// URL") }
        let (plan, folder, timeoutNs) = try checkedPlan()
        let recorded = try KernelJournal.read(folder + "/" + KernelJournal.fileName)?.events ?? []
        if let fields = KernelJournal.plan(in: recorded), let difference = plan.difference(from: fields) {
            throw InputError(anotherPlan(folder, difference))
        }
        for tool in ["vng", "qemu-system-x86_64"] where findOnPath(tool) == nil {
            throw InputError("\(tool) is not installed: run scripts/setup --kernels (qemu-system-x86 from apt, virtme-ng from PyPI)")
        }
        let binary = try executablePath()
        let driver = VMDriver(guest: plan.guest, decided: KernelJournal.decidedAccel(in: recorded))
        let comparison = try KernelComparison(plan: plan, folder: folder, driver: driver, binary: binary, timeoutNs: timeoutNs)
        printHeader(comparison, driver)
        do {
            try comparison.runMissing(report: { print($0); fflush(standardOutput) })
        } catch let stop as RunStopped {
            let done = plan.order.count - comparison.missingSlots.count
            printError("ipcbench: stopped by signal \(stop.signal) with \(done) of \(plan.order.count) boots finished; the journal is \(comparison.journal.path): run the same command again to resume")
            throw ExitCode(128 + stop.signal)
        }
        let (sides, lacking) = try comparison.sides()
        if !lacking.isEmpty { print("the comparison lacks \(lacking.count) of \(plan.order.count) boots: \(lacking.joined(separator: "; ")); run the same command again to retry them") }
        if let empty = sides.indices.first(where: { sides[$0].files.isEmpty }) {
            print("no comparison: kernel \(plan.kernels[empty].label) has no finished boot")
            throw ExitCode(1)
        }
        let report = compareResults(sides, ignoring: [], alpha: 0.05)
        print(renderComparison(report, format: .table), terminator: "")
        let csvPath = folder + "/comparison.csv"
        try writeFileReplacing(csvPath, renderComparison(report, format: .csv))
        print("wrote \(csvPath)")
        plot(sides, folder: folder, binary: binary)
        if let database { try importWritten(sides.flatMap { $0.files.map(\.path) }, into: database, report: { print($0) }) }
        if !lacking.isEmpty { throw ExitCode(1) }
    }

    /// Every argument checked, before anything is written or booted.
    private func checkedPlan() throws -> (KernelPlan, String, UInt64) {
        guard kernels.count >= 2 else { throw InputError("kernels needs a base kernel and at least one new one: ipcbench kernels BASE NEW [NEW2 ...]") }
        guard kernels.count <= 26 else { throw InputError("\(kernels.count) kernels: at most 26 (A to Z) in one comparison") }
        guard (1...100).contains(boots) else { throw InputError("--boots \(boots): give 1 to 100 boots per kernel") }
        guard let accelChoice = Accel(rawValue: accel) else { throw InputError("--accel \(accel): expected auto, kvm or tcg") }
        if accelChoice == .kvm && access("/dev/kvm", R_OK | W_OK) != 0 {
            throw InputError("--accel kvm: /dev/kvm is missing or not usable here; use --accel tcg (emulation) or auto")
        }
        let allowed = allowedCPUs()
        let vcpuCount = vcpus ?? allowed.count
        guard (1...256).contains(vcpuCount) else { throw InputError("--vcpus \(vcpuCount): give 1 to 256 guest CPUs") }
        let physical = sysconf(Int32(_SC_PHYS_PAGES)) * sysconf(Int32(_SC_PAGESIZE))
        let memoryBytes = try parseSize(memory, what: "--memory", bound: Bound(max: physical, shown: formatSize((physical >> 20) << 20), why: "this machine's memory"))
        guard memoryBytes >= 256 << 20 else { throw InputError("--memory \(memory): a guest needs at least 256MiB") }
        let pins = try pinVcpus.map { try parseCPUList($0, what: "--pin-vcpus", allowed: allowed) } ?? []
        if !pins.isEmpty && pins.count != vcpuCount {
            throw InputError("--pin-vcpus \(pinVcpus!): \(pins.count) host CPUs for \(vcpuCount) vCPUs; give one host CPU per vCPU (or set --vcpus)")
        }
        let timeoutNs = try parseDuration(bootTimeout, what: "--boot-timeout", bound: InputLimits.timeout)
        if let orderSeed { try Schedule.checkSeed(orderSeed, what: "--order-seed") }
        let images = try kernels.enumerated().map { i, text -> KernelImage in
            let (path, release) = try resolveKernel(text)
            return KernelImage(label: kernelLabel(i), path: path, release: release, append: i == 0 ? appendBase : appendNew)
        }
        let configPath = try config.map { try absolute($0, what: "--config") }
        _ = try options.resolve(config: configPath)
        let folder = try absolute(output ?? "results/kernels-\(images[0].safeRelease)-vs-\(images[1].safeRelease)", what: "-o")
        if let bad = folder.first(where: { $0 == "=" || $0 == "," || $0 == "'" || $0 == "\"" || $0.isWhitespace }) {
            throw InputError("-o \(folder): virtme-ng cannot share a folder whose path holds '\(bad)'; choose a path without = , quotes or spaces")
        }
        var info = stat()
        if stat(folder, &info) == 0 {
            guard (info.st_mode & S_IFMT) == S_IFDIR else { throw InputError("-o \(folder): exists and is not a folder; give a folder") }
            // What this command makes before its journal: a crash there leaves them alone in the folder.
            let own: Set<String> = [FolderLock.fileName, "attempts", "logs", KernelJournal.fileName + ".new"]
            if access(folder + "/" + KernelJournal.fileName, F_OK) != 0 && directoryNames(folder)?.allSatisfy(own.contains) != true {
                throw InputError("-o \(folder): the folder holds files but no \(KernelJournal.fileName); give a new folder, or the folder of an earlier ipcbench kernels to resume it")
            }
        }
        let guest = GuestShape(vcpus: vcpuCount, memoryMiB: memoryBytes >> 20, pinCPUs: pins, accel: accelChoice)
        let plan = KernelPlan(kernels: images, boots: boots, orderSeed: orderSeed,
                              runArguments: (configPath.map { [$0] } ?? []) + options.arguments, configPath: configPath, guest: guest)
        return (plan, folder, timeoutNs)
    }

    private func printHeader(_ c: KernelComparison, _ driver: VMDriver) {
        let plan = c.plan
        for k in plan.kernels {
            print("\(k.label): \(k.release) (\(k.path))\(k.append.isEmpty ? "" : ", with \(k.append)")")
        }
        let order = plan.order.map { "\(plan.kernels[$0.kernel].label)\($0.boot)" }.joined(separator: " ")
        print("\(plan.boots) boots each, in the order \(order); the \(driver.name) driver (virtme-ng): \(plan.guest.vcpus) vCPUs, \(plan.guest.memoryMiB) MiB, accel \(driver.accel?.rawValue ?? "auto (KVM is tried on the first boot)")")
        let missing = c.missingSlots.count
        print(missing == plan.order.count ? "folder \(c.folder)" : "folder \(c.folder): resuming, \(plan.order.count - missing) of \(plan.order.count) boots done, \(missing) to go")
        fflush(standardOutput)
    }

    /// scripts/plot.py on the sides, when the repository's script and matplotlib are there.
    private func plot(_ sides: [Side], folder: String, binary: String) {
        var dir = binary
        var script: String?
        for _ in 0..<5 {
            dir = String(dir[..<(dir.lastIndex(of: "/") ?? dir.startIndex)])
            if access(dir + "/scripts/plot.py", R_OK) == 0 { script = dir + "/scripts/plot.py"; break }
        }
        guard let script else { print("plots: not drawn, scripts/plot.py is not beside this binary (run the repository's build)"); return }
        guard runQuietly(["python3", "-c", "import matplotlib"]) == "exit status 0" else {
            print("plots: not drawn, matplotlib is not installed (python3 -m pip install matplotlib)")
            return
        }
        setenv("IPCBENCH", binary, 1)
        fflush(standardOutput)
        let pid = spawnGroup(["python3", script] + sides.map(\.label) + ["-o", folder + "/plots"], output: 1)
        let status = pid > 0 ? reap(pid) : "not started"
        print(status == "exit status 0" ? "plots: \(folder)/plots" : "plots: scripts/plot.py failed (\(status))")
    }
}

/// Runs a command with its output thrown away; how it ended (`exit status 0` when it worked).
private func runQuietly(_ argv: [String]) -> String {
    let null = open("/dev/null", O_WRONLY | O_CLOEXEC)
    defer { close(null) }
    let pid = spawnGroup(argv, output: null)
    return pid > 0 ? reap(pid) : "not started"
}

/// The path of a program on PATH, or nil.
private func findOnPath(_ name: String) -> String? {
    let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin"
    return path.split(separator: ":").map { "\($0)/\(name)" }.first { access($0, X_OK) == 0 }
}

/// This process's binary, which the guests run.
private func executablePath() throws -> String {
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard n > 0 else { throw InputError("cannot find this binary's path (/proc/self/exe); is /proc mounted?") }
    return cString(buffer)
}

/// `path` made absolute against the working folder, with `.` and `..` resolved.
private func absolute(_ path: String, what: String) throws -> String {
    var full = path
    if !path.hasPrefix("/") {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { throw InputError("\(what) \(path): cannot read the working folder") }
        full = cString(buffer) + "/" + path
    }
    var parts: [Substring] = []
    for part in full.split(separator: "/") where part != "." {
        if part == ".." { _ = parts.popLast() } else { parts.append(part) }
    }
    return "/" + parts.joined(separator: "/")
}
