import Glibc
import IPCPlatform
import IPCModel
import IPCRun
import IPCAnalysis

/// What this boot is, read from the kernel at the start of every invocation: how a boot of the kexec
/// driver proves it is the new boot of the kernel the plan expected.
public struct BootFacts: Equatable, Sendable {
    /// /proc/sys/kernel/random/boot_id: new at every boot, kexec or not.
    public let bootID: String
    public let procVersion: String
    /// uname -r
    public let release: String
    public let commandLine: String

    public init(bootID: String, procVersion: String, release: String, commandLine: String) {
        self.bootID = bootID
        self.procVersion = procVersion
        self.release = release
        self.commandLine = commandLine
    }

    public static func current() -> BootFacts {
        BootFacts(bootID: readProcValue("/proc/sys/kernel/random/boot_id") ?? "",
                  procVersion: readProcValue("/proc/version") ?? "", release: KernelNames().release,
                  commandLine: readProcValue("/proc/cmdline") ?? "")
    }
}

/// The command line a kexec boot gets: the command line of the boot its pass started from, less the
/// words a boot loader adds for itself (BOOT_IMAGE=, initrd=: kexec passes the initrd itself), then
/// the kernel's own arguments (`--append-base` / `--append-new`).
public func plannedCommandLine(origin: String, append: String) -> String {
    let words = origin.split(separator: " ").filter { !$0.hasPrefix("BOOT_IMAGE=") && !$0.hasPrefix("initrd=") }
    return (words.map(String.init) + append.split(separator: " ").map(String.init)).joined(separator: " ")
}

/// Why `facts` is not a boot of `release` with `commandLine`, or nil when it is.
public func unexpectedBoot(_ facts: BootFacts, release: String, commandLine: String) -> String? {
    var found: [String] = []
    if facts.release != release { found.append("uname -r says \(facts.release)") }
    if !facts.procVersion.hasPrefix("Linux version \(release) ") { found.append("/proc/version says '\(facts.procVersion.prefix(100))'") }
    if facts.commandLine != commandLine { found.append("the command line is '\(facts.commandLine)'") }
    guard !found.isEmpty else { return nil }
    return "boot \(facts.bootID) is not \(release) with the command line '\(commandLine)': " + found.joined(separator: "; ")
}

/// What the kexec driver needs of the machine, read before the first boot (`current()`); tests make
/// their own.
public struct KexecMachine: Sendable {
    public var effectiveUID: uid_t
    /// CapEff from /proc/self/status.
    public var capabilities: UInt64
    /// /proc/1/comm
    public var pid1: String
    /// Whether /run/systemd/system exists: systemd's own test that it booted the machine.
    public var systemdBooted: Bool
    public var kexecFound: Bool
    public var systemctlFound: Bool
    /// /proc/sys/kernel/kexec_load_disabled; "" where the kernel has no kexec.
    public var loadDisabled: String
    /// /sys/kernel/security/lockdown: `[none] integrity confidentiality`; "" where there is none.
    public var lockdown: String
    /// /sys/kernel/kexec_loaded: "1" while a kernel is loaded for kexec.
    public var kexecLoaded: String

    public init(effectiveUID: uid_t, capabilities: UInt64, pid1: String, systemdBooted: Bool, kexecFound: Bool,
                systemctlFound: Bool, loadDisabled: String, lockdown: String, kexecLoaded: String) {
        self.effectiveUID = effectiveUID
        self.capabilities = capabilities
        self.pid1 = pid1
        self.systemdBooted = systemdBooted
        self.kexecFound = kexecFound
        self.systemctlFound = systemctlFound
        self.loadDisabled = loadDisabled
        self.lockdown = lockdown
        self.kexecLoaded = kexecLoaded
    }

    public static func current() -> KexecMachine {
        let status = readWholeFile("/proc/self/status") ?? ""
        let capEff = status.split(separator: "\n").first { $0.hasPrefix("CapEff:") }
            .flatMap { UInt64(String($0.dropFirst("CapEff:".count)).trimmingWhitespace(), radix: 16) } ?? 0
        return KexecMachine(effectiveUID: effectiveUserID, capabilities: capEff, pid1: readProcValue("/proc/1/comm") ?? "",
                            systemdBooted: canAccess("/run/systemd/system"),
                            kexecFound: programPath("kexec") != nil, systemctlFound: programPath("systemctl") != nil,
                            loadDisabled: readProcValue("/proc/sys/kernel/kexec_load_disabled") ?? "",
                            lockdown: readProcValue("/sys/kernel/security/lockdown") ?? "",
                            kexecLoaded: readProcValue("/sys/kernel/kexec_loaded") ?? "")
    }

