import Glibc
import XCTest
@testable import IPCPlatform

/// The platform's helpers for workers (threads, forks, process groups, signals), for what a process
/// may use (limits, CPU time, random bytes, the file-size signal), for the runner's descriptors and
/// for io_uring rings: each on real threads, processes, limits and descriptors, failures included.
/// What would change the test process itself (a pinned CPU, a lower limit, a signal's action) is
/// done on a thread of its own or in a child process.
final class PlatformThreadTests: XCTestCase {
    /// Runs `body` in a forked child, which exits with what it returns; how the child ended.
    func inChild(_ body: () -> Int32) throws -> ExitStatus? {
        let pid = try forkProcess()
        if pid == 0 { exitImmediately(body()) }
        return waitForExit(pid)
    }

    /// A pipe for a test, both ends closed at the end.
    func pipeForTest() throws -> (read: Int32, write: Int32) {
        let fds = try makePipe()
        addTeardownBlock { closeDescriptor(fds.read); closeDescriptor(fds.write) }
        return fds
    }

    // MARK: Threads.swift

    func testAThreadRunsItsBodyAndJoinWaitsForIt() throws {
        final class Box { var ranOn: pthread_t = 0 }
        let box = Box()
        let testThread = pthread_self()
        let thread = try startThread { box.ranOn = pthread_self() }
        joinThread(thread)
        XCTAssertNotEqual(box.ranOn, 0, "the body ran before join returned")
        XCTAssertNotEqual(box.ranOn, testThread, "on a thread of its own")
    }

    func testAThreadWithItsOwnDescriptorTableClosesNothingOfTheOthers() throws {
        let fds = try pipeForTest()
        var failure: Error?
        let thread = try startThread {
            do {
                try takeOwnDescriptorTable()
                closeDescriptor(fds.read)  // in its own table only
            } catch { failure = error }
        }
        joinThread(thread)
        XCTAssertNil(failure)
        XCTAssertEqual(try fileStatus(descriptor: fds.read).kind, .fifo, "still open for the test's thread")
        // Without a table of its own, a thread's close is everyone's.
        let shared = try makePipe()
        defer { closeDescriptor(shared.write) }
        joinThread(try startThread { closeDescriptor(shared.read) })
        XCTAssertThrowsError(try fileStatus(descriptor: shared.read)) { error in
            XCTAssertEqual(error as? SystemCallError, SystemCallError("fstat", code: EBADF))
        }
    }

    func testPinningPutsAThreadOnThatCPUAndANoSuchCPUIsNamed() throws {
        let cpu = try XCTUnwrap(allowedCPUs().last)
        var pinned: Error?, ranOn = -2, refused: Error?
        // A thread of its own, so that the test process is not pinned.
        let thread = try startThread {
            do { try pinToCPU(cpu); ranOn = currentCPU() } catch { pinned = error }
            do { try pinToCPU(100_000) } catch { refused = error }
        }
        joinThread(thread)
        XCTAssertNil(pinned)
        XCTAssertEqual(ranOn, cpu)
        XCTAssertEqual(refused as? SystemCallError, SystemCallError("sched_setaffinity(CPU 100000)", code: EINVAL))
        XCTAssertTrue((0..<configuredCPUCount).contains(currentCPU()))
    }

    func testAForkedChildEndsAtOnceWithItsStatus() throws {
        XCTAssertEqual(try inChild { 7 }, .exited(7))
        // No exit handler runs in it: standard output's buffer, filled here, is not written.
        let out = try makePipe()
        defer { closeDescriptor(out.read) }
        let ended = try inChild {
            guard dup2(out.write, 1) == 1 else { return 1 }
            fputs("buffered, never flushed", standardOutput)
            return 0
        }
        XCTAssertEqual(ended, .exited(0))
        closeDescriptor(out.write)
        var byte: UInt8 = 0
        XCTAssertEqual(readOnce(out.read, &byte, 1), 0, "nothing was written before the end")
    }

