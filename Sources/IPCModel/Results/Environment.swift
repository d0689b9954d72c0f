import Glibc
import IPCPlatform

/// The version written in every row; bump it when columns are added (see the README).
public let ipcbenchVersion = "0.4.0"

/// The machine and run a result file describes, read from the running system.
public struct Environment: Sendable, Equatable {
    public var runID: String
    public var timestampUTC: String
    public var hostname: String
    public var kernelRelease: String
    public var kernelVersion: String
    public var arch: String
    public var cpuModel: String
    public var cpusOnline: Int
    public var version: String
    /// CPU-vulnerability states other than "Not affected", from /sys/devices/system/cpu/vulnerabilities.
    public var mitigations: String
    /// The `mitigations=` and `preempt=` values of the kernel command line; empty when absent.
    public var cmdlineMitigations: String
    public var cmdlinePreempt: String
    /// /sys/devices/system/cpu/smt/control: on, off, forceoff, notsupported.
    public var smt: String
    public var clocksource: String
    /// The scaling governors of the online CPUs (distinct, joined by +); empty without cpufreq.
    public var cpuGovernor: String
    /// /proc/sys/kernel/random/boot_id: which boot of the machine the run was in.
    public var bootID: String
    /// /proc/version and /proc/cmdline, whole.
    public var procVersion: String
    public var kernelCmdline: String
    /// From CPUID's hypervisor vendor: none, kvm, tcg, hyperv, vmware, xen, or the vendor lowercased.
    public var virtualization: String
    /// The command that made the run, its arguments quoted for a shell, and the config's SHA-256;
    /// empty outside a run.
    public var command = ""
    /// The median cost of one clock read, measured at start-up.
    public var clockOverheadNs: Double

    public static func current() -> Environment {
        let names = KernelNames()
        let stamp = utcStamp(wallClockSeconds())
        let host = names.node
        return Environment(
            runID: "\(stamp.compact)-\(host)",
            timestampUTC: stamp.iso,
            hostname: host,
            kernelRelease: names.release,
            kernelVersion: names.version,
            arch: names.machine,
            cpuModel: cpuModelName(),
            cpusOnline: onlineCPUCount,
            version: ipcbenchVersion,
            mitigations: mitigationsSummary(),
            cmdlineMitigations: kernelCommandLineValue("mitigations"),
            cmdlinePreempt: kernelCommandLineValue("preempt"),
            smt: firstLine("/sys/devices/system/cpu/smt/control"),
            clocksource: firstLine("/sys/devices/system/clocksource/clocksource0/current_clocksource"),
            cpuGovernor: scalingGovernors(),
            bootID: firstLine("/proc/sys/kernel/random/boot_id"),
            procVersion: firstLine("/proc/version"),
            kernelCmdline: firstLine("/proc/cmdline"),
            virtualization: virtualizationName(),
            clockOverheadNs: measureClockOverhead())
    }

    /// The default file stem: `<UTC yyyymmdd-HHMMSS>-<hostname>-<kernel release>`.
    public var defaultStem: String { "\(runID)-\(kernelRelease)" }
}

/// `2026-11-21T13:05:09Z` and `20261121-130509` for a time in seconds since the epoch.
package func utcStamp(_ seconds: time_t) -> (iso: String, compact: String) {
    var t = seconds
    var parts = tm()
    gmtime_r(&t, &parts)
    func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
    let date = "\(parts.tm_year + 1900)\(two(parts.tm_mon + 1))\(two(parts.tm_mday))"
    let clock = "\(two(parts.tm_hour))\(two(parts.tm_min))\(two(parts.tm_sec))"
    let iso = "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    return (iso, "\(date)-\(clock)")
}

/// The CPU's name from /proc/cpuinfo ("model name", or on some architectures "Model"/"cpu model").
package func cpuModelName() -> String {
    guard let text = readWholeFile("/proc/cpuinfo") else { return "" }
    for line in text.split(separator: "\n") {
        let parts = line.split(separator: ":", maxSplits: 1)
        guard parts.count == 2 else { continue }
        let key = String(parts[0]).trimmingWhitespace()
        if key == "model name" || key == "Model" || key == "cpu model" {
            return String(parts[1]).trimmingWhitespace()
        }
    }
    return ""
}

/// The first line of a small sysfs or procfs file, or "" when it does not exist.
package func firstLine(_ path: String) -> String {
    guard let text = readWholeFile(path) else { return "" }
    return String(text.prefix { $0 != "\n" }).trimmingWhitespace()
}

/// One cell: `name: state` for every vulnerability the kernel does not call "Not affected", sorted,
/// joined by " | "; "none affected" when all are; "" when the kernel does not say.
package func mitigationsSummary(directory: String = "/sys/devices/system/cpu/vulnerabilities") -> String {
    guard let names = directoryNames(directory) else { return "" }
    let states = names.filter { !$0.hasPrefix(".") }.sorted().compactMap { name -> String? in
        let state = firstLine(directory + "/" + name)
        return state.isEmpty || state == "Not affected" ? nil : "\(name): \(state)"
    }
    return states.isEmpty ? "none affected" : states.joined(separator: " | ")
}

/// The value of `key=` on the kernel command line (the last one wins, as in the kernel), or "".
package func kernelCommandLineValue(_ key: String, commandLine: String? = readWholeFile("/proc/cmdline")) -> String {
    var value = ""
    for word in (commandLine ?? "").split(whereSeparator: { $0 == " " || $0 == "\n" }) {
        if word == "--" { break }  // what follows is for init, not the kernel
        if word.hasPrefix(key + "=") { value = String(word.dropFirst(key.count + 1)) }
    }
    return value
}

/// The distinct cpufreq governors of the online CPUs, joined by "+"; "" where there is no cpufreq.
package func scalingGovernors() -> String {
    var governors: [String] = []
    for cpu in 0..<max(configuredCPUCount, 0) {
        let governor = firstLine("/sys/devices/system/cpu/cpu\(cpu)/cpufreq/scaling_governor")
        if !governor.isEmpty && !governors.contains(governor) { governors.append(governor) }
    }
    return governors.joined(separator: "+")
}

/// The hypervisor the CPU reports (CPUID leaf 0x40000000), not what systemd-detect-virt guesses
/// (it says "docker" inside virtme-ng guests); "" where there is no CPUID.
package func virtualizationName() -> String {
    switch cpuHypervisor() {
    case nil: return ""
    case .absent?: return "none"
    case .present(let vendor)?: return hypervisorName(vendor: vendor)
    }
}

/// The short name of a CPUID hypervisor vendor string.
package func hypervisorName(vendor: String) -> String {
    let known = ["KVMKVMKVM": "kvm", "TCGTCGTCGTCG": "tcg", "Microsoft Hv": "hyperv", "VMwareVMware": "vmware",
                 "XenVMMXenVMM": "xen"]
    let trimmed = vendor.trimmingWhitespace()
    return known[trimmed] ?? (trimmed.isEmpty ? "unknown" : trimmed.lowercased())
}