    /// What is missing for the kexec driver, as one line that says how to fix it; nil when nothing is.
    public var refusal: String? {
        let capSysBoot: UInt64 = 1 << 22
        if effectiveUID != 0 { return "the kexec driver needs root (it loads kernels and installs a systemd unit): run it with sudo" }
        if capabilities & capSysBoot == 0 { return "this root lacks CAP_SYS_BOOT (a container?): kexec needs it; run on the machine itself" }
        if pid1 != "systemd" || !systemdBooted {
            return "PID 1 is '\(pid1)', not systemd: the kexec driver resumes through a systemd unit at every boot"
        }
        if !kexecFound { return "kexec is not installed: apt-get install kexec-tools (or your distribution's kexec-tools)" }
        if !systemctlFound { return "systemctl is not on PATH: the kexec driver reboots with systemctl kexec" }
        if loadDisabled.isEmpty { return "this kernel has no kexec (/proc/sys/kernel/kexec_load_disabled is missing): build it with CONFIG_KEXEC" }
        if loadDisabled != "0" {
            return "kernel.kexec_load_disabled is \(loadDisabled): this boot refuses kexec until the machine reboots (it cannot be set back to 0)"
        }
        if !lockdown.isEmpty && !lockdown.contains("[none]") {
            return "the kernel is locked down (\(lockdown); Secure Boot?), which refuses kexec of unsigned kernels: boot without lockdown"
        }
        if kexecLoaded == "1" {
            return "a kernel is already loaded for kexec (/sys/kernel/kexec_loaded is 1): unload it with kexec -u, or let what loaded it finish"
        }
        return nil
    }
}

/// Whether a file system of type `type` (as /proc/self/mountinfo names it) loses its files at a
/// reboot or cannot keep them: the reason, or nil for a disk's.
public func volatileFileSystem(type: String) -> String? {
    switch type {
    case "tmpfs", "ramfs": return type
    case "overlay": return "overlay (often over tmpfs: a live system or a container)"
    case "squashfs", "iso9660": return "\(type) (read-only)"
    default: return nil
    }
}

/// The type of the file system `path` is on, from a mountinfo text: the last mount whose mount point
/// is `path` or a folder above it, the deepest first.
public func fileSystemType(of path: String, mountinfo: String) -> String? {
    var best: (depth: Int, type: String)?
    for line in mountinfo.split(separator: "\n") {
        let fields = line.split(separator: " ").map(String.init)
        guard fields.count > 6, let dash = fields.firstIndex(of: "-"), dash + 1 < fields.count else { continue }
        // Mount points escape a space, a tab, a newline and a backslash in octal.
        var point = fields[4]
        for (code, c) in [("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")] {
            point = point.split(separator: code, omittingEmptySubsequences: false).joined(separator: c)
        }
        let inside = point == "/" || path == point || path.hasPrefix(point + "/")
        let depth = point == "/" ? 0 : point.split(separator: "/").count
        if inside, depth >= (best?.depth ?? 0) { best = (depth, fields[dash + 1]) }
    }
    return best?.type
}

/// The volatile file system `path` is on (the nearest existing folder above it, links resolved, for
/// a path not made yet), or nil when it is on one that survives a reboot.
public func volatileFileSystem(of path: String) -> String? {
    var candidate = path
    while !canAccess(candidate), let slash = candidate.lastIndex(of: "/"), candidate != "/" {
        candidate = slash == candidate.startIndex ? "/" : String(candidate[..<slash])
    }
    if let resolved = resolvedPath(candidate) { candidate = resolved }
    return fileSystemType(of: candidate, mountinfo: readWholeFile("/proc/self/mountinfo") ?? "").flatMap(volatileFileSystem(type:))
}

/// The path of a program on PATH, or nil.
public func programPath(_ name: String) -> String? {
    findExecutable(name, defaultPath: "/usr/sbin:/usr/bin:/sbin:/bin", alsoIn: ["/usr/sbin", "/sbin"])
}

/// Runs `argv` to its end; how it ended (`exit status 0` when it worked) and what it printed.
public func runTool(_ argv: [String]) -> (status: String, output: String) {
    let r: (ended: String, output: [UInt8])
    do { r = try runCollectingOutput(argv, limit: 1 << 16) } catch { return ("not started: \(errorText(error.code))", "") }
    let output = String(decoding: r.output, as: UTF8.self).split(separator: "\n").map { String($0).trimmingWhitespace() }.filter { !$0.isEmpty }
    return (r.ended, output.joined(separator: "; "))
}

/// The kexec driver: boots the machine itself into each kernel with kexec, through systemd, and
/// resumes the comparison at every boot from a systemd unit of its own. Its `boot` does not return
/// when it works: the machine reboots, and the unit runs the same command in the new boot.
public final class KexecDriver: BootDriver {
    public let name = "kexec"
    /// The folder of the system's units: a test's own elsewhere.
    package let unitFolder: String
    /// Called after the kernel is loaded and before the machine is asked to reboot: the journal's
    /// word that the reboot was asked for must be on the disk first.
    package var beforeReboot: () throws -> Void = {}