    func testProcessGroupsAreSetAndAStrangersIsNot() throws {
        let ready = try pipeForTest()
        let pid = try forkProcess()
        if pid == 0 {
            setProcessGroup(0, to: 0)
            var byte: UInt8 = 1
            _ = writeFully(ready.write, &byte, 1)
            pause(microseconds: 30_000_000)  // until the group is killed
            exitImmediately(0)
        }
        XCTAssertTrue(setProcessGroup(pid, to: pid))  // the same as the child's own: whichever runs first
        var byte: UInt8 = 0
        XCTAssertEqual(readOnce(ready.read, &byte, 1), 1)
        XCTAssertEqual(getpgid(pid), pid, "the child leads a group of its own")
        XCTAssertTrue(signalGroup(pid, SIGKILL))
        XCTAssertEqual(waitForExit(pid), .killed(signal: SIGKILL))
        XCTAssertFalse(setProcessGroup(1, to: 1), "init is no child of the test")
    }

    func testADefaultActionAgainLetsTheSignalEndTheProcess() throws {
        XCTAssertEqual(try inChild {
            _ = signal(SIGUSR1, SIG_IGN)
            _ = raise(SIGUSR1)
            return 0
        }, .exited(0), "ignored, it changes nothing")
        XCTAssertEqual(try inChild {
            _ = signal(SIGUSR1, SIG_IGN)
            restoreDefaultAction(SIGUSR1)
            _ = raise(SIGUSR1)
            return 0
        }, .killed(signal: SIGUSR1))
        XCTAssertEqual(signalName(SIGKILL), "Killed")
    }

    /// A child that dies with its parent is killed (SIGKILL) when the thread that forked it ends; the
    /// test forks it from a thread of its own, so that the test process can still reap it.
    func testAChildThatDiesWithItsParentIsKilledWhenTheThreadThatForkedItEnds() throws {
        func childEnds(dyingWithParent: Bool) throws -> ExitStatus? {
            let ready = try pipeForTest()
            var child: pid_t = -1
            var failure: Error?
            let parent = try startThread {
                do {
                    child = try forkProcess()
                    if child == 0 {
                        if dyingWithParent && !dieWithParent() { exitImmediately(12) }
                        var byte: UInt8 = 1
                        _ = writeFully(ready.write, &byte, 1)
                        pause(microseconds: 200_000)  // outlives the thread unless killed with it
                        exitImmediately(0)
                    }
                    var byte: UInt8 = 0
                    _ = readOnce(ready.read, &byte, 1)  // the child has set what it sets
                } catch { failure = error }
            }
            joinThread(parent)
            XCTAssertNil(failure)
            return waitForExit(child)
        }
        XCTAssertEqual(try childEnds(dyingWithParent: true), .killed(signal: SIGKILL))
        XCTAssertEqual(try childEnds(dyingWithParent: false), .exited(0), "without it, it outlives the thread")
    }

    // MARK: Resources.swift

    func testTheDescriptorLimitIsReadAndRaisedToTheHardLimit() throws {
        let limit = try XCTUnwrap(descriptorLimit())
        var raw = rlimit()
        XCTAssertEqual(getrlimit(Int32(RLIMIT_NOFILE.rawValue), &raw), 0)
        XCTAssertEqual(limit.soft, UInt64(raw.rlim_cur))
        XCTAssertEqual(limit.hard, UInt64(raw.rlim_max))
        // In a child: lowered, then raised again to the hard limit.
        XCTAssertEqual(try inChild {
            var lowered = rlimit(rlim_cur: 64, rlim_max: raw.rlim_max)
            guard setrlimit(Int32(RLIMIT_NOFILE.rawValue), &lowered) == 0, descriptorLimit()?.soft == 64 else { return 1 }
            raiseDescriptorLimit()
            return descriptorLimit()?.soft == UInt64(raw.rlim_max) ? 0 : 2
        }, .exited(0))
    }

