import Foundation
import XCTest
@testable import IPCPlatform
@testable import IPCModel
@testable import IPCRun
@testable import IPCAnalysis
@testable import IPCLab

/// Run directories of runners that are gone are removed by the next run; nothing else is.
final class RunDirectoryTests: XCTestCase {
    var base: URL!

    override func setUpWithError() throws {
        base = FileManager.default.temporaryDirectory.appendingPathComponent("ipcbench-rundir-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: base) }

    /// A pid no process can have: pids are below /proc/sys/kernel/pid_max.
    static func deadPID() throws -> Int32 {
        let text = try String(contentsOfFile: "/proc/sys/kernel/pid_max", encoding: .utf8)
        return try XCTUnwrap(Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    func makeDirectory(_ name: String, mode: Int = 0o700, withFIFO: Bool = false) throws -> String {
        let path = base.appendingPathComponent(name).path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false,
                                                attributes: [.posixPermissions: mode])
        if withFIFO { XCTAssertEqual(mkfifo(path + "/a-to-b", 0o600), 0) }
        return path
    }

    func testOnlyDirectoriesOfGoneRunnersAreRemoved() throws {
        let dead = try Self.deadPID()
        let live = getpid()
        let stale = try makeDirectory("ipcbench-\(dead)-aB3xYz", withFIFO: true)
        let staleEmpty = try makeDirectory("ipcbench-\(dead)-000000")
        let keep = [
            try makeDirectory("ipcbench-\(live)-aB3xYz", withFIFO: true),  // its runner still runs
            try makeDirectory("ipcbench-\(dead)-aB3xY"),                  // not six characters
            try makeDirectory("ipcbench-aB3xYz"),                          // the old form: no pid
            try makeDirectory("ipcbench-x\(dead)-aB3xYz"),                 // not a pid
            try makeDirectory("ipcbench-\(dead)-aB3xYz-more"),
            try makeDirectory("other-\(dead)-aB3xYz"),
            try makeDirectory("ipcbench-\(dead)-abcdeg", mode: 0o755),     // not a private directory
        ]
        // Another user's: only root can make one, so elsewhere the case is left out.
        let foreign = try makeDirectory("ipcbench-\(dead)-foreig")
        let otherUser = chown(foreign, 65534, 65534) == 0
        if !otherUser { try FileManager.default.removeItem(atPath: foreign) }
        let file = base.appendingPathComponent("ipcbench-\(dead)-abcdef").path
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data("x".utf8)))
        let link = base.appendingPathComponent("ipcbench-\(dead)-abcdex").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: keep[1])

        let removed = RunDirectory.removeStale(in: base.path)
        XCTAssertEqual(Set(removed), [stale, staleEmpty])
        for path in [stale, staleEmpty] { XCTAssertFalse(FileManager.default.fileExists(atPath: path), path) }
        for path in keep + [file] + (otherUser ? [foreign] : []) { XCTAssertTrue(FileManager.default.fileExists(atPath: path), path) }
        XCTAssertNotNil(try? FileManager.default.destinationOfSymbolicLink(atPath: link))
        XCTAssertTrue(FileManager.default.fileExists(atPath: keep[0] + "/a-to-b"), "a live run keeps its FIFO")
    }

    func testNameCarriesThePidAndItsRunnerIsNotStale() throws {
        let directory = try RunDirectory()
        defer { directory.remove() }
        let name = URL(fileURLWithPath: directory.path).lastPathComponent
        XCTAssertEqual(RunDirectory.runnerPID(name), getpid(), name)
        XCTAssertTrue(name.hasPrefix("ipcbench-\(getpid())-"), name)
        let parent = URL(fileURLWithPath: directory.path).deletingLastPathComponent().path
        XCTAssertFalse(RunDirectory.removeStale(in: parent).contains(directory.path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory.path))
    }

    func testRunnerPIDParsing() {
        XCTAssertEqual(RunDirectory.runnerPID("ipcbench-123-abcDE9"), 123)
        for name in ["ipcbench-0-abcdef", "ipcbench--abcdef", "ipcbench-99999999999999-abcdef", "ipcbench-12-abc.ef",
                     "ipcbench-１２-abcdef", "ipcbench-12-abcdefg", ".", ".."] {
            XCTAssertNil(RunDirectory.runnerPID(name), name)
        }
    }
}
