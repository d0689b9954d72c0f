import Foundation
import Glibc
import XCTest
@testable import IPCPlatform
@testable import IPCModel
@testable import IPCRun
@testable import IPCAnalysis
@testable import IPCLab

/// The one file reader and the system-call helpers every layer above uses.
final class PlatformTests: XCTestCase {
    var folder = ""

    override func setUpWithError() throws {
        var template = Array("/tmp/ipcbench-platform-XXXXXX".utf8CString)
        folder = try XCTUnwrap(template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }.map { String(cString: $0) })
    }

    override func tearDown() {
        for name in ["small", "big", "fifo"] { unlink(folder + "/" + name) }
        rmdir(folder)
    }

    func write(_ name: String, _ text: String) throws {
        let fd = open(folder + "/" + name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        XCTAssertEqual(text.utf8CString.withUnsafeBytes { writeFully(fd, $0.baseAddress!, $0.count - 1) }, text.utf8.count)
    }

    func testReadRegularFileReadsWholeFilesAndRefusesTheRestByName() throws {
        try write("small", "a = 1\n")
        XCTAssertEqual(try readRegularFile(folder + "/small", limit: 100, what: "a config file (.toml)"), "a = 1\n")
        XCTAssertNil(try readRegularFile(folder + "/missing", limit: 100, what: "a config file (.toml)"), "a missing file is nil")

        try write("big", String(repeating: "x", count: 101))
        XCTAssertThrowsError(try readRegularFile(folder + "/big", limit: 100, what: "a results file")) { error in
            XCTAssertTrue("\(error)".hasPrefix(self.folder + "/big: larger than"), "\(error)")
        }
        XCTAssertThrowsError(try readRegularFile(folder, limit: 100, what: "a config file (.toml)")) { error in
            XCTAssertEqual("\(error)", "\(self.folder): a directory, not a regular file; expected a config file (.toml)")
        }
        // A FIFO with no writer: refused at once, never waited on.
        XCTAssertEqual(mkfifo(folder + "/fifo", 0o600), 0)
        XCTAssertThrowsError(try readRegularFile(folder + "/fifo", limit: 100, what: "a results file")) { error in
            XCTAssertTrue("\(error)".contains("a FIFO, not a regular file"), "\(error)")
        }
    }

    func testAnInputErrorIsOneLine() {
        XCTAssertEqual(InputError("bad\nvalue\u{1B}[2J").message.contains("\n"), false)
        XCTAssertEqual(InputError("bad\nvalue\u{1B}[2J").message.contains("\u{1B}"), false)
    }

    func testProcValuesAreTheirFirstLineTrimmed() throws {
        try write("small", "  4096 \nsecond line\n")
        XCTAssertEqual(readProcValue(folder + "/small"), "4096")
        XCTAssertNil(readProcValue(folder + "/missing"))
        XCTAssertNotNil(readProcValue("/proc/sys/kernel/ostype"))
    }

    func testErrorsComeBackAsMinusErrnoAndChecksNameTheCall() {
        XCTAssertEqual(resultOrErrno { Int(close(-1)) }, -Int(EBADF))
        XCTAssertEqual(retryingInterrupts { Int(Glibc.read(-1, nil, 0)) }, -Int(EBADF))
        XCTAssertThrowsError(try check("close(-1)") { Int(close(-1)) }) { error in
            XCTAssertTrue("\(error)".contains("close(-1)"), "\(error)")
        }
    }

    func testFullReadsAndWritesCrossShortTransfersAndSeeTheEnd() throws {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0, &fds), 0)
        let (reader, writerEnd) = (fds[0], fds[1])
        defer { closeDescriptor(reader) }
        let sent = [UInt8]((0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        // More than a socket buffer holds: the writer needs the reader, so it runs on its own thread.
        let writer = Thread { _ = sent.withUnsafeBytes { writeFully(writerEnd, $0.baseAddress!, $0.count) }; closeDescriptor(writerEnd) }
        writer.start()
        var received = [UInt8](repeating: 0, count: 300_000)
        let n = received.withUnsafeMutableBytes { readFully(reader, $0.baseAddress!, $0.count) }
        XCTAssertEqual(n, sent.count, "readFully returns what came before the peer closed")
        XCTAssertEqual(Array(received[0..<n]), sent)
    }
}
