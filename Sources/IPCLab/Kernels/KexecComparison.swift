import Glibc
import IPCPlatform
import IPCModel
import IPCRun
import IPCAnalysis

/// Where an invocation of the kexec driver leaves the comparison.
public enum KexecStep: Equatable {
    /// The machine reboots into the next boot's kernel: this process ends, and the unit resumes the
    /// comparison in the new boot.
    case rebooting
    /// Every boot of this pass has finished or failed, and the unit is gone: compare. `returnTo` is the
    /// pass's origin when this is not the boot the pass started in (a `--return` kexecs into it).
    case passOver(returnTo: JournalEvent?)
}

extension KernelComparison {
    /// The boot of a slot that the journal left in progress: loaded and rebooted into (`.kexec`), or
    /// up and running its suite (`.booted`); nil when the last slot event is an outcome or a stop.
    package var bootInProgress: JournalEvent? { Self.bootInProgress(journal.events) }

    package static func bootInProgress(_ events: [JournalEvent]) -> JournalEvent? {
        guard let last = events.last(where: { $0.attempt != nil }) else { return nil }
        switch last {
        case .kexec, .booted: return last
        case .plan, .accel, .start, .finished, .failed, .stopped, .origin: return nil
        }
    }

    /// The pass's origin: the last `.origin` event.
    public var origin: JournalEvent? {
        journal.events.last { if case .origin = $0 { return true } else { return false } }
    }

    /// Whether the journal's events leave a boot in progress: the invocation resumes it, and starts no pass.
    public static func resumesABoot(_ events: [JournalEvent]) -> Bool { bootInProgress(events) != nil }

    /// The slots this pass has still to boot: those not finished, less those that failed since the
    /// pass began (the plan goes on past a failed boot; running the command again retries it).
    package var slotsLeftInPass: [Int] {
        let start = journal.events.lastIndex { if case .origin = $0 { return true } else { return false } } ?? 0
        let failed = Set(journal.events[start...].compactMap { event -> Int? in
            if case .failed(let slot, _, _, _, _, _) = event { return slot } else { return nil }
        })
        return missingSlots.filter { !failed.contains($0) }
    }

    /// The command line a slot's kernel is booted with in this pass.
    public func commandLine(of kernel: KernelImage) -> String {
        guard case .origin(_, _, _, let line, _) = origin else { return kernel.append }
        return plannedCommandLine(origin: line, append: kernel.append)
    }

