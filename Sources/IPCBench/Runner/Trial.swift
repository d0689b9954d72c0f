import CShims
import Glibc

/// One trial failed; the message says why, in words for the error column.
public struct TrialFailure: Error, Equatable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// What a trial hands the runner: both workers' reports.
struct TrialReports {
    let a: WorkerReport
    let b: WorkerReport
}

/// Runs one trial: prepares the transport, forks both workers into one process group, waits until
/// both are ready, releases them, collects their reports and reaps them. On a timeout, a worker's
/// death or a stop signal it kills the whole group, so no worker outlives the trial.
/// `beforeFork` runs once the transport is prepared and before any worker exists: tests use it to
/// play a stranger who gets there first.
func runTrial(transport kind: TransportKind, options: TransportOptions, pattern: PatternKind,
              work: LoopWork, cpus: (a: Int?, b: Int?), directory: String,
              timeoutNs: UInt64, beforeFork: (Transport) throws -> Void = { _ in }) throws -> TrialReports {
    let deadline = monotonicNanoseconds() &+ timeoutNs
    let secret = try TrialSecret.random()
    let transport = kind.make(options)
    var transportOpen = true
    defer { if transportOpen { transport.close() } }
    try transport.prepare(in: directory)
    try beforeFork(transport)

    let channelA = try ControlChannel.makePair()
    defer { channelA.runner.close() }
    let channelB = try ControlChannel.makePair()
    defer { channelB.runner.close() }

    var group: pid_t = 0
    var pids: [pid_t] = []
    var reaped: [pid_t: Int32] = [:]
    defer {
        // Every exit path: kill what is left of the group and reap it.
        if group > 0 {
            let running = pids.filter { reaped[$0] == nil }
            if !running.isEmpty { _ = kill(-group, SIGKILL) }
            for pid in running { var status: Int32 = 0; _ = waitUntilReaped(pid, &status) }
        }
    }

    for (role, mine, other) in [(Role.a, channelA, channelB), (Role.b, channelB, channelA)] {
        let setup = WorkerSetup(role: role, pattern: pattern, work: work,
                                cpu: role == .a ? cpus.a : cpus.b, transport: transport,
                                peer: PeerCheck(secret: secret, connectorPid: role == .b ? pids[0] : 0,
                                                listenerPid: getpid(), deadlineNs: deadline),
                                control: mine.worker,
                                foreignDescriptors: [mine.runner.fd, other.runner.fd, other.worker.fd])
        let pid = pid_t(try check("fork") { Int(cshim_fork()) })
        if pid == 0 {
            _ = setpgid(0, role == .a ? 0 : group)
            runWorker(setup)
        }
        if role == .a { group = pid }
        _ = setpgid(pid, group)  // also done by the child: whichever runs first wins the race
        pids.append(pid)
        mine.worker.close()
    }

    let runners = [channelA.runner, channelB.runner]
    let names = [pattern.roleName(.a), pattern.roleName(.b)]

    func waitForAny(_ pending: [Int], _ stage: String) throws -> Int {
        do {
            return try ControlChannel.firstReadable(pending.map { runners[$0] }, deadlineNs: deadline)
        } catch ControlChannel.Failure.timedOut {
            throw TrialFailure(message: "timed out after \(formatDuration(timeoutNs)) \(stage); raise --timeout if the case is just slow")
        }
    }

    /// Reads one frame from each worker, in whatever order they come.
    func collect(_ expected: ControlChannel.Kind, _ stage: String) throws -> [[UInt8]] {
        var frames: [[UInt8]?] = [nil, nil]
        while frames.contains(where: { $0 == nil }) {
            let pending = [0, 1].filter { frames[$0] == nil }
            let i = pending[try waitForAny(pending, stage)]
            let kind: ControlChannel.Kind
            do {
                (kind, frames[i]) = try runners[i].receive(deadlineNs: deadline)
            } catch ControlChannel.Failure.timedOut {
                throw TrialFailure(message: "timed out after \(formatDuration(timeoutNs)) \(stage); raise --timeout if the case is just slow")
            } catch ControlChannel.Failure.closed {
                // A worker closes its channel only by exiting: reap it and say how it ended.
                var status: Int32 = 0
                if waitUntilReaped(pids[i], &status) { reaped[pids[i]] = status }
                throw TrialFailure(message: "the \(names[i]) worker died \(stage): \(describeExit(status))")
            }
            // A worker that fails while setting up sends its report instead of ready.
            if kind == .report, let report = try? WorkerReport(decoding: frames[i]!), !report.error.isEmpty {
                // A peer that was killed shows up first as an error here (EOF, EPIPE): name the cause.
                let other = 1 - i
                var status: Int32 = 0
                if reaped[pids[other]] == nil, exitedSoon(pids[other], &status) {
                    reaped[pids[other]] = status
                    if cshim_wifsignaled(status) != 0 {
                        throw TrialFailure(message: "the \(names[other]) worker died \(stage): \(describeExit(status))")
                    }
                }
                throw TrialFailure(message: "\(names[i]): \(report.error)")  // the other worker may be stuck: stop now
            }
            guard kind == expected else { throw ControlChannel.Failure.malformed }
        }
        return frames.map { $0! }
    }

    _ = try collect(.ready, "while setting up")
    transport.close()  // both endpoints are open now: drop the runner's copies and the paths
    transportOpen = false
    // Release the receiving side first, so that it is already waiting when the first byte comes.
    for i in [1, 0] where !runners[i].send(.go) {
        throw TrialFailure(message: "the \(names[i]) worker went away before the start")
    }
    let frames = try collect(.report, "during the timed loop")
    let reports = try frames.map { try WorkerReport(decoding: $0) }
    for pid in pids {
        var status: Int32 = 0
        if waitUntilReaped(pid, &status) { reaped[pid] = status }
    }
    return TrialReports(a: reports[0], b: reports[1])
}

/// Reaps `pid` if it exits within 100 ms; false if it is still running.
func exitedSoon(_ pid: pid_t, _ status: inout Int32) -> Bool {
    for _ in 0..<100 {
        if waitpid(pid, &status, WNOHANG) == pid { return true }
        usleep(1000)
    }
    return false
}

/// waitpid that retries EINTR; true once `pid` is reaped.
@discardableResult
func waitUntilReaped(_ pid: pid_t, _ status: inout Int32) -> Bool {
    retryingInterrupts { Int(waitpid(pid, &status, 0)) } == Int(pid)
}

func describeExit(_ status: Int32) -> String {
    if cshim_wifsignaled(status) != 0 {
        let signal = cshim_wtermsig(status)
        return "killed by signal \(signal) (\(String(cString: strsignal(signal))))"
    }
    if cshim_wifexited(status) != 0 { return "exited with status \(cshim_wexitstatus(status))" }
    return "status \(status)"
}

public func formatDuration(_ ns: UInt64) -> String {
    if ns % 1_000_000_000 == 0 { return "\(ns / 1_000_000_000)s" }
    if ns % 1_000_000 == 0 { return "\(ns / 1_000_000)ms" }
    if ns % 1000 == 0 { return "\(ns / 1000)us" }
    return "\(ns)ns"
}
