import Glibc
import IPCPlatform
import IPCModel
import IPCRun
import IPCAnalysis

/// One line of a kernel comparison's journal.
public enum JournalEvent: Equatable {
    /// The plan, first line of every journal.
    case plan([JournalField])
    /// What `--accel auto` decided, and why: every later boot, resumed ones too, uses it.
    case accel(Accel, String)
    /// A boot begins; `stem` names its attempt's files (in `attempts/`, and its console log in `logs/`).
    case start(slot: Int, stem: String)
    /// A boot ran the suite; its results file moves from `attempts/<stem>` to the boot's name.
    case finished(slot: Int, stem: String, seconds: Double, accel: Accel, bootID: String)
    /// A boot that died, hung past its timeout or whose suite could not run, with the guest's last console lines.
    case failed(slot: Int, stem: String, seconds: Double, accel: Accel, reason: String, console: [String])
    /// SIGINT or SIGTERM stopped a boot; its guest was killed.
    case stopped(slot: Int, stem: String, signal: Int32)
    /// kexec driver: a pass through the boots starts in this boot (`bootID`), from the kernel at `path`
    /// with its initrd and command line: the kernel `--return` goes back to.
    case origin(path: String, release: String, initrd: String, commandLine: String, bootID: String)
    /// kexec driver: the slot's kernel is loaded and boot `from` reboots into it.
    case kexec(slot: Int, stem: String, from: String)
    /// kexec driver: boot `bootID` came up in the slot's kernel as planned and runs its suite.
    case booted(slot: Int, stem: String, bootID: String)
}

public struct JournalField: Equatable {
    public let key: String
    public let value: String

    public init(_ key: String, _ value: String) {
        self.key = key
        self.value = value
    }
}

/// The journal of a kernel comparison, `DIR/journal.tsv`: one line per event, tab-separated, each
/// line written with one write(2) and fsync'd before the comparison goes on, never rewritten. A line
/// cut short by a crash is dropped when the journal is next opened. A journal that cannot be read,
/// or holds what ipcbench never writes, is refused: never taken for none, never followed through a
/// symbolic link.
public final class KernelJournal {
    public static let fileName = "journal.tsv"
    /// The most a journal may hold: far more than 26 kernels of 100 boots each write.
    package static let byteLimit = 16 << 20
    public let path: String
    public private(set) var events: [JournalEvent]
    private let fd: Int32

