import CShims
import Glibc
import IPCPlatform
import IPCModel
import IPCRun
import IPCAnalysis

/// What `ipcbench bisect --good --bad` needs of processes and of git: a program's output, a wait
/// that passes a stop signal on, and a git tree's commands.

/// Runs `argv` (found on PATH) to its end: how it ended (`exit status N`, `killed by signal N`) and
/// its output (stdout and stderr together, its first MiB).
public func runCapturing(_ argv: [String]) -> (ended: String, output: String) {
    var fds: [Int32] = [-1, -1]
    guard cshim_pipe_cloexec(&fds) == 0 else { return ("not started", String(cString: strerror(errno))) }
    let pid = spawnGroup(argv, output: fds[1])
    closeDescriptor(fds[1])
    defer { closeDescriptor(fds[0]) }
    guard pid > 0 else { return ("not started", "cannot start \(argv[0]): \(String(cString: strerror(errno)))") }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buffer.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        if bytes.count < 1 << 20 { bytes += buffer[0..<n] }
    }
    return (reap(pid), String(decoding: bytes, as: UTF8.self))
}

/// Waits for `pid` (the leader of its own process group) and says how it ended; a stop signal that
/// comes meanwhile is passed on to its group as SIGTERM, once, so that it can end what it started.
public func waitPassingStop(_ pid: pid_t) -> String {
    var passed = false
    while true {
        var status: Int32 = 0
        let r = waitpid(pid, &status, WNOHANG)
        if r == pid {
            if cshim_wifexited(status) != 0 { return "exit status \(cshim_wexitstatus(status))" }
            return "killed by signal \(cshim_wtermsig(status))"
        }
        if r < 0 && errno != EINTR { return "not reaped" }
        if !passed && cshim_stop_signal() != 0 {
            _ = kill(-pid, SIGTERM)
            passed = true
        }
        usleep(50_000)
    }
}

/// Runs `argv` (found on PATH) in its own process group, its output passed on to stdout (ended
/// with a newline where it did not end with one), and says how it ended; a stop signal that comes
/// meanwhile is passed on to its group as SIGTERM, once.
public func runRelaying(_ argv: [String]) -> String {
    var fds: [Int32] = [-1, -1]
    guard cshim_pipe_cloexec(&fds) == 0 else { return "not started" }
    let pid = spawnGroup(argv, output: fds[1])
    closeDescriptor(fds[1])
    defer { closeDescriptor(fds[0]) }
    guard pid > 0 else { return "not started" }
    var passed = false
    var last: UInt8 = UInt8(ascii: "\n")
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        if !passed && cshim_stop_signal() != 0 {
            _ = kill(-pid, SIGTERM)
            passed = true
        }
        var p = pollfd(fd: fds[0], events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, 100) > 0 else { continue }
        let n = buffer.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        _ = buffer.withUnsafeBytes { writeFully(1, $0.baseAddress!, n) }
        last = buffer[n - 1]
    }
    if last != UInt8(ascii: "\n") { _ = writeFully(1, "\n", 1) }
    return waitPassingStop(pid)
}

/// A git work tree, by its absolute path.
public struct GitTree: Sendable {
    public let path: String

    public init(_ path: String) { self.path = path }

    /// `git -C PATH ARGUMENTS`: whether it exited 0, and its output without the trailing newline.
    @discardableResult
    public func git(_ arguments: [String]) -> (ok: Bool, output: String) {
        let r = runCapturing(["git", "-C", path] + arguments)
        var output = r.output
        while output.hasSuffix("\n") { output.removeLast() }
        return (r.ended == "exit status 0", output)
    }

    /// The full name of a commit, or nil where `name` is not one.
    public func commit(_ name: String) -> String? {
        let r = git(["rev-parse", "--verify", "--quiet", "--end-of-options", name + "^{commit}"])
        return r.ok && !r.output.isEmpty ? r.output : nil
    }

    /// Whether a `git bisect` is under way in the tree.
    public var bisecting: Bool {
        let r = git(["rev-parse", "--git-path", "BISECT_START"])
        guard r.ok else { return false }
        return access(r.output.hasPrefix("/") ? r.output : path + "/" + r.output, F_OK) == 0
    }

    /// The first bad commit `git bisect log` names, or the possible ones where skipped commits leave
    /// several: (found, [full name]).
    public func bisectResult() -> (found: Bool, commits: [String]) {
        let log = git(["bisect", "log"]).output.split(separator: "\n")
        func named(_ prefix: String) -> [String] {
            log.filter { $0.hasPrefix(prefix) }.compactMap { line in
                line.dropFirst(prefix.count).split(separator: "]").first.map(String.init)
            }
        }
        let first = named("# first bad commit: [")
        if !first.isEmpty { return (true, first) }
        return (false, named("# possible first bad commit: ["))
    }
}

/// Runs the build command `command` with `sh -c` in `tree`, its output appended to `log`; nil where
/// it ended with status 0 and left a regular file at `image`, else why not.
public func buildKernel(_ command: String, in tree: String, image: String, log: String) -> String? {
    let fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
    guard fd >= 0 else { return "cannot write \(log): \(String(cString: strerror(errno)))" }
    _ = unlink(image)  // the image of a commit built before is not this commit's
    let pid = spawnGroup(["sh", "-c", "cd \(shellQuoted(tree)) && \(command)"], output: fd)
    closeDescriptor(fd)
    guard pid > 0 else { return "cannot start sh: \(String(cString: strerror(errno)))" }
    let ended = waitPassingStop(pid)
    if ended != "exit status 0" { return "the build ended with \(ended)" }
    var s = stat()
    guard stat(image, &s) == 0, (s.st_mode & S_IFMT) == S_IFREG else { return "the build left no image at \(image)" }
    return nil
}

/// Copies the file at `from` to a new file `to` (kept where it is already there: a step resumed).
public func copyImage(_ from: String, to: String) throws {
    if access(to, F_OK) == 0 { return }
    let r = runCapturing(["cp", "--", from, to + ".partial"])
    guard r.ended == "exit status 0", rename(to + ".partial", to) == 0 else {
        _ = unlink(to + ".partial")
        throw InputError("cannot copy \(from) to \(to): \(r.output.split(separator: "\n").last ?? "")")
    }
}