    public init(unitFolder: String = "/etc/systemd/system") {
        self.unitFolder = unitFolder
    }

    /// The unit of a plan: `ipcbench-kernels-<digest>.service`.
    public static func unitName(_ plan: KernelPlan) -> String { "ipcbench-kernels-\(plan.digest).service" }

    /// The unit that runs `command` at every boot once the file systems of `paths` are up. A word of the
    /// command is written in systemd's quotes: `"`, `\`, `%` and `$` escaped.
    public static func unitText(command: [String], paths: [String], folder: String) -> String {
        func quoted(_ word: String) -> String {
            var out = "\""
            for c in word.unicodeScalars {
                switch c {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "%": out += "%%"
                case "$": out += "$$"
                default: out.unicodeScalars.append(c)
                }
            }
            return out + "\""
        }
        return """
            [Unit]
            Description=ipcbench kernels: the comparison in \(String(folder.flatMap { $0 == "%" ? "%%" : String($0) })), resumed at every boot
            After=local-fs.target
            RequiresMountsFor=\(paths.map(quoted).joined(separator: " "))

            [Service]
            Type=oneshot
            ExecStart=\(command.map(quoted).joined(separator: " "))
            StandardOutput=journal+console
            StandardError=journal+console
            TimeoutStartSec=infinity

            [Install]
            WantedBy=multi-user.target

            """
    }

    /// Writes the unit (when it differs) and enables it; the error's text, or nil.
    public func install(unit name: String, text: String) -> String? {
        let path = "\(unitFolder)/\(name)"
        if readWholeFile(path) != text {
            do { try writeFileReplacing(path, text) } catch { return "cannot write \(path): \(error)" }
            syncDirectory(of: path)
        }
        return systemctl(["daemon-reload"]) ?? systemctl(["enable", "--quiet", name])
    }

    /// Disables the unit and keeps its file: the comparison stays resumable by hand.
    public func disable(unit name: String) -> String? {
        systemctl(["disable", "--quiet", name])
    }

    /// Disables and removes the unit; the error's text, or nil. A unit that is not there is no error.
    public func remove(unit name: String) -> String? {
        let path = "\(unitFolder)/\(name)"
        guard canAccess(path) else { return nil }
        if let error = disable(unit: name) { return error }
        let code = removeFile(path)
        guard code == 0 else { return "cannot remove \(path): \(errorText(code))" }
        syncDirectory(of: path)
        return systemctl(["daemon-reload"])
    }

    /// kexec -l: loads `image` with its initrd and command line for the next kexec.
    public func load(image: String, initrd: String, commandLine: String) -> String? {
        let (status, output) = runTool(["kexec", "-l", image, "--initrd=\(initrd)", "--command-line=\(commandLine)"])
        return status == "exit status 0" ? nil : "kexec -l \(image) ended with \(status)\(output.isEmpty ? "" : ": \(output)")"
    }

    /// kexec -u: unloads what `load` loaded.
    public func unload() -> String? {
        let (status, output) = runTool(["kexec", "-u"])
        return status == "exit status 0" ? nil : "kexec -u ended with \(status)\(output.isEmpty ? "" : ": \(output)")"
    }

    /// A trial load of every kernel, each unloaded again: what the first boot would meet.
    public func trialLoad(_ kernels: [(image: String, initrd: String, commandLine: String)]) -> String? {
        for k in kernels {
            if let error = load(image: k.image, initrd: k.initrd, commandLine: k.commandLine) {
                _ = unload()
                return "a trial load failed: \(error)"
            }
            if let error = unload() { return "after a trial load: \(error)" }
        }
        return nil
    }

    /// systemctl kexec: systemd stops every service, unmounts the file systems and boots the loaded kernel.
    public func reboot() -> String? { systemctl(["kexec"]) }

    /// BootDriver: loads the request's kernel with its initrd and command line, calls `beforeReboot`,
    /// and asks systemd to reboot into it (`.rebooting`); a load that fails is `.failed`.
    public func boot(_ request: BootRequest) -> BootOutcome {
        func outcome(_ result: BootResult) -> BootOutcome {
            BootOutcome(result: result, seconds: 0, accel: .none, consoleTail: [], decision: nil)
        }
        if let error = load(image: request.kernel.path, initrd: request.kernel.initrd, commandLine: request.kernelCommandLine) {
            return outcome(.failed(error))
        }
        do { try beforeReboot() } catch {
            _ = unload()
            return outcome(.failed("\(error)"))
        }
        if let error = reboot() {
            _ = unload()
            return outcome(.failed(error))
        }
        return outcome(.rebooting)
    }

    private func systemctl(_ arguments: [String]) -> String? {
        let (status, output) = runTool(["systemctl"] + arguments)
        return status == "exit status 0" ? nil : "systemctl \(arguments.joined(separator: " ")) ended with \(status)\(output.isEmpty ? "" : ": \(output)")"
    }
}