    /// One invocation of the kexec driver, in this boot (`now`). It ends the boot the journal left in
    /// progress (this is its new boot: check the kernel, run the suite; or it died), or starts a pass
    /// from this kernel (`startPass`, journalled as the origin; nil when the caller found a boot in
    /// progress, as it should still be); then it kexecs into the next boot of
    /// the pass through the unit `unit` (`.rebooting`), or, with none left, removes the unit
    /// (`.passOver`). Throws `RunStopped` after a stop signal, with the unit disabled.
    public func runKexec(_ driver: KexecDriver, now: BootFacts, startPass: JournalEvent?, unit: (name: String, text: String),
                         report: @escaping (String) -> Void) throws -> KexecStep {
        installStopHandlers()
        defer { restoreDefaultSignals() }
        func stopped(_ signal: Int32, slot: Int?, stem: String?) throws -> Never {
            if let slot, let stem { try journal.append(.stopped(slot: slot, stem: stem, signal: signal)) }
            let disabled = driver.disable(unit: unit.name).map { "; \($0)" } ?? ""
            report("stopped by signal \(signal): \(unit.name) is disabled\(disabled); run the same command to resume, or ipcbench kernels --abandon -o \(folder) to end the comparison")
            throw RunStopped(signal: signal)
        }
        if let progress = bootInProgress, let (slot, stem) = progress.attempt {
            let s = plan.order[slot - 1]
            let kernel = plan.kernels[s.kernel]
            let name = "[boot \(slot)/\(plan.order.count)] \(kernel.label) \(kernel.release) boot \(s.boot)"
            let nothing = BootOutcome(result: .failed(""), seconds: 0, accel: .none, consoleTail: [], decision: nil)
            switch progress {
            case .kexec(_, _, let from) where from == now.bootID:
                try fail(slot, stem, nothing, "the machine did not reboot into it: boot \(from), which loaded it, is still up", name, report)
            case .kexec:
                if let why = unexpectedBoot(now, release: kernel.release, commandLine: commandLine(of: kernel)) {
                    try fail(slot, stem, nothing, "another kernel came up (a reset, a watchdog, a boot by hand?): \(why)", name, report)
                } else {
                    try journal.append(.booted(slot: slot, stem: stem, bootID: now.bootID))
                    report("\(name): up as planned (boot_id \(now.bootID)); running the suite")
                    let outcome = runHere(command: command, log: "\(folder)/logs/\(stem).log")
                    switch outcome.result {
                    case .stopped(let signal): try stopped(signal, slot: slot, stem: stem)
                    case .failed(let reason): try fail(slot, stem, outcome, reason, name, report)
                    case .ran(let status): try recordRun(status: status, slot: slot, stem: stem, outcome: outcome, name: name, report: report)
                    case .rebooting: break
                    }
                }
            case .booted(_, _, let id):
                let what = id == now.bootID ? "its suite ended without a word (the command was killed)"
                    : "boot \(id) ended during its suite (a reset, a crash, a power loss?); boot \(now.bootID) came up in \(now.release)"
                try fail(slot, stem, nothing, what, name, report)
            case .plan, .accel, .start, .finished, .failed, .stopped, .origin:
                break
            }
        } else if let startPass {
            try journal.append(startPass)
        } else {
            throw InputError("\(folder): another command ended the boot in progress while this one started; run it again")
        }
        for slot in slotsLeftInPass {
            if stopSignalReceived() != 0 { try stopped(stopSignalReceived(), slot: nil, stem: nil) }
            if let error = driver.install(unit: unit.name, text: unit.text) { throw InputError("cannot install the unit: \(error)") }
            let s = plan.order[slot - 1]
            let kernel = plan.kernels[s.kernel]
            let name = "[boot \(slot)/\(plan.order.count)] \(kernel.label) \(kernel.release) boot \(s.boot)"
            let stem = freshAttemptStem(kernel.stem(boot: s.boot))
            try journal.append(.start(slot: slot, stem: stem))
            try writeFileReplacing(nextPath, "\(folder)/attempts/\(stem).csv")
            var request = BootRequest(kernel: kernel, command: command, sharedFolder: folder,
                                      consoleLog: "\(folder)/logs/\(stem).log", timeoutNs: timeoutNs)
            request.kernelCommandLine = commandLine(of: kernel)
            driver.beforeReboot = { [journal] in
                // From here a stop signal ends this process as it would without ipcbench: the reboot is asked for.
                restoreDefaultSignals()
                try journal.append(.kexec(slot: slot, stem: stem, from: now.bootID))
                report("\(name): kexec into \(kernel.path) with '\(request.kernelCommandLine)'; the machine reboots")
            }
            let outcome = driver.boot(request)
            switch outcome.result {
            case .rebooting: return .rebooting
            case .failed(let reason): try fail(slot, stem, outcome, reason, name, report)
            case .ran, .stopped: try fail(slot, stem, outcome, "the kexec driver did not reboot", name, report)
            }
            installStopHandlers()
        }
        if let error = driver.remove(unit: unit.name) { throw InputError("cannot remove the unit: \(error)") }
        guard case .origin(_, _, _, _, let bootID) = origin, bootID != now.bootID else { return .passOver(returnTo: nil) }
        return .passOver(returnTo: origin)
    }