    /// Reads the journal at `path` without changing it; nil when there is none.
    public static func read(_ path: String) throws -> (events: [JournalEvent], wholeBytes: Int)? {
        func damaged(_ why: String) -> InputError {
            InputError("\(path)\(why); the journal is damaged: move its folder away and start again")
        }
        guard let bytes = try readBytes(path, damaged) else { return nil }
        guard !bytes.isEmpty else { throw damaged(": empty, without even its plan line") }
        let whole = (bytes.lastIndex(of: UInt8(ascii: "\n")) ?? -1) + 1
        let lines = bytes[0..<whole].split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).dropLast()
        guard !lines.isEmpty else { throw damaged(": its plan line is cut short") }
        var events: [JournalEvent] = []
        var slots: Int?
        for (index, line) in lines.enumerated() {
            let at = ":\(index + 1): "
            // ipcbench escapes every line break in a field: a carriage return is another program's.
            if line.contains(UInt8(ascii: "\r")) { throw damaged(": a carriage return (CRLF line ends?) in line \(index + 1)") }
            let text = String(decoding: line, as: UTF8.self)
            guard let event = JournalEvent(line: text) else { throw damaged("\(at)not a journal line ('\(text.prefix(60))')") }
            if case .plan(let fields) = event {
                guard index == 0 else { throw damaged("\(at)a second plan") }
                slots = fields.first { $0.key == "order" }.map { $0.value.split(separator: " ").count }
            } else if index == 0 {
                throw damaged("\(at)the first line is not the plan")
            }
            if let (slot, stem) = event.attempt {
                if let slots, slot < 1 || slot > slots { throw damaged("\(at)slot \(slot) is not a boot of the plan's \(slots)") }
                guard isAttemptName(stem) else { throw damaged("\(at)'\(stem)' is not an attempt's name (a file name in attempts/)") }
            }
            events.append(event)
        }
        return (events, whole)
    }

    /// The journal's bytes, or nil when there is none; a symbolic link is not followed.
    private static func readBytes(_ path: String, _ damaged: (String) -> InputError) throws -> [UInt8]? {
        let fd = openFileOrErrno(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK)
        if -fd == ENOENT { return nil }
        if -fd == ELOOP { throw damaged(": a symbolic link, which ipcbench does not follow") }
        guard fd >= 0 else { throw InputError("\(path): cannot read the journal: \(errorText(-fd))") }
        defer { closeDescriptor(fd) }
        guard let status = try? fileStatus(descriptor: fd), status.kind == .regular else { throw damaged(": not a regular file") }
        guard status.size <= byteLimit else { throw damaged(": larger than \(byteLimit >> 20) MiB") }
        do {
            guard let bytes = try readToEnd(fd, path: path, limit: byteLimit) else { throw damaged(": larger than \(byteLimit >> 20) MiB") }
            return bytes
        } catch let error as FileError {
            throw InputError("\(path): cannot read the journal: \(errorText(error.code))")
        }
    }

    /// The plan a journal holds, or nil.
    public static func plan(in events: [JournalEvent]) -> [JournalField]? {
        if case .plan(let fields) = events.first { return fields }
        return nil
    }

    /// Opens the journal for appending, creating it with `plan` when it does not exist. A line cut
    /// short by a crash is cut off first, so that the next event starts a line of its own.
    public init(path: String, plan: [JournalField]) throws {
        self.path = path
        let existing = try KernelJournal.read(path)
        if existing == nil {
            // Written whole under another name, then renamed: a journal always begins with its plan.
            do {
                try writeFileWhole(path, JournalEvent.plan(plan).line + "\n", durably: true, temporarySuffix: ".new")
            } catch let error as FileError {
                throw ResultsWriteError(path: error.path, code: error.code)
            }
        }
        events = existing?.events ?? [.plan(plan)]
        fd = openFileOrErrno(path, O_WRONLY | O_APPEND | O_NOFOLLOW)
        guard fd >= 0 else { throw ResultsWriteError(path: path, code: -fd) }
        // (deinit closes the descriptor of an init that throws from here on)
        if let existing {
            let code = truncateFile(fd, to: existing.wholeBytes)
            guard code == 0 else { throw ResultsWriteError(path: path, code: code) }
        }
    }

    deinit { closeDescriptor(fd) }

    /// Writes one event and waits until it is on the disk.
    public func append(_ event: JournalEvent) throws {
        let bytes = Array((event.line + "\n").utf8)
        let n = bytes.withUnsafeBytes { writeFully(fd, $0.baseAddress!, $0.count) }
        let code = n < 0 ? Int32(-n) : syncToDisk(fd)
        if code != 0 { throw ResultsWriteError(path: path, code: code) }
        events.append(event)
    }

    /// The last outcome of each slot that finished or failed (a later attempt replaces an earlier one).
    public var outcomes: [Int: JournalEvent] {
        var out: [Int: JournalEvent] = [:]
        for event in events {
            switch event {
            case .finished(let slot, _, _, _, _), .failed(let slot, _, _, _, _, _): out[slot] = event
            default: break
            }
        }
        return out
    }

    /// The slots whose boot finished.
    public var finishedSlots: Set<Int> {
        Set(outcomes.compactMap { slot, event in if case .finished = event { return slot } else { return nil } })
    }

    /// What `--accel auto` decided in an earlier invocation, the last word in `events`.
    public static func decidedAccel(in events: [JournalEvent]) -> Accel? {
        events.reversed().lazy.compactMap { event -> Accel? in if case .accel(let a, _) = event { return a } else { return nil } }.first
    }
}

extension JournalEvent {
    /// The slot and the attempt an event names, for the events that name one.
    public var attempt: (slot: Int, stem: String)? {
        switch self {
        case .start(let slot, let stem), .finished(let slot, let stem, _, _, _), .failed(let slot, let stem, _, _, _, _),
             .stopped(let slot, let stem, _), .kexec(let slot, let stem, _), .booted(let slot, let stem, _):
            return (slot, stem)
        case .plan, .accel, .origin:
            return nil
        }
    }

