import Foundation
import Glibc
import XCTest
@testable import IPCPlatform
@testable import IPCModel
@testable import IPCRun
@testable import IPCAnalysis
@testable import IPCLab

/// Real trials on the real kernel in a fresh run directory, every byte checked: what the transport
/// and pattern tests share. The directory is removed (and checked gone) after each test, and the
/// stranger sockets a test opened are closed.
class TrialTestCase: XCTestCase {
    var directory: RunDirectory!
    var strangers: [Int32] = []

    override func setUpWithError() throws {
        directory = try RunDirectory()
        signal(SIGPIPE, SIG_IGN)  // as the runner does: a write to a dead reader fails with EPIPE
    }

    override func tearDown() {
        strangers.forEach(closeDescriptor)
        strangers = []
        directory.remove()
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.path))
    }

    /// One trial of `pattern` over `kind` with `shape`, TCP_NODELAY where a run would set it.
    func trial(_ kind: TransportKind, _ pattern: PatternKind, _ shape: CaseShape, messages: Int, verify: Bool = true,
               timeoutNs: UInt64 = 30_000_000_000, workers: Workers = .process,
               beforeFork: (Transport) throws -> Void = { _ in }) throws -> TrialReports {
        let options = TransportOptions(noDelay: kind.takesNoDelay && pattern.sizing == .count, payloadBytes: shape.payloadBytes, verify: verify)
        return try runTrial(transport: kind, options: options, pattern: pattern, shape: shape,
                            work: LoopWork(payloadBytes: shape.payloadBytes, messages: messages, verify: verify, depth: shape.depth),
                            cpus: [], directory: directory.path, timeoutNs: timeoutNs, workers: workers, beforeFork: beforeFork)
    }

    /// One trial with a payload of `size` bytes (and `depth` requests outstanding).
    func trial(_ kind: TransportKind, _ pattern: PatternKind, size: Int, messages: Int, depth: Int = 1, verify: Bool = true,
               timeoutNs: UInt64 = 30_000_000_000, workers: Workers = .process,
               beforeFork: (Transport) throws -> Void = { _ in }) throws -> TrialReports {
        try trial(kind, pattern, CaseShape(payloadBytes: size, depth: depth), messages: messages, verify: verify,
                  timeoutNs: timeoutNs, workers: workers, beforeFork: beforeFork)
    }
}