    /// Runs the suite's command in this boot, as a guest runs it: its output to `log`, ended by a stop
    /// signal or by the boot timeout.
    package func runHere(command: String, log: String) -> BootOutcome {
        let start = monotonicNanoseconds()
        func outcome(_ result: BootResult) -> BootOutcome {
            let tail = (readWholeFile(log) ?? "").split(separator: "\n").suffix(12).map { String($0).trimmingWhitespace() }
            return BootOutcome(result: result, seconds: Double(monotonicNanoseconds() - start) / 1e9, accel: .none,
                               consoleTail: tail, decision: nil)
        }
        let fd = openFileOrErrno(log, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW)
        guard fd >= 0 else { return outcome(.failed("cannot open the log \(log): \(errorText(-fd))")) }
        let pid = spawnGroup(["/bin/sh", "-c", command], output: fd)
        let code = lastError
        closeDescriptor(fd)
        guard pid > 0 else { return outcome(.failed("cannot start the suite: \(errorText(code))")) }
        while true {
            if let ended = reapIfEnded(pid) {
                signalGroup(pid, SIGKILL)
                switch ended {
                case .exited(let status): return outcome(.ran(status: status))
                case .killed(let signal): return outcome(.failed("the suite was killed by signal \(signal)"))
                }
            }
            if stopSignalReceived() != 0 || monotonicNanoseconds() - start > timeoutNs {
                signalGroup(pid, SIGKILL)
                reap(pid)
                if stopSignalReceived() != 0 { return outcome(.stopped(stopSignalReceived())) }
                return outcome(.failed("no end within --boot-timeout (\(timeoutNs / 1_000_000_000) s)"))
            }
            pause(microseconds: 100_000)
        }
    }
}

/// What `--driver kexec` without `--reboot` prints: what the machine would go through, in order, and
/// that nothing was rebooted. `home` is the kernel `--return` goes back to (nil with --no-return);
/// `recorded` the journal's events, whose finished boots are marked done.
public func kexecPlanText(plan: KernelPlan, folder: String, now: BootFacts, home: String?, unit: String, binary: String,
                          recorded: [JournalEvent]) -> String {
    let done = Set(recorded.compactMap { event -> Int? in if case .finished(let slot, _, _, _, _) = event { return slot } else { return nil } })
    var lines = ["the plan (nothing is rebooted without --reboot):"]
    for k in plan.kernels {
        lines.append("  \(k.label): \(k.release) (\(k.path), initrd \(k.initrd)) with the command line '\(plannedCommandLine(origin: now.commandLine, append: k.append))'")
    }
    let left = (1...plan.order.count).filter { !done.contains($0) }
    lines.append("  \(left.count) boots, in this order: " + plan.order.enumerated().map { i, s in
        "\(plan.kernels[s.kernel].label)\(s.boot)\(done.contains(i + 1) ? " (done)" : "")"
    }.joined(separator: " "))
    lines.append("  the unit /etc/systemd/system/\(unit) runs this command again at every boot (\(binary) kernels ...)")
    lines.append("  each boot: kexec -l its kernel, systemctl kexec (services stopped, file systems unmounted), check boot_id, /proc/version, uname -r and the command line, run the suite, journal it in \(folder)/\(KernelJournal.fileName)")
    if let home {
        lines.append("  at the end: the unit removed, the boots compared (\(folder)/comparison.csv), and a kexec back into \(now.release) (\(home)) with '\(plannedCommandLine(origin: now.commandLine, append: ""))'")
    } else {
        lines.append("  at the end: the unit removed, the boots compared (\(folder)/comparison.csv), and the machine left in the last boot's kernel (--no-return)")
    }
    lines.append("  checked: root with CAP_SYS_BOOT, systemd as PID 1, kexec allowed, every image and initrd, a trial load of each (kexec -l, kexec -u), the folder on a disk that survives a reboot")
    lines.append("to start, run the same command with --reboot; a kernel that never comes back needs the console or a watchdog, and ipcbench kernels --abandon -o \(folder) ends the comparison")
    return lines.joined(separator: "\n")
}