    func testAThreadsUsageIsItsOwnAndTheProcessesIsTheSum() throws {
        var thread = rusage()
        let worker = try startThread {
            for _ in 0..<3 { pause(microseconds: 1000) }  // each sleep is a voluntary switch
            thread = resourceUsage(threadOnly: true)
        }
        joinThread(worker)
        let process = resourceUsage(threadOnly: false)
        XCTAssertGreaterThanOrEqual(thread.ru_nvcsw, 3)
        XCTAssertGreaterThan(process.ru_nvcsw, thread.ru_nvcsw, "the process counts every thread's")
        let microseconds = { (u: rusage) in u.ru_utime.tv_sec * 1_000_000 + u.ru_utime.tv_usec + u.ru_stime.tv_sec * 1_000_000 + u.ru_stime.tv_usec }
        XCTAssertLessThanOrEqual(microseconds(thread), microseconds(process))
    }

    func testRandomBytesFillTheBufferAndDifferEachTime() throws {
        var a = [UInt8](repeating: 0, count: 32), b = a
        try a.withUnsafeMutableBytes { try fillWithRandomBytes($0) }
        try b.withUnsafeMutableBytes { try fillWithRandomBytes($0) }
        XCTAssertNotEqual(a, [UInt8](repeating: 0, count: 32))
        XCTAssertNotEqual(a, b)
        var none: [UInt8] = []
        try none.withUnsafeMutableBytes { try fillWithRandomBytes($0) }  // nothing to fill is no error
        XCTAssertThrowsError(try fillWithRandomBytes(UnsafeMutableRawBufferPointer(start: UnsafeMutableRawPointer(bitPattern: 8), count: 8))) { error in
            XCTAssertEqual(error as? SystemCallError, SystemCallError("getrandom", code: EFAULT))
        }
    }

