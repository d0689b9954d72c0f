import Foundation
import Glibc
import XCTest
@testable import IPCPlatform

/// Descriptors.swift and Relay.swift: real files in a folder of the test's own (removed after), real
/// child processes (reaped), and each failure worded with the path and errno's text.
final class PlatformDescriptorTests: XCTestCase {
    var folder = ""

    override func setUpWithError() throws {
        folder = try makeTemporaryDirectory(NSTemporaryDirectory() + "ipcbench-descriptors-")
    }

    override func tearDownWithError() throws {
        try FileManager.default.removeItem(atPath: folder)
    }

    func write(_ name: String, _ text: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: folder + "/" + name))
    }

    func contents(_ name: String) -> String? {
        FileManager.default.contents(atPath: folder + "/" + name).map { String(decoding: $0, as: UTF8.self) }
    }

    func open(_ name: String, _ flags: Int32 = O_RDONLY) throws -> Int32 {
        try openFile(folder + "/" + name, flags)
    }

    // MARK: Descriptors.swift

    func testAFileErrorNamesTheOperationThePathAndErrnosText() {
        XCTAssertEqual("\(FileError("write", "/x/y", code: ENOSPC))", "write /x/y: No space left on device")
    }

    func testReadChunkReadsWhatIsThereAndMinusErrnoOnABadDescriptor() throws {
        try write("small", "hello")
        let fd = try open("small")
        defer { closeDescriptor(fd) }
        var buffer = [UInt8](repeating: 0, count: 16)
        XCTAssertEqual(buffer.withUnsafeMutableBytes { readOnce(fd, $0.baseAddress!, $0.count) }, 5)
        XCTAssertEqual(Array(buffer[0..<5]), Array("hello".utf8))
        XCTAssertEqual(buffer.withUnsafeMutableBytes { readOnce(fd, $0.baseAddress!, $0.count) }, 0, "the end")
        XCTAssertEqual(buffer.withUnsafeMutableBytes { readOnce(-1, $0.baseAddress!, $0.count) }, -Int(EBADF))
    }

    func testReadToEndReadsPastOneChunkStopsAboveTheLimitAndNamesThePathOfAFailedRead() throws {
        let text = String(repeating: "0123456789", count: 10_000)  // 100 kB: more than one 64 KiB read
        try write("big", text)
        var fd = try open("big")
        XCTAssertEqual(try readToEnd(fd, path: "big", limit: 100_000), Array(text.utf8))
        closeDescriptor(fd)
        fd = try open("big")
        XCTAssertNil(try readToEnd(fd, path: "big", limit: 99_999), "one byte more than the limit")
        closeDescriptor(fd)
        // read(2) on a folder fails: EISDIR.
        fd = try openFile(folder, O_RDONLY | O_DIRECTORY)
        defer { closeDescriptor(fd) }
        XCTAssertThrowsError(try readToEnd(fd, path: folder, limit: 100)) { error in
            XCTAssertEqual("\(error)", "read \(self.folder): Is a directory")
        }
    }

    func testReadBytesReadsAtAnOffsetFewerAtTheEndAndNoneWhereItCannot() throws {
        try write("small", "0123456789")
        let fd = try open("small")
        defer { closeDescriptor(fd) }
        XCTAssertEqual(readBytes(fd, at: 2, count: 3), Array("234".utf8))
        XCTAssertEqual(readBytes(fd, at: 8, count: 10), Array("89".utf8))
        XCTAssertEqual(readBytes(fd, at: 0, count: 1), Array("0".utf8), "pread leaves no position behind")
        XCTAssertEqual(readBytes(fd, at: 20, count: 4), [])
        XCTAssertEqual(readBytes(-1, at: 0, count: 4), [])
    }

    func testOpenRegularFileOpensARegularFileAndRefusesTheRestByName() throws {
        try write("small", "a,b\n")
        let fd = try XCTUnwrap(try openRegularFile(folder + "/small", limit: 100, what: "a results file (.csv)"))
        XCTAssertEqual(try readToEnd(fd, path: "small", limit: 100), Array("a,b\n".utf8))
        closeDescriptor(fd)
        XCTAssertNil(try openRegularFile(folder + "/missing", limit: 100, what: "a results file (.csv)"))
        XCTAssertThrowsError(try openRegularFile(folder + "/small", limit: 3, what: "a results file (.csv)")) { error in
            XCTAssertEqual("\(error)", "\(self.folder)/small: larger than 0 MiB, the most ipcbench reads for a results file (.csv)")
        }
        XCTAssertThrowsError(try openRegularFile(folder, limit: 100, what: "a results file (.csv)")) { error in
            XCTAssertEqual("\(error)", "\(self.folder): a directory, not a regular file; expected a results file (.csv)")
        }
        XCTAssertEqual(mkfifo(folder + "/fifo", 0o600), 0)
        XCTAssertThrowsError(try openRegularFile(folder + "/fifo", limit: 100, what: "a results file (.csv)")) { error in
            XCTAssertEqual("\(error)", "\(self.folder)/fifo: a FIFO, not a regular file; expected a results file (.csv)")
        }
        // A file where a folder should be: open fails with ENOTDIR, whoever runs the test.
        XCTAssertThrowsError(try openRegularFile(folder + "/small/x", limit: 100, what: "a results file (.csv)")) { error in
            XCTAssertEqual("\(error)", "\(self.folder)/small/x: cannot read the file: Not a directory")
        }
    }

    func testWriteFileWholeWritesReplacesAndLeavesNoTemporaryFile() throws {
        let path = folder + "/next"
        try writeFileWhole(path, "first\n")
        XCTAssertEqual(contents("next"), "first\n")
        try writeFileWhole(path, "second\n", permissions: 0o600, durably: true)
        XCTAssertEqual(contents("next"), "second\n")
        XCTAssertEqual(fileStatus(path)?.permissions, 0o600, "the new file, not the old one rewritten")
        try writeFileWhole(path, "")
        XCTAssertEqual(contents("next"), "")
        XCTAssertEqual(directoryNames(folder)?.sorted(), ["next"])
    }

    func testWriteFileWholeDoesNotWriteThroughALinkLeftAtItsTemporaryName() throws {
        try write("target", "untouched")
        XCTAssertEqual(symlink(folder + "/target", folder + "/next.new"), 0)
        try writeFileWhole(folder + "/next", "text", temporarySuffix: ".new")
        XCTAssertEqual(contents("target"), "untouched")
        XCTAssertEqual(contents("next"), "text")
        XCTAssertEqual(directoryNames(folder)?.sorted(), ["next", "target"])
    }

    func testAWholeFileThatCannotBeWrittenNamesTheFileAndLeavesNothing() throws {
        XCTAssertThrowsError(try writeFileWhole(folder + "/missing/next", "text")) { error in
            XCTAssertEqual(error as? FileError, FileError("open", self.folder + "/missing/next.tmp", code: ENOENT))
            XCTAssertEqual("\(error)", "open \(self.folder)/missing/next.tmp: No such file or directory")
        }
        // A folder where the file goes: written, then the rename fails, and the temporary file goes.
        XCTAssertEqual(mkdir(folder + "/next", 0o700), 0)
        XCTAssertThrowsError(try writeFileWhole(folder + "/next", "text", durably: true)) { error in
            XCTAssertEqual("\(error)", "rename \(self.folder)/next: Is a directory")
        }
        XCTAssertEqual(directoryNames(folder), ["next"])
        XCTAssertEqual(directoryNames(folder + "/next"), [])
    }

    func testAppendToFileMakesTheFileThenAppendsAndReturnsErrno() throws {
        XCTAssertEqual(appendToFile(folder + "/log", "one\n"), 0)
        XCTAssertEqual(appendToFile(folder + "/log", "two\n"), 0)
        XCTAssertEqual(appendToFile(folder + "/log", ""), 0)
        XCTAssertEqual(contents("log"), "one\ntwo\n")
        XCTAssertEqual(appendToFile(folder + "/missing/log", "x"), ENOENT)
        XCTAssertEqual(errorText(appendToFile(folder, "x")), "Is a directory")
    }

    func testSyncAndTruncateWorkOnAFileAndReturnErrnoOnABadDescriptor() throws {
        try write("file", "0123456789")
        let fd = try open("file", O_RDWR)
        defer { closeDescriptor(fd) }
        XCTAssertEqual(syncToDisk(fd), 0)
        XCTAssertEqual(truncateFile(fd, to: 4), 0)
        XCTAssertEqual(contents("file"), "0123")
        XCTAssertEqual(truncateFile(fd, to: 6), 0)
        XCTAssertEqual(contents("file"), "0123\0\0")
        XCTAssertEqual(syncToDisk(-1), EBADF)
        XCTAssertEqual(truncateFile(-1, to: 0), EBADF)
        let readOnly = try open("file")
        defer { closeDescriptor(readOnly) }
        XCTAssertEqual(truncateFile(readOnly, to: 0), EINVAL, "a descriptor not open for writing")
        XCTAssertEqual(contents("file"), "0123\0\0")
    }

    func testSyncDirectoryOpensTheFolderOfAPathAndLeavesAMissingOneAlone() throws {
        try write("file", "x")
        syncDirectory(of: folder + "/file")
        syncDirectory(of: folder + "/missing/file")
        XCTAssertEqual(directoryNames(folder), ["file"], "nothing made")
    }

    func testLockWholeFileLocksAndNamesTheProcessThatHoldsIt() throws {
        try XCTSkipUnless(canAccess("/usr/bin/python3", .execute), "python3 (to hold the lock from another process)")
        try write("lock", "")
        let pipe = try makePipe()
        // fcntl locks belong to a process: another one holds it (Python's lockf is fcntl F_SETLKW).
        let holder = spawnGroup(["python3", "-c", "import fcntl, sys, time; f = open(sys.argv[1], 'r+'); fcntl.lockf(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)",
                                 folder + "/lock"], output: pipe.write)
        closeDescriptor(pipe.write)
        XCTAssertGreaterThan(holder, 0)
        var ended: ExitStatus?
        defer {
            closeDescriptor(pipe.read)
            if ended == nil {
                signalGroup(holder, SIGKILL)
                reap(holder)
            }
        }
        // Its word that it holds the lock, which may come in more than one read.
        var answer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16)
        while !answer.contains(UInt8(ascii: "\n")) {
            let n = chunk.withUnsafeMutableBytes { readOnce(pipe.read, $0.baseAddress!, $0.count) }
            if n <= 0 { break }
            answer += chunk[0..<n]
        }
        XCTAssertEqual(String(decoding: answer, as: UTF8.self), "held\n")
        let fd = try open("lock", O_RDWR)
        defer { closeDescriptor(fd) }
        XCTAssertEqual(try lockWholeFile(fd), .heldBy(holder))
        signalGroup(holder, SIGKILL)
        ended = waitForExit(holder)
        XCTAssertEqual(ended, .killed(signal: SIGKILL))
        XCTAssertEqual(try lockWholeFile(fd), .locked, "the kernel released the lock of the process that died")
        XCTAssertEqual(try lockWholeFile(fd), .locked, "this process's own lock")
        XCTAssertThrowsError(try lockWholeFile(-1)) { error in
            XCTAssertEqual("\(error)", "fcntl(F_SETLK): Bad file descriptor")
        }
    }

    func testOpenClosedStandardDescriptorsOpensNothingWhenTheyAreOpen() throws {
        let before = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count
        XCTAssertTrue(openClosedStandardDescriptors())
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count, before)
    }

    // MARK: Relay.swift

    func testRunCollectingOutputKeepsTheFirstBytesAndSaysHowItEnded() throws {
        let r = try runCollectingOutput(["sh", "-c", "echo out; echo err >&2; exit 3"], limit: 100)
        XCTAssertEqual(r.ended, "exit status 3")
        XCTAssertEqual(String(decoding: r.output, as: UTF8.self), "out\nerr\n")
        // Read to its end (no SIGPIPE), its first bytes kept.
        let long = try runCollectingOutput(["head", "-c", "300000", "/dev/zero"], limit: 10)
        XCTAssertEqual(long.ended, "exit status 0")
        XCTAssertEqual(long.output, [UInt8](repeating: 0, count: 10))
        let killed = try runCollectingOutput(["sh", "-c", "kill -9 $$"], limit: 10)
        XCTAssertEqual(killed.ended, "killed by signal 9")
        XCTAssertEqual(try runCollectingOutput([folder + "/missing"], limit: 10).ended, "exit status 127", "exec failed in the child")
    }

    func testWaitPassingStopSaysHowTheChildEndedOrThatItIsNotOne() throws {
        let pid = spawnGroup(["sh", "-c", "exit 4"], output: 2)
        XCTAssertGreaterThan(pid, 0)
        XCTAssertEqual(waitPassingStop(pid), "exit status 4")
        XCTAssertEqual(waitPassingStop(pid), "not reaped", "reaped already")
        var stop = StopPassing(group: pid)
        stop.check()
        XCTAssertFalse(stop.passed, "no stop signal came")
    }

    func testRelayCopiesUntilTheWritersCloseAndStopsWhenCheckSaysSo() throws {
        let pipe = try makePipe()
        let text = Array("one\ntwo".utf8)
        XCTAssertEqual(text.withUnsafeBytes { writeFully(pipe.write, $0.baseAddress!, $0.count) }, text.count)
        let output = try open("out", O_WRONLY | O_CREAT)
        defer { closeDescriptor(output) }
        var checks = 0
        XCTAssertFalse(relay(from: pipe.read, to: output, intervalMs: 10, check: { checks += 1; return false }, received: { _ in XCTFail("nothing read") }))
        XCTAssertEqual(checks, 1)
        closeDescriptor(pipe.write)
        var seen: [UInt8] = []
        XCTAssertTrue(relay(from: pipe.read, to: output, intervalMs: 10, check: { true }, received: { seen += $0 }))
        closeDescriptor(pipe.read)
        XCTAssertEqual(seen, text)
        XCTAssertEqual(contents("out"), "one\ntwo")
    }

    func testAGroupWatcherJoinsTheGroupAndEndsWithSIGKILL() throws {
        let pid = spawnGroup(["sleep", "60"], output: 2)
        XCTAssertGreaterThan(pid, 0)
        defer {
            signalGroup(pid, SIGKILL)
            reap(pid)
        }
        let watcher = startGroupWatcher(pid)
        XCTAssertGreaterThan(watcher, 0)
        // /proc/PID/stat: "pid (comm) state ppid pgrp ..."; the watcher joins the group once it runs.
        func group() -> Int32? {
            guard let stat = readWholeFile("/proc/\(watcher)/stat"), let end = stat.range(of: ") ") else { return nil }
            let fields = stat[end.upperBound...].split(separator: " ")
            return fields.count > 2 ? Int32(fields[2]) : nil
        }
        for _ in 0..<250 where group() != pid { pause(microseconds: 20_000) }
        XCTAssertEqual(group(), pid, "in the guest's group")
        signalProcess(watcher, SIGKILL)
        XCTAssertEqual(waitForExit(watcher), .killed(signal: SIGKILL))
        XCTAssertTrue(processExists(pid), "the group lives on while this process does")
    }

    func testFindExecutableSearchesPathThenTheFoldersGiven() throws {
        XCTAssertNotNil(findExecutable("sh", defaultPath: "/bin"))
        XCTAssertNil(findExecutable("ipcbench-no-such-tool", defaultPath: "/bin"))
        try write("tool", "#!/bin/sh\n")
        XCTAssertNil(findExecutable("tool", defaultPath: "", alsoIn: [folder]), "not executable")
        XCTAssertEqual(chmod(folder + "/tool", 0o755), 0)
        XCTAssertEqual(findExecutable("tool", defaultPath: "", alsoIn: [folder]), folder + "/tool")
    }

    func testEffectiveUserIDIsTheKernelsWord() {
        XCTAssertEqual(effectiveUserID, geteuid())
        XCTAssertEqual(effectiveUserID == 0, isRoot)
    }
}
