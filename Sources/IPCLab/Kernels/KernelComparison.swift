import Glibc
import IPCPlatform
import IPCModel
import IPCRun
import IPCAnalysis

/// A kernel comparison in its folder: the plan's boots, run through a boot driver one at a time, each
/// journalled, so that the same plan started again runs only the boots that are missing.
///
/// The folder holds `journal.tsv`, one results file per finished boot (`A-<release>-boot1.csv` and its
/// trials file), `attempts/` (where each boot's run writes, moved to its name once journalled) and
/// `logs/` (each attempt's console).
public final class KernelComparison {
    public let plan: KernelPlan
    public let folder: String
    public let journal: KernelJournal
    package let driver: BootDriver
    /// The ipcbench binary the guests run: the host's, which virtme-ng's shared root makes visible.
    package let binary: String
    package let timeoutNs: UInt64

    /// Held while this process works in the folder.
    private let lock: FolderLock

    /// Opens (or starts) the comparison in `folder`. Refused when another process works in it, or its
    /// journal holds another plan or cannot be read.
    public init(plan: KernelPlan, folder: String, driver: BootDriver, binary: String, timeoutNs: UInt64) throws {
        self.plan = plan
        self.folder = folder
        self.driver = driver
        self.binary = binary
        self.timeoutNs = timeoutNs
        let parts = folder.split(separator: "/")
        for path in parts.indices.map({ "/" + parts[...$0].joined(separator: "/") }) {
            try makeFolder(path)
        }
        lock = try FolderLock(folder: folder)
        // Read again now that the folder is this process's: another command may have ended in between.
        let path = folder + "/" + KernelJournal.fileName
        if let recorded = try KernelJournal.read(path).flatMap({ KernelJournal.plan(in: $0.events) }),
           let difference = plan.difference(from: recorded) {
            throw InputError(anotherPlan(folder, difference))
        }
        for path in [folder + "/attempts", folder + "/logs"] {
            try makeFolder(path)
            guard fileStatus(path, followingLinks: false)?.kind == .directory else {
                throw InputError("\(path): not a folder (a symbolic link?), which ipcbench does not follow; move the folder away and start again")
            }
        }
        journal = try KernelJournal(path: path, plan: plan.fields)
        try finishMoves()
    }

    /// The boot's results file, once it finished.
    public func resultsPath(_ slot: BootSlot) -> String {
        "\(folder)/\(plan.kernels[slot.kernel].stem(boot: slot.boot)).csv"
    }

    /// Slots (1-based positions in the order) whose boot has not finished.
    public var missingSlots: [Int] {
        let done = journal.finishedSlots
        return (1...plan.order.count).filter { !done.contains($0) }
    }

    /// Where the next boot's run writes: the guest reads it, so that every boot runs the same command
    /// and the kernel command line (which holds it) differs between boots only where the plan says so.
    package var nextPath: String { folder + "/attempts/next" }

    /// The command every boot runs.
    package var command: String {
        ([binary, "run"] + plan.runArguments + ["-q", "-o"]).map(shellQuoted).joined(separator: " ")
            + " \"$(cat \(shellQuoted(nextPath)))\""
    }

    /// Boots every missing slot in the plan's order. Throws `RunStopped` after a stop signal, with the
    /// guest gone and the stop journalled.
    public func runMissing(report: (String) -> Void) throws {
        installStopHandlers()
        defer { restoreDefaultSignals() }
        for slot in missingSlots {
            try checkStopSignal()
            let s = plan.order[slot - 1]
            let kernel = plan.kernels[s.kernel]
            let stem = freshAttemptStem(kernel.stem(boot: s.boot))
            try journal.append(.start(slot: slot, stem: stem))
            try writeFileReplacing(nextPath, "\(folder)/attempts/\(stem).csv")
            let request = BootRequest(kernel: kernel, command: command, sharedFolder: folder,
                                      consoleLog: "\(folder)/logs/\(stem).log", timeoutNs: timeoutNs)
            let name = "[boot \(slot)/\(plan.order.count)] \(kernel.label) \(kernel.release) boot \(s.boot)"
            let outcome = driver.boot(request)
            if let decision = outcome.decision {
                try journal.append(.accel(decision.accel, decision.why))
                report("accel: \(decision.accel.rawValue) (\(decision.why))")
            }
            let seconds = formatDecimal(outcome.seconds, places: 1)
            switch outcome.result {
            case .stopped(let signal):
                try journal.append(.stopped(slot: slot, stem: stem, signal: signal))
                report("\(name): stopped by signal \(signal) after \(seconds) s; the guest was ended")
                throw RunStopped(signal: signal)
            case .failed(let reason):
                try fail(slot, stem, outcome, reason, name, report)
            case .rebooting:
                // (only the kexec driver reboots, and its boots go through runKexec: the new boot resumes)
                return
            case .ran(let status):
                try recordRun(status: status, slot: slot, stem: stem, outcome: outcome, name: name, report: report)
            }
        }
    }

