import Glibc
import IPCPlatform
import IPCModel

/// One trial failed; the message says why, in words for the error column.
public struct TrialFailure: Error, Equatable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// What a trial hands the runner: every worker's report, in worker order.
package struct TrialReports {
    package let workers: [WorkerReport]
    /// The first two workers: for most patterns, the whole trial.
    package var a: WorkerReport { workers[0] }
    package var b: WorkerReport { workers[1] }
}

/// Runs one trial: makes one transport per link of the pattern's topology, forks every worker into
/// one process group, waits until all are ready, releases them (the last worker first, so that
/// receivers wait before their senders start), collects every report and reaps every worker. On a
/// timeout, a worker's death or a stop signal it kills the whole group, so no worker outlives the
/// trial. `cpus[i]` is worker i's CPU (missing or nil: anywhere). `beforeFork` runs once the
/// transports are prepared and before any worker exists: tests use it to play a stranger who gets
/// there first.
package func runTrial(transport kind: TransportKind, options: TransportOptions, pattern: PatternKind,
              shape: CaseShape, work: LoopWork, cpus: [Int?], directory: String,
              timeoutNs: UInt64, workers: Workers = .process, beforeFork: (Transport) throws -> Void = { _ in }) throws -> TrialReports {
    let deadline = monotonicNanoseconds() &+ timeoutNs
    var work = work
    work.shape = shape
    work.oneToMany = kind.oneToMany
    work.messagesCarryTimes = !kind.implementation.discardsReceivedBytes
    let secret = try TrialSecret.random()
    let topology = pattern.implementation.topology(shape)
    let count = topology.roles.count

    // udp-multicast: the groups and the workers in a network namespace of the trial's own, where
    // the kernel allows it, so that no other process can join them (TrialNetworkNamespace).
    var namespace = kind.oneToMany ? try TrialNetworkNamespace.enter() : nil
    defer { try? namespace?.leave() }

    // One transport per pair of workers (per group on a one-to-many transport: one send reaches
    // every receiver), each in its own folder so that paths never collide.
    var transports: [Transport] = []
    var folders: [String] = []
    var transportsOpen = true
    defer {
        if transportsOpen { transports.forEach { $0.close() } }  // close is idempotent: a shared one is closed once per link
        folders.forEach { removeDirectory($0) }
    }
    var instances: [Int: Transport] = [:]
    for (index, link) in topology.links.enumerated() {
        if let shared = instances[Topology.instance(link, oneToMany: kind.oneToMany)] {
            transports.append(shared)
            continue
        }
        let folder = directory + "/\(index)"
        try makeDirectory(folder, permissions: 0o700)
        folders.append(folder)
        let transport = kind.make(options)
        transports.append(transport)
        instances[Topology.instance(link, oneToMany: kind.oneToMany)] = transport
        try transport.prepare(in: folder)
        try beforeFork(transport)
    }

    var channels: [(runner: ControlChannel, worker: ControlChannel)] = []
    defer { channels.forEach { $0.runner.close() } }
    for _ in 0..<count { channels.append(try ControlChannel.makePair()) }

    var group: pid_t = 0
    var pids: [pid_t] = []
    var reaped: [pid_t: ExitStatus] = [:]
    defer {
        // Every exit path: kill what is left of the group and reap it.
        if group > 0 {
            let running = Set(pids).filter { reaped[$0] == nil }
            if !running.isEmpty { signalGroup(group, SIGKILL) }
            for pid in running { _ = waitForExit(pid) }
        }
    }

    let runnerPid = currentProcessID  // made the listeners; read here, before a fork
    /// Worker `index`'s setup; `pid` gives each worker's process (a unix-stream acceptor takes only
    /// its connector's).
    func setup(_ index: Int, pid: (Int) -> pid_t) -> WorkerSetup {
        let links = topology.endpointLinks(of: index, oneToMany: kind.oneToMany).map { i -> WorkerLink in
            let link = topology.links[i]
            let peer = PeerCheck(secret: secret, connectorPid: link.to == index ? pid(link.from) : 0,
                                 listenerPid: runnerPid, deadlineNs: deadline)
            return WorkerLink(transport: transports[i], role: link.from == index ? .a : .b, peer: peer)
        }
        let foreign = channels.indices.flatMap { i in i == index ? [channels[i].runner.fd] : [channels[i].runner.fd, channels[i].worker.fd] }
        return WorkerSetup(index: index, pattern: pattern, work: work, cpu: index < cpus.count ? cpus[index] : nil,
                           links: links, control: channels[index].worker, foreignDescriptors: foreign)
    }

    switch workers {
    case .process:
        for index in 0..<count {
            // Links run from a lower to a higher worker, so a link's connecting worker already has its pid.
            let worker = setup(index) { pids[$0] }
            let pid = try forkProcess()
            if pid == 0 {
                setProcessGroup(0, to: index == 0 ? 0 : group)
                runWorker(worker)
            }
            if index == 0 { group = pid }
            setProcessGroup(pid, to: group)  // also done by the child: whichever runs first wins the race
            pids.append(pid)
        }
    case .thread:
        // One process, every worker a thread of it: each worker's peer is that process.
        let pid = try forkProcess()
        if pid == 0 {
            setProcessGroup(0, to: 0)
            let me = currentProcessID
            runWorkerThreads((0..<count).map { setup($0) { _ in me } })
        }
        group = pid
        setProcessGroup(pid, to: group)
        pids = Array(repeating: pid, count: count)
    }
    let entered = namespace  // the workers are in it now: the runner goes back to its own
    namespace = nil
    try entered?.leave()
    channels.forEach { $0.worker.close() }

    let runners = channels.map(\.runner)
    let names = topology.roles

    func waitForAny(_ pending: [Int], _ stage: String) throws -> Int {
        do {
            return try ControlChannel.firstReadable(pending.map { runners[$0] }, deadlineNs: deadline)
        } catch ControlChannel.Failure.timedOut {
            throw TrialFailure(message: "timed out after \(formatDuration(timeoutNs)) \(stage); raise --timeout if the case is just slow")
        }
    }

    /// Reads one frame from each worker, in whatever order they come.
    func collect(_ expected: ControlChannel.Kind, _ stage: String) throws -> [[UInt8]] {
        var frames = [[UInt8]?](repeating: nil, count: count)
        while frames.contains(where: { $0 == nil }) {
            let pending = frames.indices.filter { frames[$0] == nil }
            let i = pending[try waitForAny(pending, stage)]
            let kind: ControlChannel.Kind
            do {
                (kind, frames[i]) = try runners[i].receive(deadlineNs: deadline)
            } catch ControlChannel.Failure.timedOut {
                throw TrialFailure(message: "timed out after \(formatDuration(timeoutNs)) \(stage); raise --timeout if the case is just slow")
            } catch ControlChannel.Failure.closed {
                // A worker closes its channel only by exiting: reap it and say how it ended.
                let ended = waitForExit(pids[i])
                reaped[pids[i]] = ended
                throw TrialFailure(message: "the \(names[i]) worker died \(stage): \(describeExit(ended))")
            }
            // A worker that fails while setting up sends its report instead of ready.
            if kind == .report, let report = try? WorkerReport(decoding: frames[i]!), !report.error.isEmpty {
                // A peer that was killed shows up first as an error here (EOF, EPIPE): name the cause.
                for other in pids.indices where pids[other] != pids[i] && reaped[pids[other]] == nil {
                    if let ended = exitedSoon(pids[other]) {
                        reaped[pids[other]] = ended
                        if case .killed = ended {
                            throw TrialFailure(message: "the \(names[other]) worker died \(stage): \(describeExit(ended))")
                        }
                    }
                }
                throw TrialFailure(message: "\(names[i]): \(report.error)")  // the others may be stuck: stop now
            }
            guard kind == expected else { throw ControlChannel.Failure.malformed }
        }
        return frames.map { $0! }
    }

    _ = try collect(.ready, "while setting up")
    transports.forEach { $0.close() }  // every endpoint is open now: drop the runner's copies and the paths
    transportsOpen = false
    for i in (0..<count).reversed() where !runners[i].send(.go) {
        throw TrialFailure(message: "the \(names[i]) worker went away before the start")
    }
    let frames = try collect(.report, "during the timed loop")
    let reports = try frames.map { try WorkerReport(decoding: $0) }
    for pid in Set(pids) { reaped[pid] = waitForExit(pid) }
    return TrialReports(workers: reports)
}

/// Reaps `pid` if it exits within 100 ms and says how it ended; nil if it is still running.
package func exitedSoon(_ pid: pid_t) -> ExitStatus? {
    for _ in 0..<100 {
        if let ended = reapIfEnded(pid) { return ended }
        pause(microseconds: 1000)
    }
    return nil
}

/// How a worker ended, for the error column; nil (it could not be reaped) reads as status 0, as
/// an empty wait status does.
package func describeExit(_ ended: ExitStatus?) -> String {
    switch ended ?? .exited(0) {
    case .killed(let signal): "killed by signal \(signal) (\(signalName(signal)))"
    case .exited(let code): "exited with status \(code)"
    }
}

public func formatDuration(_ ns: UInt64) -> String {
    if ns % 1_000_000_000 == 0 { return "\(ns / 1_000_000_000)s" }
    if ns % 1_000_000 == 0 { return "\(ns / 1_000_000)ms" }
    if ns % 1000 == 0 { return "\(ns / 1000)us" }
    return "\(ns)ns"
}
