import Glibc
import IPCPlatform
import IPCModel

/// One link a worker is on: the transport, the worker's side of it, and how it checks its peer.
package struct WorkerLink {
    package let transport: Transport
    package let role: Role
    package let peer: PeerCheck
}

/// Everything a worker needs; it inherits this from the runner's memory.
package struct WorkerSetup {
    /// Its place in the pattern's topology.
    package let index: Int
    package let pattern: PatternKind
    package let work: LoopWork
    package let cpu: Int?
    /// The links it is on, in link order.
    package let links: [WorkerLink]
    package let control: ControlChannel
    /// Descriptors of the runner and of the other workers, closed first thing.
    package let foreignDescriptors: [Int32]
}

/// A worker that is a process of its own: set up, say ready, wait for go, run the timed loop,
/// report, exit. It never returns: a forked child must not run the runner's code after it.
package func runWorker(_ setup: WorkerSetup) -> Never {
    restoreDefaultSignals()
    restoreDefaultCrashSignals()
    dieWithParent()
    setup.foreignDescriptors.forEach(closeDescriptor)
    runWorkerBody(setup, thread: false)
    exitImmediately(0)
}

/// A worker that crashes dies of its signal at once, for the runner to name: the Swift runtime's
/// crash handler would print a backtrace (waiting for a key on a terminal) or, for a signal sent
/// with kill, return and let the worker go on.
package func restoreDefaultCrashSignals() {
    for signal in [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP] { restoreDefaultAction(signal) }
}

/// Workers that are threads: the trial's one forked process runs every worker on a thread of its
/// own, then exits. Each thread first takes a descriptor table of its own (unshare(CLONE_FILES)), so
/// that it opens, closes and keeps its endpoints exactly as a worker process would, while the
/// memory, the address space and the pid are shared: what a thread switch saves over a process
/// switch is all that differs.
package func runWorkerThreads(_ setups: [WorkerSetup]) -> Never {
    restoreDefaultSignals()
    restoreDefaultCrashSignals()
    dieWithParent()
    var threads: [ThreadHandle] = []
    for setup in setups {
        let worker = WorkerThread(setup)
        guard let thread = try? startThread({ worker.run() }) else { exitImmediately(4) }
        threads.append(thread)
    }
    threads.forEach(joinThread)
    exitImmediately(0)
}

/// One worker thread's setup, handed to the new thread.
package final class WorkerThread {
    package let setup: WorkerSetup
    package init(_ setup: WorkerSetup) { self.setup = setup }

    package func run() {
        do { try takeOwnDescriptorTable() } catch {
            var report = WorkerReport()
            report.error = "\(error)"
            _ = setup.control.send(.report, report.encoded())
            return
        }
        setup.foreignDescriptors.forEach(closeDescriptor)
        runWorkerBody(setup, thread: true)
    }
}