    /// A boot's suite ran to its end: journalled finished with its results moved to the boot's name,
    /// or failed when `ipcbench run` failed (above 1) or wrote results that cannot be read.
    package func recordRun(status: Int32, slot: Int, stem: String, outcome: BootOutcome, name: String, report: (String) -> Void) throws {
        guard status <= 1 else {
            try fail(slot, stem, outcome, "ipcbench run ended with exit status \(status) in the \(driver.name == "vm" ? "guest" : "boot")", name, report)
            return
        }
        let bootID: String
        do {
            bootID = try ResultFile.load("\(folder)/attempts/\(stem).csv").cases.first?["boot_id"] ?? ""
        } catch let error as InputError {
            try fail(slot, stem, outcome, "its results are unreadable: \(error.message)", name, report)
            return
        }
        try journal.append(.finished(slot: slot, stem: stem, seconds: outcome.seconds, accel: outcome.accel, bootID: bootID))
        try finishMoves()
        let how = outcome.accel == .none ? driver.name : outcome.accel.rawValue
        report("\(name): ok in \(formatDecimal(outcome.seconds, places: 1)) s (\(how), boot_id \(bootID)): \(resultsPath(plan.order[slot - 1]))")
    }

    package func fail(_ slot: Int, _ stem: String, _ outcome: BootOutcome, _ reason: String, _ name: String,
                      _ report: (String) -> Void) throws {
        try journal.append(.failed(slot: slot, stem: stem, seconds: outcome.seconds, accel: outcome.accel,
                                   reason: reason, console: outcome.consoleTail))
        report("\(name): failed after \(formatDecimal(outcome.seconds, places: 1)) s: \(reason); the console's last lines (all of them in \(folder)/logs/\(stem).log):")
        outcome.consoleTail.forEach { report("    \($0)") }
    }

    /// Moves each journalled boot's results from `attempts/` to its name, where a crash came between
    /// the journal and the move.
    package func finishMoves() throws {
        for (slot, event) in journal.outcomes {
            guard case .finished(_, let stem, _, _, _) = event else { continue }
            let final = resultsPath(plan.order[slot - 1])
            let finalStem = String(final.dropLast(4))
            for (from, to) in [("\(folder)/attempts/\(stem)-trials.csv", finalStem + "-trials.csv"),
                               ("\(folder)/attempts/\(stem).csv", final)] where !canAccess(to) {
                do { try renameFile(from, to: to) } catch let error as SystemCallError { throw ResultsWriteError(path: to, code: error.code) }
            }
        }
    }

    /// `<stem>-tryN` with the first N whose files do not exist yet and that the journal never named
    /// (a kexec boot that never came up leaves no file).
    package func freshAttemptStem(_ stem: String) -> String {
        let named = Set(journal.events.compactMap { $0.attempt?.stem })
        var n = 1
        while canAccess("\(folder)/attempts/\(stem)-try\(n).csv") || canAccess("\(folder)/logs/\(stem)-try\(n).log")
                || named.contains("\(stem)-try\(n)") {
            n += 1
        }
        return "\(stem)-try\(n)"
    }

    /// One side per kernel, its finished boots' files in boot order, and the boots the comparison lacks.
    public func sides() throws -> (sides: [Side], lacking: [String]) {
        let done = journal.finishedSlots
        var lacking: [String] = []
        let sides = try plan.kernels.indices.map { k -> Side in
            let slots = plan.order.enumerated().filter { $0.element.kernel == k }.sorted { $0.element.boot < $1.element.boot }
            for (i, s) in slots where !done.contains(i + 1) {
                lacking.append("\(plan.kernels[k].label) boot \(s.boot) (\(lastWord(slot: i + 1)))")
            }
            return Side(files: try slots.filter { done.contains($0.offset + 1) }.map { try ResultFile.load(resultsPath($0.element)) })
        }
        return (sides, lacking)
    }

    /// What became of a slot that has not finished: its last failure, stop, or that it never ran.
    private func lastWord(slot: Int) -> String {
        for event in journal.events.reversed() {
            switch event {
            case .failed(slot, _, _, _, let reason, _): return "failed: \(reason)"
            case .stopped(slot, _, let signal): return "stopped by signal \(signal)"
            default: continue
            }
        }
        return "not run"
    }
}

/// The refusal of a folder whose journal holds another plan.
public func anotherPlan(_ folder: String, _ difference: String) -> String {
    "\(folder) holds a comparison with another plan (\(difference)); run the command that made it to resume it, or give another -o"
}

/// A folder made where it is missing; an `InputError` naming it when it cannot be.
private func makeFolder(_ path: String) throws {
    do { try makeDirectory(path) } catch let error as SystemCallError { throw InputError("cannot create \(path): \(errorText(error.code))") }
}

/// Writes `text` to `path` through a temporary file and a rename, so that a reader sees the old or the new.
/// The temporary file is new (O_EXCL, O_NOFOLLOW): a symbolic link left in its place is not written through.
public func writeFileReplacing(_ path: String, _ text: String) throws {
    do { try writeFileWhole(path, text) } catch let error as FileError { throw ResultsWriteError(path: error.path, code: error.code) }
}

/// `DIR/lock`, locked (fcntl F_SETLK) while one `ipcbench kernels` works in the folder: a second one
/// is refused, naming the first one's pid, and the kernel releases the lock when its process dies.
public final class FolderLock {
    public static let fileName = "lock"
    private let fd: Int32

    package init(folder: String) throws {
        let path = folder + "/" + Self.fileName
        fd = openFileOrErrno(path, O_RDWR | O_CREAT | O_NOFOLLOW)
        guard fd >= 0 else { throw InputError("cannot open \(path): \(errorText(-fd))") }
        let lock: FileLock
        do { lock = try lockWholeFile(fd) } catch let error as SystemCallError { throw InputError("cannot lock \(path): \(errorText(error.code))") }
        switch lock {
        case .locked: return
        case .heldBy(let pid):
            throw InputError("another ipcbench kernels (pid \(pid)) works in \(folder); wait for it to end, or stop it and run the same command again")
        }
    }

    deinit { closeDescriptor(fd) }
}
