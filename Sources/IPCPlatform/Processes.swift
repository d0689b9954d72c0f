import Glibc
import CShims

/// Starts `argv` (found on PATH) in its own process group, its output on `output`; its pid, or -1.
public func spawnGroup(_ argv: [String], output: Int32) -> pid_t {
    var cStrings = argv.map { strdup($0) }
    cStrings.append(nil)
    defer { cStrings.forEach { free($0) } }
    return cshim_spawn_group(cStrings, output)
}

/// Waits for `pid` and says how it ended: `exit status N` or `killed by signal N`.
@discardableResult
public func reap(_ pid: pid_t) -> String {
    var status: Int32 = 0
    guard retryingInterrupts({ Int(waitpid(pid, &status, 0)) }) == Int(pid) else { return "not reaped" }
    if cshim_wifexited(status) != 0 { return "exit status \(cshim_wexitstatus(status))" }
    return "killed by signal \(cshim_wtermsig(status))"
}

/// The CPUs this process may run on (its affinity mask).
public func allowedCPUs() -> [Int] {
    var cpus = [Int32](repeating: 0, count: 1024)
    let n = Int(cshim_allowed_cpus(&cpus, Int32(cpus.count)))
    return n > 0 ? cpus[0..<n].map(Int.init) : []
}
