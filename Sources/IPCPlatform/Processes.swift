import Glibc
import CShims

/// How a child process ended, from waitpid's status.
public enum ExitStatus: Equatable, CustomStringConvertible {
    case exited(Int32)
    case killed(signal: Int32)

    package init(waitStatus status: Int32) {
        self = cshim_wifexited(status) != 0 ? .exited(cshim_wexitstatus(status)) : .killed(signal: cshim_wtermsig(status))
    }

    /// `exit status N` or `killed by signal N`.
    public var description: String {
        switch self {
        case .exited(let code): "exit status \(code)"
        case .killed(let signal): "killed by signal \(signal)"
        }
    }
}

/// Starts `argv` (found on PATH) in its own process group, its output on `output`; its pid, or -1.
public func spawnGroup(_ argv: [String], output: Int32) -> pid_t {
    var cStrings = argv.map { strdup($0) }
    cStrings.append(nil)
    defer { cStrings.forEach { free($0) } }
    return cshim_spawn_group(cStrings, output)
}

/// Waits for `pid` (retrying EINTR) and says how it ended; nil when it cannot be reaped (not a child).
package func waitForExit(_ pid: pid_t) -> ExitStatus? {
    var status: Int32 = 0
    guard retryingInterrupts({ Int(waitpid(pid, &status, 0)) }) == Int(pid) else { return nil }
    return ExitStatus(waitStatus: status)
}

/// Reaps `pid` if it has ended, without waiting; nil while it runs (or when it is not a child).
package func reapIfEnded(_ pid: pid_t) -> ExitStatus? {
    var status: Int32 = 0
    guard retryingInterrupts({ Int(waitpid(pid, &status, WNOHANG)) }) == Int(pid) else { return nil }
    return ExitStatus(waitStatus: status)
}

/// Waits for `pid` and says how it ended: `exit status N` or `killed by signal N`.
@discardableResult
public func reap(_ pid: pid_t) -> String {
    waitForExit(pid)?.description ?? "not reaped"
}

/// Sends `signal` to a process; false when it failed (no such process, no permission).
@discardableResult
package func signalProcess(_ pid: pid_t, _ signal: Int32) -> Bool { kill(pid, signal) == 0 }

/// Sends `signal` to every process of the group `leader` leads.
@discardableResult
package func signalGroup(_ leader: pid_t, _ signal: Int32) -> Bool { kill(-leader, signal) == 0 }

/// False only when the kernel says no such process (ESRCH): a process of another user still exists.
package func processExists(_ pid: pid_t) -> Bool { kill(pid, 0) == 0 || errno != ESRCH }

/// This process's id, its real user's, and its effective user's (root is 0).
package var currentProcessID: pid_t { getpid() }
package var currentUserID: uid_t { getuid() }
package var effectiveUserID: uid_t { geteuid() }
package var isRoot: Bool { effectiveUserID == 0 }

/// Ends this process with `status`, its output streams flushed.
package func exitProcess(_ status: Int32) -> Never { exit(status) }

/// Sleeps this thread for about `microseconds` (a poll interval outside any timed loop).
package func pause(microseconds: UInt32) { usleep(microseconds) }

/// SIGINT, SIGTERM and SIGHUP no longer end this process: they are recorded for `stopSignalReceived`.
public func installStopHandlers() { cshim_install_stop_handlers() }

/// The stop signal that came (SIGINT, SIGTERM, SIGHUP) since `installStopHandlers`, or 0.
public func stopSignalReceived() -> Int32 { cshim_stop_signal() }

/// Puts the stop signals back to their default action (a forked child that must die with them).
package func restoreDefaultSignals() { cshim_restore_default_signals() }

/// A pipe, both ends close-on-exec.
package func makePipe() throws -> (read: Int32, write: Int32) {
    var fds: [Int32] = [-1, -1]
    try check("pipe2") { cshim_pipe_cloexec(&fds) }
    return (fds[0], fds[1])
}

/// The CPUs this process may run on (its affinity mask).
public func allowedCPUs() -> [Int] {
    var cpus = [Int32](repeating: 0, count: 1024)
    let n = Int(cshim_allowed_cpus(&cpus, Int32(cpus.count)))
    return n > 0 ? cpus[0..<n].map(Int.init) : []
}
