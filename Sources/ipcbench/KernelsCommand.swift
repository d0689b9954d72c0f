import ArgumentParser
import Glibc
import IPCPlatform
import IPCModel
import IPCRun
import IPCAnalysis
import IPCLab

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
        With --driver kexec the boots are the machine itself, rebooted into each kernel by kexec through \
        systemd (see docs/comparing.md): without --reboot it checks what it needs, prints the plan and \
        exits; with it, a systemd unit resumes the comparison at every boot, and --abandon -o DIR ends one.
        Exit status: 0 every boot finished; 1 a boot failed (the comparison lacks it); 2 bad input \
        (nothing booted), or the folder holds another plan, a journal that cannot be read, or another \
        ipcbench kernels at work; 3 a journal line, a boot's file or comparison.csv could not be written; \
        128+N stopped by signal N (run it again to resume).
        """)

    @Argument(help: "The base kernel, then one or more new ones: a path to a kernel image, or a release in /boot (6.1.0-57-amd64).")
    var kernels: [String] = []

    @Option(help: "vm (a virtual machine per boot: the default) or kexec (this machine, rebooted into each kernel by kexec).")
    var driver = "vm"

    @Flag(help: "kexec driver: consent to reboot this machine, once per boot and once to return; without it the plan is printed and nothing happens.")
    var reboot = false

    @Flag(name: .customLong("return"), inversion: .prefixedNo, help: "kexec driver: after the last boot, kexec back into the kernel the machine started the comparison in (--no-return stays in the last).")
    var returnHome = true

    @Option(name: .customLong("initrd-base"), help: ArgumentHelp("kexec driver: the base kernel's initrd (default /boot/initrd.img-<release>).", valueName: "file"))
    var initrdBase: String?

    @Option(name: .customLong("initrd-new"), help: ArgumentHelp("kexec driver: the new kernels' initrd (default /boot/initrd.img-<release> of each).", valueName: "file"))
    var initrdNew: String?

    @Flag(help: "kexec driver: end the comparison in the folder (-o): its systemd unit is removed, its files stay.")
    var abandon = false

    @Option(help: ArgumentHelp("Boots per kernel, 1 to 100 (default 3).", valueName: "n"))
    var boots = 3

    @Option(help: ArgumentHelp("A TOML suite file for the run in every boot (default: the embedded default suite).", valueName: "file"))
    var config: String?

    @OptionGroup(title: "Suite options (as for ipcbench run)")
    var options: RunOptions

    @Option(name: [.short, .long], help: ArgumentHelp("The comparison's folder: results, journal, logs, comparison.csv, plots (default results/kernels-<base>-vs-<new>).", valueName: "dir"))
    var output: String?

    @Option(name: .customLong("append-base"), help: ArgumentHelp("Kernel arguments added for the base kernel, for example 'mitigations=off'.", valueName: "args"))
    var appendBase = ""

    @Option(name: .customLong("append-new"), help: ArgumentHelp("Kernel arguments added for the new kernels.", valueName: "args"))
    var appendNew = ""

    @Option(name: .customLong("order-seed"), help: ArgumentHelp("Shuffle the order of each round of boots with this seed (default: A B A B ...).", valueName: "seed"))
    var orderSeed: UInt64?

    @Option(help: ArgumentHelp("The guest's CPUs, 1 to 256 (default: the CPUs this process may use).", valueName: "n"))
    var vcpus: Int?

    @Option(help: "The guest's memory, at least 256MiB (default 2GiB).")
    var memory = "2GiB"

    @Option(name: .customLong("pin-vcpus"), help: ArgumentHelp("Host CPUs for the guest's vCPU threads, one per vCPU: 0,1 or 0-3 (default: not pinned).", valueName: "cpus"))
    var pinVcpus: String?

    @Option(help: "auto (KVM when a KVM guest answers, else emulation), kvm, or tcg (emulation).")
    var accel = "auto"

    @Option(name: .customLong("boot-timeout"), help: ArgumentHelp("End a boot that has not finished its suite after this long; it is recorded as failed (default 30m).", valueName: "duration"))
    var bootTimeout = "30m"

    @Option(name: .customLong("db"), help: ArgumentHelp("Import every finished boot's results into this history database at the end: a SQLite file's path or a postgresql:// URL (see ipcbench history).", valueName: "path-or-url"))
    var database: String?

    func run() throws {
        if database?.isEmpty == true { throw InputError("--db: empty; give a SQLite file's path or a postgresql:// URL") }
        if abandon { return try abandonComparison() }
        guard let kind = DriverKind(rawValue: driver) else { throw InputError("--driver \(driver): expected vm or kexec") }
        switch kind {
        case .kexec: return try runKexec()
        case .vm: break
        }
        let onlyKexec = [("--reboot", reboot), ("--no-return", !returnHome), ("--initrd-base", initrdBase != nil), ("--initrd-new", initrdNew != nil)]
        if let (option, _) = onlyKexec.first(where: { $0.1 }) {
            throw InputError("\(option) is for the kexec driver, which reboots this machine: add --driver kexec, or leave \(option) out")
        }
        let (plan, folder, timeoutNs) = try checkedPlan(.vm)
        let recorded = try KernelJournal.read(folder + "/" + KernelJournal.fileName)?.events ?? []
        if let fields = KernelJournal.plan(in: recorded), let difference = plan.difference(from: fields) {
            throw InputError(anotherPlan(folder, difference))
        }
        for tool in ["vng", "qemu-system-x86_64"] where programPath(tool) == nil {
            throw InputError("\(tool) is not installed: run scripts/setup --kernels (qemu-system-x86 from apt, virtme-ng from PyPI)")
        }
        let binary = try ownPath()
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
        if try !compareAndPrint(comparison, binary: binary) { throw ExitCode(1) }
    }

    /// Compares the finished boots and prints the table, as the vm driver does; whether a boot is lacking.
    private func compareAndPrint(_ comparison: KernelComparison, binary: String) throws -> Bool {
        let plan = comparison.plan
        let (sides, lacking) = try comparison.sides()
        if !lacking.isEmpty { print("the comparison lacks \(lacking.count) of \(plan.order.count) boots: \(lacking.joined(separator: "; ")); run the same command again to retry them") }
        if let empty = sides.indices.first(where: { sides[$0].files.isEmpty }) {
            print("no comparison: kernel \(plan.kernels[empty].label) has no finished boot")
            return false
        }
        let report = compareResults(sides, ignoring: [], alpha: 0.05)
        print(renderComparison(report, format: .table), terminator: "")
        let csvPath = comparison.folder + "/comparison.csv"
        try writeFileReplacing(csvPath, renderComparison(report, format: .csv))
        print("wrote \(csvPath)")
        plot(sides, folder: comparison.folder, binary: binary)
        if let database { try importWritten(sides.flatMap { $0.files.map(\.path) }, into: database, report: { print($0) }) }
        return lacking.isEmpty
    }

    /// The kexec driver: checks, consent, then this boot's step of the comparison (see KexecComparison).
    private func runKexec() throws {
        let (plan, folder, timeoutNs) = try checkedPlan(.kexec)
        let recorded = try KernelJournal.read(folder + "/" + KernelJournal.fileName)?.events ?? []
        if let fields = KernelJournal.plan(in: recorded), let difference = plan.difference(from: fields) {
            throw InputError(anotherPlan(folder, difference))
        }
        let binary = try ownPath()
        let now = BootFacts.current()
        let machine = KexecMachine.current()
        if let refusal = machine.refusal { throw InputError("--driver kexec: \(refusal)") }
        let resuming = KernelComparison.resumesABoot(recorded)
        // The kernel running now: where a new pass starts, and where --return goes back to (a resumed
        // boot's kernel, an image by path perhaps, need not be in /boot).
        let home = resuming ? nil : try homeKernel(now)
        if let home {
            for (what, path) in [("the folder (-o)", folder), ("this ipcbench binary", binary), ("/etc/systemd/system", "/etc/systemd/system")] {
                if let volatile = volatileFileSystem(of: path) {
                    throw InputError("--driver kexec: \(what) \(path) is on \(volatile), which does not survive a reboot; put it on a disk")
                }
            }
            let origin = plannedCommandLine(origin: now.commandLine, append: "")
            var loads = plan.kernels.map { ($0.path, $0.initrd, plannedCommandLine(origin: now.commandLine, append: $0.append)) }
            if returnHome { loads.append((home.path, home.initrd, origin)) }
            if let error = KexecDriver().trialLoad(loads) { throw InputError("--driver kexec: \(error)") }
        }
        let unitName = KexecDriver.unitName(plan)
        guard reboot else {
            print(kexecPlanText(plan: plan, folder: folder, now: now, home: returnHome ? home?.path : nil,
                                unit: unitName, binary: binary, recorded: recorded))
            return
        }
        let driver = KexecDriver()
        let comparison = try KernelComparison(plan: plan, folder: folder, driver: driver, binary: binary, timeoutNs: timeoutNs)
        printHeader(comparison, driver)
        let unitText = KexecDriver.unitText(command: [binary] + unitArguments(folder), paths: [folder, binary], folder: folder)
        let startPass = home.map { JournalEvent.origin(path: $0.path, release: now.release, initrd: $0.initrd,
                                                       commandLine: now.commandLine, bootID: now.bootID) }
        let step: KexecStep
        do {
            step = try comparison.runKexec(driver, now: now, startPass: startPass, unit: (unitName, unitText),
                                           report: { print($0); fflush(standardOutput) })
        } catch let stop as RunStopped {
            printError("ipcbench: stopped by signal \(stop.signal); the journal is \(comparison.journal.path)")
            throw ExitCode(128 + stop.signal)
        }
        switch step {
        case .rebooting:
            fflush(standardOutput)
        case .passOver(let returnTo):
            print("every boot of this pass is over: \(unitName) is removed")
            let complete = try compareAndPrint(comparison, binary: binary)
            if returnHome, case .origin(let path, let release, let initrd, let line, _)? = returnTo {
                print("returning to \(release): kexec into \(path) with '\(plannedCommandLine(origin: line, append: ""))'")
                fflush(standardOutput)
                if let error = driver.load(image: path, initrd: initrd, commandLine: plannedCommandLine(origin: line, append: "")) ?? driver.reboot() {
                    printError("ipcbench: the return failed, the machine stays in \(now.release): \(error)")
                    throw ExitCode(1)
                }
            } else {
                print("the machine stays in \(now.release)")
            }
            if !complete { throw ExitCode(1) }
        }
    }

    /// The running kernel's image and initrd, in /boot: the pass's origin.
    private func homeKernel(_ now: BootFacts) throws -> (path: String, initrd: String) {
        let image = "/boot/vmlinuz-\(now.release)", initrd = "/boot/initrd.img-\(now.release)"
        guard !returnHome || (canAccess(image, .read) && canAccess(initrd, .read)) else {
            throw InputError("--driver kexec: the running kernel's \(canAccess(image, .read) ? initrd : image) is missing, so --return cannot boot it again; install it, or give --no-return")
        }
        return (resolvedPath(image) ?? image, resolvedPath(initrd) ?? initrd)
    }

    /// The command's arguments as the unit runs them at every boot: the same plan, with paths made absolute.
    private func unitArguments(_ folder: String) -> [String] {
        var out = ["kernels"] + kernels.map { $0.contains("/") ? ((try? absolute($0, what: "kernel")) ?? $0) : $0 }
        out += ["--driver", "kexec", "--reboot", "--boots", String(boots), "--boot-timeout", bootTimeout]
        if let orderSeed { out += ["--order-seed", String(orderSeed)] }
        if !appendBase.isEmpty { out += ["--append-base", appendBase] }
        if !appendNew.isEmpty { out += ["--append-new", appendNew] }
        if let initrdBase { out += ["--initrd-base", (try? absolute(initrdBase, what: "--initrd-base")) ?? initrdBase] }
        if let initrdNew { out += ["--initrd-new", (try? absolute(initrdNew, what: "--initrd-new")) ?? initrdNew] }
        if let config { out += ["--config", (try? absolute(config, what: "--config")) ?? config] }
        if !returnHome { out.append("--no-return") }
        if let database { out += ["--db", database.contains("://") || database.hasPrefix("/") ? database : (try? absolute(database, what: "--db")) ?? database] }
        return out + options.arguments + ["-o", folder]
    }

    /// `--abandon -o DIR`: removes the comparison's unit; its files stay.
    private func abandonComparison() throws {
        guard let output else { throw InputError("--abandon: give the comparison's folder with -o DIR") }
        guard kernels.isEmpty else { throw InputError("--abandon takes no kernels: ipcbench kernels --abandon -o DIR") }
        let folder = try absolute(output, what: "-o")
        guard let events = try KernelJournal.read(folder + "/" + KernelJournal.fileName)?.events,
              let fields = KernelJournal.plan(in: events) else {
            throw InputError("--abandon -o \(folder): no comparison there (no \(KernelJournal.fileName)); give the folder of an ipcbench kernels --driver kexec")
        }
        guard fields.contains(JournalField("driver", "kexec")) else {
            throw InputError("--abandon -o \(folder): a comparison of the vm driver, which installs nothing; there is nothing to abandon")
        }
        guard isRoot else { throw InputError("--abandon: removing a systemd unit needs root: run it with sudo") }
        let name = "ipcbench-kernels-\(KernelPlan.digest(of: fields)).service"
        let driver = KexecDriver()
        if let error = driver.remove(unit: name) { throw InputError("--abandon: \(error)") }
        if case .kexec(_, _, let from)? = events.last(where: { $0.attempt != nil }), from == BootFacts.current().bootID {
            _ = driver.unload()
        }
        print("abandoned the comparison in \(folder): \(name) is gone; its journal and results stay")
    }

    /// Every argument checked, before anything is written or booted.
    private func checkedPlan(_ kind: DriverKind) throws -> (KernelPlan, String, UInt64) {
        guard kernels.count >= 2 else { throw InputError("kernels needs a base kernel and at least one new one: ipcbench kernels BASE NEW [NEW2 ...]") }
        guard kernels.count <= 26 else { throw InputError("\(kernels.count) kernels: at most 26 (A to Z) in one comparison") }
        guard (1...100).contains(boots) else { throw InputError("--boots \(boots): give 1 to 100 boots per kernel") }
        let guest = try checkedGuest(kind)
        let timeoutNs = try parseDuration(bootTimeout, what: "--boot-timeout", bound: InputLimits.timeout)
        if let orderSeed { try Schedule.checkSeed(orderSeed, what: "--order-seed") }
        let images = try kernels.enumerated().map { i, text -> KernelImage in
            let (path, release) = try resolveKernel(text)
            let initrd = try kind == .kexec ? checkedInitrd(i == 0 ? initrdBase : initrdNew, release: release, option: i == 0 ? "--initrd-base" : "--initrd-new") : ""
            return KernelImage(label: kernelLabel(i), path: path, release: release, append: i == 0 ? appendBase : appendNew, initrd: initrd)
        }
        let configPath = try config.map { try absolute($0, what: "--config") }
        _ = try options.resolve(config: configPath)
        let folder = try absolute(output ?? "results/kernels-\(images[0].safeRelease)-vs-\(images[1].safeRelease)", what: "-o")
        switch kind {
        case .vm:
            if let bad = folder.first(where: { $0 == "=" || $0 == "," || $0 == "'" || $0 == "\"" || $0.isWhitespace }) {
                throw InputError("-o \(folder): virtme-ng cannot share a folder whose path holds '\(bad)'; choose a path without = , quotes or spaces")
            }
        case .kexec:
            // The unit's file holds the command line: one line each.
            let words = [folder] + kernels + [appendBase, appendNew, initrdBase ?? "", initrdNew ?? "", config ?? ""]
            if let bad = words.first(where: { $0.unicodeScalars.contains { $0.value < 32 || $0.value == 127 } }) {
                throw InputError("'\(bad)': a control character, which the kexec driver's systemd unit cannot hold; leave it out")
            }
        }
        if let status = fileStatus(folder) {
            guard status.kind == .directory else { throw InputError("-o \(folder): exists and is not a folder; give a folder") }
            // What this command makes before its journal: a crash there leaves them alone in the folder.
            let own: Set<String> = [FolderLock.fileName, "attempts", "logs", KernelJournal.fileName + ".new"]
            if !canAccess(folder + "/" + KernelJournal.fileName) && directoryNames(folder)?.allSatisfy(own.contains) != true {
                throw InputError("-o \(folder): the folder holds files but no \(KernelJournal.fileName); give a new folder, or the folder of an earlier ipcbench kernels to resume it")
            }
        }
        let plan = KernelPlan(kernels: images, boots: boots, orderSeed: orderSeed,
                              runArguments: (configPath.map { [$0] } ?? []) + options.arguments, configPath: configPath, guest: guest, driver: kind)
        return (plan, folder, timeoutNs)
    }

    /// A kexec boot's initrd: the option's file, or /boot/initrd.img-<release>.
    private func checkedInitrd(_ option: String?, release: String, option name: String) throws -> String {
        let path = try option.map { try absolute($0, what: name) } ?? "/boot/initrd.img-\(release)"
        guard fileStatus(path)?.kind == .regular, canAccess(path, .read) else {
            throw InputError(option == nil ? "--driver kexec: kernel \(release) has no initrd \(path); make one (update-initramfs -c -k \(release)) or give it with \(name)"
                                           : "\(name) \(option!): no such readable file; give the initrd of that kernel")
        }
        return resolvedPath(path) ?? path
    }

    /// The guest every vm boot gets; the kexec driver has none.
    private func checkedGuest(_ kind: DriverKind) throws -> GuestShape {
        guard kind == .vm else { return GuestShape(vcpus: 0, memoryMiB: 0, pinCPUs: [], accel: .none) }
        guard let accelChoice = Accel(rawValue: accel), accelChoice != .none else { throw InputError("--accel \(accel): expected auto, kvm or tcg") }
        if accelChoice == .kvm && !canAccess("/dev/kvm", [.read, .write]) {
            throw InputError("--accel kvm: /dev/kvm is missing or not usable here; use --accel tcg (emulation) or auto")
        }
        let allowed = allowedCPUs()
        let vcpuCount = vcpus ?? allowed.count
        guard (1...256).contains(vcpuCount) else { throw InputError("--vcpus \(vcpuCount): give 1 to 256 guest CPUs") }
        let physical = physicalMemoryBytes
        let memoryBytes = try parseSize(memory, what: "--memory", bound: Bound(max: physical, shown: formatSize((physical >> 20) << 20), why: "this machine's memory"))
        guard memoryBytes >= 256 << 20 else { throw InputError("--memory \(memory): a guest needs at least 256MiB") }
        let pins = try pinVcpus.map { try parseCPUList($0, what: "--pin-vcpus", allowed: allowed) } ?? []
        if !pins.isEmpty && pins.count != vcpuCount {
            throw InputError("--pin-vcpus \(pinVcpus!): \(pins.count) host CPUs for \(vcpuCount) vCPUs; give one host CPU per vCPU (or set --vcpus)")
        }
        return GuestShape(vcpus: vcpuCount, memoryMiB: memoryBytes >> 20, pinCPUs: pins, accel: accelChoice)
    }

    private func printHeader(_ c: KernelComparison, _ driver: BootDriver) {
        let plan = c.plan
        for k in plan.kernels {
            print("\(k.label): \(k.release) (\(k.path))\(k.append.isEmpty ? "" : ", with \(k.append)")")
        }
        let order = plan.order.map { "\(plan.kernels[$0.kernel].label)\($0.boot)" }.joined(separator: " ")
        if let vm = driver as? VMDriver {
            print("\(plan.boots) boots each, in the order \(order); the vm driver (virtme-ng): \(plan.guest.vcpus) vCPUs, \(plan.guest.memoryMiB) MiB, accel \(vm.accel?.rawValue ?? "auto (KVM is tried on the first boot)")")
        } else {
            let now = BootFacts.current()
            print("\(plan.boots) boots each, in the order \(order); the \(driver.name) driver: this machine, in boot \(now.bootID) of \(now.release)")
        }
        let missing = c.missingSlots.count
        print(missing == plan.order.count ? "folder \(c.folder)" : "folder \(c.folder): resuming, \(plan.order.count - missing) of \(plan.order.count) boots done, \(missing) to go")
        fflush(standardOutput)
    }

    /// scripts/plot.py on the sides, when the repository's script (or the package's, in
    /// /usr/share/ipcbench/scripts beside /usr/bin/ipcbench) and matplotlib are there.
    private func plot(_ sides: [Side], folder: String, binary: String) {
        var dir = binary
        var script: String?
        for _ in 0..<5 {
            dir = String(dir[..<(dir.lastIndex(of: "/") ?? dir.startIndex)])
            if canAccess(dir + "/scripts/plot.py", .read) { script = dir + "/scripts/plot.py"; break }
            if canAccess(dir + "/share/ipcbench/scripts/plot.py", .read) { script = dir + "/share/ipcbench/scripts/plot.py"; break }
        }
        guard let script else { print("plots: not drawn, scripts/plot.py is neither beside this binary (a checkout's build) nor in share/ipcbench/scripts (the package's)"); return }
        // The checkout's own Python (scripts/setup makes it) has matplotlib; the system's may not.
        let python = canAccess(dir + "/.venv/bin/python3", .execute) ? dir + "/.venv/bin/python3" : "python3"
        guard runQuietly([python, "-c", "import matplotlib"]) == "exit status 0" else {
            print("plots: not drawn, matplotlib is not installed (scripts/setup --kernels installs it into the checkout's .venv)")
            return
        }
        setEnvironmentValue("IPCBENCH", binary)
        fflush(standardOutput)
        let pid = spawnGroup([python, script] + sides.map(\.label) + ["-o", folder + "/plots"], output: 1)
        let status = pid > 0 ? reap(pid) : "not started"
        print(status == "exit status 0" ? "plots: \(folder)/plots" : "plots: scripts/plot.py failed (\(status))")
    }
}

/// Runs a command with its output thrown away; how it ended (`exit status 0` when it worked).
private func runQuietly(_ argv: [String]) -> String {
    let null = openFileOrErrno("/dev/null", O_WRONLY)
    defer { closeDescriptor(null) }
    let pid = spawnGroup(argv, output: null)
    return pid > 0 ? reap(pid) : "not started"
}

/// `path` made absolute against the working folder, with `.` and `..` resolved.
private func absolute(_ path: String, what: String) throws -> String {
    var full = path
    if !path.hasPrefix("/") {
        guard let folder = currentDirectory() else { throw InputError("\(what) \(path): cannot read the working folder") }
        full = folder + "/" + path
    }
    var parts: [Substring] = []
    for part in full.split(separator: "/") where part != "." {
        if part == ".." { _ = parts.popLast() } else { parts.append(part) }
    }
    return "/" + parts.joined(separator: "/")
}
