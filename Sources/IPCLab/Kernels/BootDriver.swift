import Glibc
import IPCPlatform
import IPCModel
import IPCRun
import IPCAnalysis

/// What a boot driver is asked to do: boot `kernel`, run `command` in that boot, and say how it went.
public struct BootRequest {
    public let kernel: KernelImage
    /// A shell command line, run in the boot.
    public let command: String
    /// A host folder the boot can write: the results come back through it.
    public let sharedFolder: String
    /// Where the guest's console goes (appended).
    public let consoleLog: String
    public let timeoutNs: UInt64
    /// The kernel's command line, for the kexec driver (virtme-ng makes its own from the kernel's append).
    public var kernelCommandLine = ""
}

public enum BootResult: Equatable {
    /// The command ran to its end and exited with this status.
    case ran(status: Int32)
    /// The boot died or hung before the command ended: why.
    case failed(String)
    /// A stop signal (SIGINT, SIGTERM, SIGHUP) came; the boot was ended.
    case stopped(Int32)
    /// The kexec driver: the machine reboots into the kernel; the comparison resumes in the new boot.
    case rebooting
}

public struct BootOutcome {
    public let result: BootResult
    public let seconds: Double
    public let accel: Accel
    /// The console's last lines, for a boot that failed.
    public let consoleTail: [String]
    /// Set on the boot where `--accel auto` decided: what it chose and why.
    public let decision: (accel: Accel, why: String)?
}

/// Boots kernels and runs a command in each boot. The `vm` driver boots a virtual machine per boot
/// and returns when it is gone. The `kexec` driver (KexecDriver.swift) does not come back from a boot
/// that works (`.rebooting`): it replaces the running kernel, and the comparison resumes from the
/// journal in the new boot.
public protocol BootDriver: AnyObject {
    var name: String { get }
    func boot(_ request: BootRequest) -> BootOutcome
}

/// The `vm` driver: virtme-ng boots the kernel under QEMU with the host's root file system, so the
/// host's ipcbench binary runs unchanged inside the guest, and `--rwdir` makes the shared folder writable.
public final class VMDriver: BootDriver {
    public let name = "vm"
    package let guest: GuestShape
    /// nil until `auto` has decided, on the first boot of an invocation.
    public private(set) var accel: Accel?
    /// How long a KVM guest has under `auto` to run its first command; a KVM boot takes seconds.
    package static let kvmProbeNs: UInt64 = 60_000_000_000
    /// What the guest prints before and after its command; printed with printf, so that the
    /// command's own text never holds them.
    package static let upMarker = "ipcbench-guest-up"
    package static let exitMarker = "ipcbench-guest-exit-"

    /// `decided`: what `auto` chose in an earlier invocation of the same comparison.
    public init(guest: GuestShape, decided: Accel?) {
        self.guest = guest
        accel = guest.accel == .auto ? decided : guest.accel
    }

    public func boot(_ request: BootRequest) -> BootOutcome {
        if let accel { return run(request, accel: accel, decision: nil).outcome }
        guard kvmUsable() else {
            accel = .tcg
            return run(request, accel: .tcg, decision: (.tcg, "/dev/kvm cannot be opened")).outcome
        }
        let first = run(request, accel: .kvm, decision: (.kvm, "a KVM guest answered"), probeNs: Self.kvmProbeNs)
        if case .stopped = first.outcome.result { return first.outcome }
        if first.cameUp {
            accel = .kvm
            return first.outcome
        }
        accel = .tcg
        var why = "a KVM guest did not run its command"
        if case .failed(let reason) = first.outcome.result { why += ": " + reason }
        why += " (\(first.outcome.consoleTail.last ?? "no console output"))"
        appendToFile(request.consoleLog, "ipcbench: \(why); booting again with emulation (tcg)\n")
        return run(request, accel: .tcg, decision: (.tcg, why)).outcome
    }

    /// The vng command line for one boot.
    package func arguments(_ r: BootRequest, accel: Accel) -> [String] {
        let script = "printf 'ipcbench-guest-%s\\n' up; " + r.command + "; printf 'ipcbench-guest-%s-%s\\n' exit \"$?\""
        var argv = ["vng", "--run", r.kernel.path, "--verbose", "--cpus", String(guest.vcpus), "--memory", "\(guest.memoryMiB)M",
                    "--rwdir", r.sharedFolder]
        if accel == .tcg { argv.append("--disable-kvm") }
        if !guest.pinCPUs.isEmpty { argv += ["--pin", guest.pinCPUs.map(String.init).joined(separator: ",")] }
        if !r.kernel.append.isEmpty { argv += ["--append", r.kernel.append] }
        return argv + ["--", script]
    }