    /// The event as one line, without its newline: the kind, then tab-separated fields.
    package var line: String {
        func seconds(_ s: Double) -> String { formatDecimal(s, places: 1) }
        let fields: [String]
        switch self {
        case .plan(let plan): fields = ["plan"] + plan.map { "\($0.key)=\($0.value)" }
        case .accel(let accel, let why): fields = ["accel", accel.rawValue, why]
        case .start(let slot, let stem): fields = ["start", String(slot), stem]
        case .finished(let slot, let stem, let s, let accel, let bootID):
            fields = ["finished", String(slot), stem, seconds(s), accel.rawValue, bootID]
        case .failed(let slot, let stem, let s, let accel, let reason, let console):
            fields = ["failed", String(slot), stem, seconds(s), accel.rawValue, reason] + console
        case .stopped(let slot, let stem, let signal): fields = ["stopped", String(slot), stem, String(signal)]
        case .origin(let path, let release, let initrd, let commandLine, let bootID):
            fields = ["origin", path, release, initrd, commandLine, bootID]
        case .kexec(let slot, let stem, let from): fields = ["kexec", String(slot), stem, from]
        case .booted(let slot, let stem, let bootID): fields = ["booted", String(slot), stem, bootID]
        }
        return fields.map(escapeField).joined(separator: "\t")
    }

    package init?(line: String) {
        let f = line.split(separator: "\t", omittingEmptySubsequences: false).map { unescapeField(String($0)) }
        let slot = f.count > 1 ? Int(f[1]) : nil
        let s = f.count > 3 ? Double(f[3]) : nil
        let accel = f.count > 4 ? Accel(rawValue: f[4]) : nil
        switch f[0] {
        case "plan":
            let pairs = f.dropFirst().map { $0.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init) }
            guard pairs.allSatisfy({ $0.count == 2 }) else { return nil }
            self = .plan(pairs.map { JournalField($0[0], $0[1]) })
        case "accel":
            guard f.count == 3, let a = Accel(rawValue: f[1]) else { return nil }
            self = .accel(a, f[2])
        case "start":
            guard f.count == 3, let slot else { return nil }
            self = .start(slot: slot, stem: f[2])
        case "finished":
            guard f.count == 6, let slot, let s, let accel else { return nil }
            self = .finished(slot: slot, stem: f[2], seconds: s, accel: accel, bootID: f[5])
        case "failed":
            guard f.count >= 6, let slot, let s, let accel else { return nil }
            self = .failed(slot: slot, stem: f[2], seconds: s, accel: accel, reason: f[5], console: Array(f.dropFirst(6)))
        case "stopped":
            guard f.count == 4, let slot, let signal = Int32(f[3]) else { return nil }
            self = .stopped(slot: slot, stem: f[2], signal: signal)
        case "origin":
            guard f.count == 6 else { return nil }
            self = .origin(path: f[1], release: f[2], initrd: f[3], commandLine: f[4], bootID: f[5])
        case "kexec":
            guard f.count == 4, let slot else { return nil }
            self = .kexec(slot: slot, stem: f[2], from: f[3])
        case "booted":
            guard f.count == 4, let slot else { return nil }
            self = .booted(slot: slot, stem: f[2], bootID: f[3])
        default:
            return nil
        }
    }
}

/// Whether `stem` is a name ipcbench gives an attempt's files: one file name, which `attempts/` and
/// the folder hold, never a path out of them.
package func isAttemptName(_ stem: String) -> Bool {
    !stem.isEmpty && !stem.hasPrefix(".") && stem.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._+-".contains($0)) }
}

/// A field with its backslashes, tabs and line breaks escaped, so that an event stays one line.
package func escapeField(_ text: String) -> String {
    let escapes: [Unicode.Scalar: String] = ["\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"]
    return text.unicodeScalars.map { escapes[$0] ?? String($0) }.joined()
}

package func unescapeField(_ text: String) -> String {
    let escaped: [Unicode.Scalar: Unicode.Scalar] = ["t": "\t", "n": "\n", "r": "\r"]
    var out = String.UnicodeScalarView()
    var afterBackslash = false
    for c in text.unicodeScalars {
        if afterBackslash {
            out.append(escaped[c] ?? c)
            afterBackslash = false
        } else if c == "\\" {
            afterBackslash = true
        } else {
            out.append(c)
        }
    }
    return String(out)
}
