import XCTest
@testable import IPCPlatform
@testable import IPCModel
@testable import IPCRun
@testable import IPCAnalysis
@testable import IPCLab

/// Workers as threads of one process: every pattern on every transport that serves it, every byte
/// checked, nothing allocated in the loops, each thread's own CPU time.
final class WorkerThreadTests: TrialTestCase {
    func testEveryPatternRunsWithThreadsAsWorkers() throws {
        for kind in TransportKind.allCases {
            for pattern in PatternKind.allCases {
                let shape = CaseShape(payloadBytes: kind.isDatagram ? 64 : 1000, [.depth: 4, .receivers: 2, .pairs: 2, .publishers: 2,
                                                                                   .subscribers: 2, .topics: 3, .subscriptions: 2, .topology: 2])
                if skipReason(kind, pattern, shape) != nil { continue }
                let label = "\(kind.rawValue) \(pattern.rawValue)"
                let r = try trial(kind, pattern, shape, messages: 300, workers: .thread)
                XCTAssertEqual(r.workers.count, pattern.implementation.topology(shape).roles.count, label)
                XCTAssertEqual(r.workers.map(\.error), Array(repeating: "", count: r.workers.count), label)
                XCTAssertEqual(r.workers.map(\.allocatedBytes), Array(repeating: 0, count: r.workers.count), label)
                XCTAssertTrue(r.workers.contains { $0.messages > 0 }, label)
                if kind.semantics != .lossyMessages {
                    let received = r.workers.reduce(UInt64(0)) { $0 + $1.bytes }
                    XCTAssertGreaterThan(received, 0, label)
                }
            }
        }
    }

    /// RUSAGE_THREAD: a thread's CPU time is its own, not the process's sum.
    func testEachThreadCountsItsOwnCPUTime() throws {
        let r = try trial(.pipe, .latency, size: 64, messages: 20_000, workers: .thread)
        for report in r.workers {
            let cpu = report.usage.userMicroseconds + report.usage.systemMicroseconds
            XCTAssertGreaterThan(cpu, 0)
            XCTAssertGreaterThan(report.usage.voluntarySwitches, 0, "each waits for the other")
        }
    }
}