    /// Boots once. The guest is in a process group of its own, killed whole on a stop signal, on the
    /// timeout, when a KVM probe gets no answer, or by its watcher when this process dies; every path
    /// reaps it.
    private func run(_ r: BootRequest, accel: Accel, decision: (accel: Accel, why: String)?,
                     probeNs: UInt64? = nil) -> (outcome: BootOutcome, cameUp: Bool) {
        let start = monotonicNanoseconds()
        var tail: [String] = []
        var cameUp = false
        func outcome(_ result: BootResult) -> (outcome: BootOutcome, cameUp: Bool) {
            let seconds = Double(monotonicNanoseconds() - start) / 1e9
            return (BootOutcome(result: result, seconds: seconds, accel: accel, consoleTail: tail, decision: decision), cameUp)
        }
        let log = openFileOrErrno(r.consoleLog, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW)
        defer { closeDescriptor(log) }
        guard log >= 0, let pipe = try? makePipe() else {
            return outcome(.failed("cannot open the console log \(r.consoleLog): \(errorText(log < 0 ? -log : lastError))"))
        }
        let pid = spawnGroup(arguments(r, accel: accel), output: pipe.write)
        let code = lastError
        closeDescriptor(pipe.write)
        defer { closeDescriptor(pipe.read) }
        guard pid > 0 else { return outcome(.failed("cannot start vng: \(errorText(code))")) }
        // vng's own parent-death signal does not reach the QEMU it starts: the watcher kills them all
        // when this process dies, even by SIGKILL.
        let watcher = startGroupWatcher(pid)
        let watcherError = lastError
        defer {
            if watcher > 0 {
                signalProcess(watcher, SIGKILL)
                reap(watcher)
            }
        }
        guard watcher > 0 else {
            signalGroup(pid, SIGKILL)
            reap(pid)
            return outcome(.failed("cannot start the guest's watcher: \(errorText(watcherError))"))
        }
        func end() {
            // SIGTERM first, so that vng can remove its temporary files; then SIGKILL whatever is left.
            signalGroup(pid, SIGTERM)
            var reaped = false
            for _ in 0..<50 {
                pause(microseconds: 100_000)
                reaped = reapIfEnded(pid) != nil
                if reaped { break }
            }
            signalGroup(pid, SIGKILL)
            if !reaped { reap(pid) }
        }
        var pending: [UInt8] = []
        var exitStatus: Int32?
        var ended: BootResult?
        _ = relay(from: pipe.read, to: log, intervalMs: 200, check: {
            let elapsed = monotonicNanoseconds() - start
            if stopSignalReceived() != 0 {
                ended = .stopped(stopSignalReceived())
            } else if elapsed > r.timeoutNs {
                ended = .failed("no end within --boot-timeout (\(r.timeoutNs / 1_000_000_000) s)")
            } else if let probeNs, !cameUp, elapsed > probeNs {
                ended = .failed("no answer within \(probeNs / 1_000_000_000) s")
            }
            return ended == nil
        }, received: { chunk in
            pending += chunk
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<newline], as: UTF8.self).trimmingWhitespace()
                pending.removeSubrange(...newline)
                if line.isEmpty { continue }
                tail = Array((tail + [line]).suffix(12))
                if line.hasSuffix(Self.upMarker) { cameUp = true }
                if let range = line.firstRange(of: Self.exitMarker) { exitStatus = Int32(line[range.upperBound...]) }
            }
        })
        if let ended {
            end()
            return outcome(ended)
        }
        let status = reap(pid)
        signalGroup(pid, SIGKILL)
        if let exitStatus { return outcome(.ran(status: exitStatus)) }
        return outcome(.failed(cameUp ? "the guest ended before its command did (vng \(status))"
                                      : "the guest ended before its command started (vng \(status))"))
    }

    private func kvmUsable() -> Bool {
        let fd = openFileOrErrno("/dev/kvm", O_RDWR)
        closeDescriptor(fd)
        return fd >= 0
    }
}

/// A word the shell takes as it is: in single quotes, with each ' written as '\''.
package func shellQuoted(_ word: String) -> String {
    "'" + word.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
}