/// Set up, say ready, wait for go, run the timed loop, report. `thread`: the worker is a thread, so
/// its CPU time is the thread's.
package func runWorkerBody(_ setup: WorkerSetup, thread: Bool) {
    var report = WorkerReport()
    do {
        if let cpu = setup.cpu {
            try pinToCPU(cpu)
        }
        var endpoints: [Endpoint] = []
        // --wait uring: one ring for all the worker's reads and writes, each endpoint's under two
        // tags of its own; closed after the endpoints, while the loop's buffers still exist.
        var ring: UnsafeMutableRawPointer?
        defer {
            endpoints.forEach { $0.close() }
            closeRing(ring)
        }
        if setup.work.wait == .uring {
            ring = try openRing(entries: max(8, 2 * setup.links.count + 2))
        }
        // The endpoints' reads wait as --wait says, except where the pattern's loops read without
        // blocking and wait for all their descriptors themselves (duplex, pubsub; under uring they
        // keep a read in flight on each in the worker's ring).
        let waitsOnOne = !setup.pattern.implementation.requirements(setup.work.shape).waitsItself
        for link in setup.links {
            var endpoint = try link.transport.open(link.role, link.peer)
            if (waitsOnOne && setup.work.wait != .auto) || ring != nil {
                try endpoint.prepareWaiting(setup.work.wait, ring: ring, tag: UInt32(2 * endpoints.count))
            }
            endpoints.append(endpoint)
            report.rejected &+= endpoint.rejected
            if report.knobsInForce.present.isEmpty { report.knobsInForce = endpoint.knobsInForce }
        }
        // The buffers the loop makes are registered with the ring (fixed buffers) where the kernel
        // takes them; where it does not, the reads and writes use them as plain buffers.
        if let ring { collectRingBuffers(ring) }
        let loop = setup.pattern.implementation.makeLoop(worker: setup.index, endpoints, setup.work)
        if let ring { registerRingBuffers(ring) }
        let counter = AllocationCounter()
        var result = LoopResult()
        guard setup.control.send(.ready) else { exitImmediately(3) }
        let (kind, _) = try setup.control.receive()
        guard kind == .go else { exitImmediately(3) }

        let allocatedBefore = counter.allocatedBytes
        let usageBefore = ResourceUsage.now(thread: thread)
        loop.run(&result)
        let usageAfter = ResourceUsage.now(thread: thread)
        let allocatedAfter = counter.allocatedBytes

        report.cpu = Int64(currentCPU())
        report.allocatedBytes = allocatedAfter &- allocatedBefore
        report.usage = usageAfter - usageBefore
        report.error = result.failure.message ?? ""
        report.startNs = result.startNs
        report.endNs = result.endNs
        report.bytes = result.bytes
        report.messages = result.messages
        report.datagrams = result.datagrams
        report.rejected &+= result.rejected
        report.roundTrips = loop.roundTrips()
        report.uncorrected = loop.uncorrectedRoundTrips()
        report.overshoots = loop.overshoots()
        report.paced = result.paced
        report.late = result.late
        if !counter.isAvailable { report.error = "jemalloc is not the allocator of this process" }
        // Close the endpoints while the loop's buffers still exist: a vmsplice pipe may still
        // reference the sender's pages until it is closed.
        endpoints.forEach { $0.close() }
        endpoints = []
        closeRing(ring)
        ring = nil
        withExtendedLifetime(loop) {}
    } catch {
        report.error = "\(error)"
    }
    _ = setup.control.send(.report, report.encoded())
}

/// A report on the control channel: the runner decodes what each worker encodes.
extension WorkerReport {
    package func encoded() -> [UInt8] {
        var w = ByteWriter()
        w.put(error)
        for counter in Self.counters { w.put(self[keyPath: counter]) }
        w.put(cpu)
        for pairs in [roundTrips, uncorrected, overshoots] {
            w.put(UInt64(pairs.count))
            for (value, count) in pairs {
                w.put(value)
                w.put(count)
            }
        }
        w.put(UInt64(knobsInForce.present.count))
        for knob in knobsInForce.present {
            w.put(UInt64(Knob.allCases.firstIndex(of: knob)!))
            w.put(Int64(knobsInForce[knob]!))
        }
        return w.bytes
    }


    package init(decoding bytes: [UInt8]) throws {
        self.init()
        var r = ByteReader(bytes)
        error = try r.string()
        for counter in Self.counters { self[keyPath: counter] = try r.uint64() }
        cpu = try r.int64()
        for list in [\WorkerReport.roundTrips, \.uncorrected, \.overshoots] {
            let pairs = Int(try r.uint64())
            self[keyPath: list].reserveCapacity(min(pairs, bytes.count / 16))
            for _ in 0..<pairs { self[keyPath: list].append((try r.uint64(), try r.uint64())) }
        }
        let knobs = try r.uint64()
        guard knobs <= UInt64(Knob.allCases.count) else { throw ControlChannel.Failure.malformed }
        for _ in 0..<knobs {
            let index = try r.uint64()
            guard index < UInt64(Knob.allCases.count) else { throw ControlChannel.Failure.malformed }
            knobsInForce[Knob.allCases[Int(index)]] = Int(try r.int64())
        }
        guard r.isAtEnd else { throw ControlChannel.Failure.malformed }
    }
}
