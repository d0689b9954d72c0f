import Foundation
import XCTest
import IPCPlatform
import IPCModel
import IPCRun
import IPCAnalysis
import IPCLab

/// `--workers thread` and the config's `workers` through the binary: the same cases, recorded as
/// threads, every byte checked.
final class WorkersEndToEndTests: XCTestCase {
    var h: Harness!

    override func setUpWithError() throws { h = try Harness() }
    override func tearDownWithError() throws { try h.finishChecks() }

    func testThreadsRunAndAreRecorded() throws {
        let config = h.work.appendingPathComponent("workers.toml")
        try """
        [defaults]
        transports = ["pipe", "unix-stream", "tcp"]
        sizes = [64]
        count = 200
        total = "64KiB"
        repetitions = 2
        warmup = 0
        min_trial_time = "0s"

        [[suite]]
        name = "process"
        pattern = "latency"

        [[suite]]
        name = "thread"
        pattern = "latency"
        workers = "thread"
        """.write(to: config, atomically: true, encoding: .utf8)
        let output = h.work.appendingPathComponent("workers.csv").path
        let outcome = try h.run(["run", config.path, "--verify", "-q", "-o", output])
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        let rows = try h.readCSV(output).dropFirst()
        XCTAssertEqual(rows.map { column("workers", $0) }, Array(repeating: "process", count: 3) + Array(repeating: "thread", count: 3))
        XCTAssertEqual(rows.map { column("options", $0) }, ["", "", "nodelay", "threads", "threads", "threads nodelay"])
        XCTAssertTrue(rows.allSatisfy { column("status", $0) == "ok" && column("alloc_bytes_in_loop", $0) == "0" }, "\(rows)")

        let flag = h.work.appendingPathComponent("flag.csv").path
        let threads = try h.run(["run", "-t", "pipe", "-p", "throughput,duplex", "-s", "4KiB", "--total", "64KiB", "-r", "1",
                                 "--warmup", "0", "--workers", "thread", "--verify", "-q", "-o", flag])
        XCTAssertEqual(threads.status, 0, threads.stderr)
        XCTAssertTrue(try h.readCSV(flag).dropFirst().allSatisfy { column("workers", $0) == "thread" && column("status", $0) == "ok" })
        let bad = try h.run(["run", "--workers", "fibers", "-o", h.work.appendingPathComponent("bad.csv").path])
        XCTAssertEqual(bad.status, 2)
        XCTAssertEqual(bad.stderr, "ipcbench: error: --workers 'fibers': expected \"process\" or \"thread\"\n")
    }
}
