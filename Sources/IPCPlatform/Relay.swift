import CShims
import Glibc

// Children that the kernels and bisect commands start, each in a process group of its own: their
// output collected or relayed, waits that pass a stop signal on, a watcher that ends a group when
// this process dies; and the programs they start, found on PATH.

/// Passes a stop signal that came (SIGINT, SIGTERM, SIGHUP, after `installStopHandlers`) on to a
/// process group as SIGTERM, once, so that its leader can end what it started.
package struct StopPassing {
    package let group: pid_t
    package private(set) var passed = false

    package init(group: pid_t) { self.group = group }

    /// Passes the stop signal on, if one came and none was passed on yet.
    package mutating func check() {
        if !passed && stopSignalReceived() != 0 {
            signalGroup(group, SIGTERM)
            passed = true
        }
    }
}

/// Waits for `pid` (the leader of its own process group) and says how it ended: `exit status N`,
/// `killed by signal N`, or `not reaped`. A stop signal that comes meanwhile is passed on to its
/// group as SIGTERM, once.
package func waitPassingStop(_ pid: pid_t) -> String {
    var stop = StopPassing(group: pid)
    return waitPassingStop(pid, &stop)
}

private func waitPassingStop(_ pid: pid_t, _ stop: inout StopPassing) -> String {
    while true {
        var status: Int32 = 0
        let r = waitpid(pid, &status, WNOHANG)
        if r == pid { return ExitStatus(waitStatus: status).description }
        if r < 0 && errno != EINTR { return "not reaped" }
        stop.check()
        pause(microseconds: 50_000)
    }
}

/// Copies what arrives on `input` to `output` until every writer has closed `input` (or a read
/// fails). `check` runs before each wait of at most `intervalMs` milliseconds and ends the copy when
/// it returns false; `received` sees each chunk once it is copied. True when the input ended, false
/// when `check` ended the copy.
package func relay(from input: Int32, to output: Int32, intervalMs: Int32, check: () -> Bool,
                   received: (ArraySlice<UInt8>) -> Void) -> Bool {
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        guard check() else { return false }
        var ready = pollfd(fd: input, events: Int16(POLLIN), revents: 0)
        guard poll(&ready, 1, intervalMs) > 0 else { continue }
        let n = buffer.withUnsafeMutableBytes { readOnce(input, $0.baseAddress!, $0.count) }
        if n <= 0 { return true }
        _ = buffer.withUnsafeBytes { writeFully(output, $0.baseAddress!, n) }
        received(buffer[0..<n])
    }
}

/// Runs `argv` (found on PATH) in its own process group, its output (stdout and stderr) passed on to
/// this process's stdout, ended with a newline where it did not end with one, and says how it ended
/// (as `waitPassingStop` does), or `not started`. A stop signal that comes meanwhile is passed on to
/// its group as SIGTERM, once.
package func runRelaying(_ argv: [String]) -> String {
    guard let pipe = try? makePipe() else { return "not started" }
    let pid = spawnGroup(argv, output: pipe.write)
    closeDescriptor(pipe.write)
    defer { closeDescriptor(pipe.read) }
    guard pid > 0 else { return "not started" }
    var stop = StopPassing(group: pid)
    var last = UInt8(ascii: "\n")
    _ = relay(from: pipe.read, to: 1, intervalMs: 100, check: { stop.check(); return true }, received: { last = $0.last ?? last })
    if last != UInt8(ascii: "\n") { _ = writeFully(1, "\n", 1) }
    return waitPassingStop(pid, &stop)
}

/// Runs `argv` (found on PATH) in its own process group to its end, its output (stdout and stderr)
/// read through a pipe, of which the first `limit` bytes are kept: how it ended (as `reap` says) and
/// those bytes. Throws a `SystemCallError`: `pipe2`, or `start ARGV0` when it could not start.
package func runCollectingOutput(_ argv: [String], limit: Int) throws(SystemCallError) -> (ended: String, output: [UInt8]) {
    guard let pipe = try? makePipe() else { throw SystemCallError("pipe2", code: lastError) }
    let pid = spawnGroup(argv, output: pipe.write)
    let code = lastError
    closeDescriptor(pipe.write)
    defer { closeDescriptor(pipe.read) }
    guard pid > 0 else { throw SystemCallError("start \(argv.first ?? "")", code: code) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { readOnce(pipe.read, $0.baseAddress!, $0.count) }
        if n <= 0 { break }
        bytes += chunk[0..<min(n, max(0, limit - bytes.count))]
    }
    return (reap(pid), bytes)
}

/// Starts a watcher in the process group `group` that kills the whole group (SIGKILL) when this
/// process dies, even by SIGKILL; its pid, or -1 (see `lastError`). End it with SIGKILL and reap it.
package func startGroupWatcher(_ group: pid_t) -> pid_t { cshim_watch_group(group) }

/// The first executable file `name` in the folders of PATH (`defaultPath` where PATH is not set),
/// then in `alsoIn`; nil when there is none.
package func findExecutable(_ name: String, defaultPath: String, alsoIn: [String] = []) -> String? {
    let folders = (environmentValue("PATH") ?? defaultPath).split(separator: ":").map(String.init) + alsoIn
    return folders.map { "\($0)/\(name)" }.first { canAccess($0, .execute) }
}

