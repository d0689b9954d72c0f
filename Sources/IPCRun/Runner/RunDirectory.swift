import Glibc
import IPCPlatform
import IPCModel

/// The run's private 0700 directory for FIFOs and socket files, `$TMPDIR/ipcbench-<pid>-XXXXXX`
/// (default /tmp). The runner removes it on every exit path; `remove()` also deletes anything a
/// worker left. A runner killed with SIGKILL cannot, so each new one first removes the directories
/// of runners that are gone (`removeStale`).
public final class RunDirectory {
    public let path: String

    public init() throws {
        var base = environmentValue("TMPDIR") ?? "/tmp"
        if base.isEmpty { base = "/tmp" }
        Self.removeStale(in: base)
        let prefix = "\(base)/ipcbench-\(currentProcessID)-"
        path = try makeTemporaryDirectory(prefix)
    }

    public func remove() { Self.removeContents(path) }

    /// Removes the run directories in `base` whose runner is gone: only names of the form
    /// `ipcbench-<pid>-XXXXXX`, only real directories owned by this user with mode 0700, and only
    /// when `kill(pid, 0)` says no such process. Anything else stays. Returns the paths removed.
    @discardableResult
    public static func removeStale(in base: String) -> [String] {
        guard let names = directoryNames(base) else { return [] }
        var removed: [String] = []
        for name in names {
            guard let pid = runnerPID(name), pid != currentProcessID else { continue }
            let path = base + "/" + name
            guard let info = fileStatus(path, followingLinks: false), info.kind == .directory,
                  info.permissions & 0o777 == 0o700, info.owner == currentUserID else { continue }
            guard !processExists(pid) else { continue }
            removeContents(path)
            removed.append(path)
        }
        return removed
    }

    /// The runner's pid in a name `ipcbench-<pid>-XXXXXX` (six characters as mkdtemp makes them).
    package static func runnerPID(_ name: String) -> pid_t? {
        let parts = name.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "ipcbench", parts[2].utf8.count == 6,
              parts[2].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }),
              !parts[1].isEmpty, parts[1].allSatisfy({ $0.isASCII && $0.isNumber }),
              let pid = pid_t(parts[1]), pid > 0 else { return nil }
        return pid
    }

    /// Unlinks what is in `path` (FIFOs and socket files, and those in the trial's per-link folders
    /// one level down), then the directory itself; anything deeper stays, and so does `path` then.
    package static func removeContents(_ path: String, levels: Int = 1) {
        for name in directoryNames(path) ?? [] {
            let unlinked = removeFile(path + "/" + name)
            if unlinked == EISDIR && levels > 0 { removeContents(path + "/" + name, levels: levels - 1) }
        }
        removeDirectory(path)
    }
}