    /// Past RLIMIT_FSIZE a write fails with EFBIG once the signal is ignored; without, SIGXFSZ kills.
    func testAWritePastTheFileSizeLimitFailsInsteadOfKilling() throws {
        var template = Array("/tmp/ipcbench-fsize-XXXXXX".utf8CString)
        let folder = try XCTUnwrap(template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }.map { String(cString: $0) })
        defer { removeFile(folder + "/file"); removeDirectory(folder) }
        func writePastLimit(ignoring: Bool) throws -> ExitStatus? {
            try inChild {
                removeFile(folder + "/file")
                var limit = rlimit(rlim_cur: 10, rlim_max: 10)
                guard setrlimit(Int32(RLIMIT_FSIZE.rawValue), &limit) == 0,
                      let fd = try? openFile(folder + "/file", O_WRONLY | O_CREAT) else { return 1 }
                if ignoring { ignoreFileSizeSignal() }
                let bytes = [UInt8](repeating: 120, count: 100)
                return writeFully(fd, bytes, bytes.count) == -Int(EFBIG) ? 0 : 2
            }
        }
        XCTAssertEqual(try writePastLimit(ignoring: true), .exited(0))
        XCTAssertEqual(fileStatus(folder + "/file")?.size, 10)
        XCTAssertEqual(try writePastLimit(ignoring: false), .killed(signal: SIGXFSZ))
    }

    func testTheHypervisorIsWhatTheCPUFlagsSay() throws {
        #if arch(x86_64)
        let flags = try XCTUnwrap(readWholeFile("/proc/cpuinfo")).split(separator: "\n").first { $0.hasPrefix("flags") }
        let flagged = try XCTUnwrap(flags).split(separator: " ").contains("hypervisor")
        let hypervisor = try XCTUnwrap(cpuHypervisor(), "x86 has CPUID")
        XCTAssertEqual(hypervisor != .absent, flagged)
        #else
        XCTAssertNil(cpuHypervisor())
        #endif
    }

    // MARK: ResultsDescriptors.swift

    func testACutFileLosesWhatCameAfterAndIsWrittenOnFromThere() throws {
        var template = Array("/tmp/ipcbench-cut-XXXXXX".utf8CString)
        let folder = try XCTUnwrap(template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }.map { String(cString: $0) })
        defer { removeFile(folder + "/file"); removeDirectory(folder) }
        let fd = try openFile(folder + "/file", O_WRONLY | O_CREAT | O_EXCL)
        defer { closeDescriptor(fd) }
        XCTAssertEqual(writeFully(fd, "abcdef", 6), 6)
        truncateFile(fd, to: 3)
        XCTAssertEqual(writeFully(fd, "X", 1), 1)
        XCTAssertEqual(readWholeFile(folder + "/file"), "abcX")
    }

    func testReadAvailableTakesWhatHasComeThenTheEnd() throws {
        let fds = try makePipe()
        defer { closeDescriptor(fds.read) }
        XCTAssertEqual(writeFully(fds.write, "abc", 3), 3)
        var buffer = [UInt8](repeating: 0, count: 10)
        XCTAssertEqual(buffer.withUnsafeMutableBytes { readOnce(fds.read, $0.baseAddress!, 10) }, 3)
        XCTAssertEqual(Array(buffer[0..<3]), Array("abc".utf8))
        XCTAssertEqual(buffer.withUnsafeMutableBytes { readOnce(fds.write, $0.baseAddress!, 10) }, -Int(EBADF), "the write end")
        closeDescriptor(fds.write)
        XCTAssertEqual(buffer.withUnsafeMutableBytes { readOnce(fds.read, $0.baseAddress!, 10) }, 0, "the end")
    }

    func testFirstWithInputSaysWhichHasInputOrThatTheTimeRanOut() throws {
        let first = try pipeForTest(), second = try pipeForTest()
        XCTAssertNil(try firstWithInput([first.read, second.read], timeoutMilliseconds: 0, what: "test"))
        XCTAssertEqual(writeFully(second.write, "x", 1), 1)
        XCTAssertEqual(try firstWithInput([first.read, second.read], timeoutMilliseconds: -1, what: "test"), 1)
        // More descriptors than this process may have open: poll refuses, named.
        let soft = try XCTUnwrap(descriptorLimit()).soft
        try XCTSkipIf(soft > 1 << 22, "RLIMIT_NOFILE is too large to pass")
        let tooMany = [Int32](repeating: -1, count: Int(soft) + 1)
        XCTAssertThrowsError(try firstWithInput(tooMany, timeoutMilliseconds: 0, what: "test")) { error in
            XCTAssertEqual(error as? SystemCallError, SystemCallError("poll(test)", code: EINVAL))
        }
    }

    func testASocketPairIsConnectedAndClosedOnExec() throws {
        let (a, b) = try makeSocketPair(type: Int32(SOCK_STREAM.rawValue))
        defer { closeDescriptor(a); closeDescriptor(b) }
        XCTAssertEqual(writeFully(a, "hello", 5), 5)
        var buffer = [UInt8](repeating: 0, count: 5)
        XCTAssertEqual(buffer.withUnsafeMutableBytes { readFully(b, $0.baseAddress!, 5) }, 5)
        XCTAssertEqual(String(decoding: buffer, as: UTF8.self), "hello")
        for fd in [a, b] { XCTAssertEqual(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC) }
        XCTAssertEqual(try fileStatus(descriptor: a).kind, .socket)
        XCTAssertThrowsError(try makeSocketPair(type: 12345)) { error in
            XCTAssertEqual((error as? SystemCallError)?.call, "socketpair")
        }
    }

    // MARK: Ring.swift

    func testARingOpensRegistersAndClosesAndAnEmptyOneIsRefused() throws {
        let ring: UnsafeMutableRawPointer
        do { ring = try openRing(entries: 8) } catch let failure as SystemCallError where [ENOSYS, EPERM].contains(failure.code) {
            throw XCTSkip("this kernel refuses io_uring: \(failure)")
        }
        defer { closeRing(ring) }
        XCTAssertEqual(registerRingBuffers(ring), -ENOENT, "nothing collected")
        collectRingBuffers(ring)
        XCTAssertEqual(registerRingBuffers(ring), -ENOENT, "collected, but no loop made a buffer")
        closeRing(nil)  // nothing to close
        XCTAssertThrowsError(try openRing(entries: 0)) { error in
            XCTAssertEqual(error as? SystemCallError, SystemCallError("io_uring_queue_init", code: EINVAL))
        }
    }
}
