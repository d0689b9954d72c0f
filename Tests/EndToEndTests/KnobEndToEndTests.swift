import Foundation
import XCTest
import IPCPlatform
import IPCModel
import IPCRun
import IPCAnalysis
import IPCLab

/// Knobs from the command line and from a config: the value in force in the options column, and a
/// knob for a transport that does not take it refused before anything runs.
final class KnobEndToEndTests: XCTestCase {
    var h: Harness!

    override func setUpWithError() throws { h = try Harness() }
    override func tearDownWithError() throws { try h.finishChecks() }

    func testPipeSizeInForceIsRecorded() throws {
        let output = h.work.appendingPathComponent("big.csv").path
        let outcome = try h.run(["run", "-t", "pipe,fifo", "-p", "throughput", "-s", "4KiB", "--total", "256KiB",
                                 "--pipe-size", "1MiB", "-r", "1", "--warmup", "0", "--cpus", "none", "--verify", "-o", output])
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        let rows = try h.readCSV(output).dropFirst()
        XCTAssertEqual(rows.map { column("options", $0) }, ["pipe_size=1048576", "pipe_size=1048576"])
        let trials = try h.readCSV(output.replacingOccurrences(of: ".csv", with: "-trials.csv")).dropFirst()
        XCTAssertTrue(trials.allSatisfy { $0[trialColumns.firstIndex(of: "options")!] == "pipe_size=1048576" })
    }

    func testSocketBufferAndNagleFromAConfig() throws {
        let config = h.work.appendingPathComponent("knobs.toml")
        try """
        [defaults]
        repetitions = 1
        warmup = 0
        cpus = "none"
        count = 100

        [[suite]]
        pattern = "latency"
        transports = ["tcp"]
        sizes = [64]
        sndbuf = "64KiB"
        nodelay = false
        """.write(to: config, atomically: true, encoding: .utf8)
        let outcome = try h.run(["run", config.path, "-o", "-", "-q"])
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        let row = parseCSV(outcome.stdout)[1]
        // Linux doubles SO_SNDBUF for its bookkeeping: the column says what is in force.
        XCTAssertEqual(column("options", row), "sndbuf=131072")
    }

    func testKnobForAnotherTransportIsRefused() throws {
        let output = h.work.appendingPathComponent("never.csv").path
        let flag = try h.run(["run", "-t", "pipe,tcp", "-p", "latency", "-s", "64", "--pipe-size", "1MiB", "-o", output])
        XCTAssertEqual(flag.status, 2)
        XCTAssertEqual(flag.stderr, "ipcbench: error: pipe_size does not apply to tcp (only to pipe, fifo, vmsplice); set it in a suite whose transports take it\n")
        let nagle = try h.run(["run", "-t", "udp", "-p", "latency", "-s", "64", "--nodelay", "off", "-o", output])
        XCTAssertEqual(nagle.stderr, "ipcbench: error: nodelay does not apply to udp (only to tcp, tcp6); set it in a suite whose transports take it\n")
        let big = try h.run(["run", "-t", "pipe", "--pipe-size", "2GiB", "-o", output])
        XCTAssertEqual(big.stderr, "ipcbench: error: --pipe-size '2GiB' is more than 1GiB, the largest buffer ipcbench asks for; use 1GiB or less\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: output))
    }
}
