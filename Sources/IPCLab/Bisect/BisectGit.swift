import Glibc
import IPCPlatform
import IPCModel
import IPCRun
import IPCAnalysis

/// What `ipcbench bisect --good --bad` needs of processes and of git: a program's output and a git
/// tree's commands (the waits that pass a stop signal on are in IPCPlatform's Relay.swift).

/// Runs `argv` (found on PATH) to its end: how it ended (`exit status N`, `killed by signal N`) and
/// its output (stdout and stderr together, its first MiB).
public func runCapturing(_ argv: [String]) -> (ended: String, output: String) {
    do {
        let r = try runCollectingOutput(argv, limit: 1 << 20)
        return (r.ended, String(decoding: r.output, as: UTF8.self))
    } catch {
        return ("not started", error.call == "pipe2" ? errorText(error.code) : "cannot start \(argv[0]): \(errorText(error.code))")
    }
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
        return canAccess(r.output.hasPrefix("/") ? r.output : path + "/" + r.output)
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
    let fd = openFileOrErrno(log, O_WRONLY | O_CREAT | O_APPEND)
    guard fd >= 0 else { return "cannot write \(log): \(errorText(-fd))" }
    removeFile(image)  // the image of a commit built before is not this commit's
    let pid = spawnGroup(["sh", "-c", "cd \(shellQuoted(tree)) && \(command)"], output: fd)
    let code = lastError
    closeDescriptor(fd)
    guard pid > 0 else { return "cannot start sh: \(errorText(code))" }
    let ended = waitPassingStop(pid)
    if ended != "exit status 0" { return "the build ended with \(ended)" }
    guard fileStatus(image)?.kind == .regular else { return "the build left no image at \(image)" }
    return nil
}

/// Copies the file at `from` to a new file `to` (kept where it is already there: a step resumed).
public func copyImage(_ from: String, to: String) throws {
    if canAccess(to) { return }
    let r = runCapturing(["cp", "--", from, to + ".partial"])
    guard r.ended == "exit status 0", (try? renameFile(to + ".partial", to: to)) != nil else {
        removeFile(to + ".partial")
        throw InputError("cannot copy \(from) to \(to): \(r.output.split(separator: "\n").last ?? "")")
    }
}
