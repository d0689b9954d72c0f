import Foundation
import Glibc
import XCTest
import IPCBench

/// Reproducers of the fourth hardening round (issue 25) for the runner and the results files.
final class HardeningFourTests: XCTestCase {
    var h: Harness!

    override func setUpWithError() throws { h = try Harness() }
    override func tearDownWithError() throws { try h.finishChecks() }

    func path(_ name: String) -> String { h.work.appendingPathComponent(name).path }

    /// The binary run by bash after `redirections`, such as `>&-` (stdout closed).
    func runWith(_ redirections: String, _ arguments: [String]) throws -> Harness.Outcome {
        h.finish(try h.start(["-c", "exec \"$0\" \"$@\" \(redirections)", Harness.binary] + arguments, executable: "/bin/bash"))
    }

    /// F9: with stdout closed, the trials file took descriptor 1 and the run table went into it.
    func testClosedStandardDescriptorsDoNotCatchTheTable() throws {
        let output = path("x.csv")
        let outcome = try runWith(">&- <&-", ["run", "-t", "pipe", "-p", "throughput", "-s", "64", "--total", "8K", "-r", "2",
                                             "--warmup", "0", "--cpus", "none", "-o", output])
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        let check = try h.run(["check", output])
        XCTAssertEqual(check.status, 0, check.stderr)
        XCTAssertEqual(try h.readCSV(path("x-trials.csv")).count, 3)
    }
}
