import Foundation
import XCTest
import IPCPlatform
import IPCModel
import IPCRun
import IPCAnalysis
import IPCLab

/// The run's schedule (interleaved rounds, sequential), its seed, and how a run ends when its
/// output cannot be written or made.
final class ScheduleTests: XCTestCase {
    var h: Harness!

    override func setUpWithError() throws { h = try Harness() }
    override func tearDownWithError() throws { try h.finishChecks() }

    func trialsColumn(_ name: String, _ row: [String]) -> String { row[trialColumns.firstIndex(of: name)!] }

    func testInterleavedRoundsFollowTheSeed() throws {
        let output = h.work.appendingPathComponent("rounds.csv").path
        let outcome = try h.run(["run", "-t", "pipe,unix-stream", "-p", "latency", "-s", "64,128", "--count", "200",
                                 "-r", "3", "--warmup", "1", "--min-trial-time", "0s", "--cpus", "none",
                                 "--seed", "12345", "-o", output])
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        let rows = try h.readCSV(output).dropFirst()
        XCTAssertEqual(rows.map { column("status", $0) }, ["ok", "ok", "ok", "ok"])
        XCTAssertTrue(rows.allSatisfy { column("schedule", $0) == "interleaved" && column("seed", $0) == "12345" })
        // Plan order: transports, then sizes. Each round runs every case once, in the seed's order.
        let plan = ["pipe 64", "pipe 128", "unix-stream 64", "unix-stream 128"]
        var generator = SeededGenerator(seed: 12345)
        var expected: [String] = []
        for round in 1...3 {
            var order = Array(plan.indices)
            generator.shuffle(&order)
            expected += order.map { "\(plan[$0]) round \(round)" }
        }
        let trials = try h.readCSV(output.replacingOccurrences(of: ".csv", with: "-trials.csv")).dropFirst()
        XCTAssertEqual(trials.map { "\(trialsColumn("transport", $0)) \(trialsColumn("payload_bytes", $0)) round \(trialsColumn("round", $0))" },
                       expected)
        let starts = trials.map { UInt64(trialsColumn("start_ns", $0)) ?? 0 }
        XCTAssertEqual(starts, starts.sorted(), "trials are written as they end, in the order they ran")
        XCTAssertGreaterThan(starts.first ?? 0, 0, "the calibration trials ran first")
    }

    func testInterruptedRoundsKeepEveryTrial() throws {
        let output = h.work.appendingPathComponent("cut.csv").path
        let trialsPath = output.replacingOccurrences(of: ".csv", with: "-trials.csv")
        let p = try h.start(["run", "-t", "pipe,fifo", "-p", "latency", "-s", "64,128", "--count", "2000", "-r", "200",
                             "--warmup", "1", "--min-trial-time", "0s", "--cpus", "none", "-o", output])
        for _ in 0..<800 where ((try? h.readCSV(trialsPath))?.count ?? 0) < 10 { usleep(25_000) }
        kill(p.0.processIdentifier, SIGINT)
        let outcome = h.finish(p)
        XCTAssertEqual(outcome.status, 130, outcome.stderr)
        let rows = try h.readCSV(output).dropFirst()
        let trials = try h.readCSV(trialsPath).dropFirst()
        XCTAssertGreaterThanOrEqual(trials.count, 9)
        XCTAssertEqual(rows.count, 4, "every case has a row")
        for row in rows {
            let name = "\(column("transport", row)) \(column("payload_bytes", row))"
            let got = trials.filter { trialsColumn("transport", $0) == column("transport", row)
                && trialsColumn("payload_bytes", $0) == column("payload_bytes", row) }.count
            XCTAssertEqual(column("status", row), "stopped", name)
            XCTAssertEqual(column("error", row), "stopped after \(got) of 200 measured trials", name)
            XCTAssertFalse(column("rtt_us_p50", row).isEmpty, "\(name) sums up the trials it got")
        }
    }

    func testSequentialRunsEachCaseToTheEnd() throws {
        let output = h.work.appendingPathComponent("sequential.csv").path
        let outcome = try h.run(["run", "-t", "pipe,fifo", "-p", "latency", "-s", "64", "--count", "100", "-r", "2",
                                 "--warmup", "0", "--cpus", "none", "--schedule", "sequential", "-o", output])
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        XCTAssertTrue(try h.readCSV(output).dropFirst().allSatisfy { column("schedule", $0) == "sequential" })
        let trials = try h.readCSV(output.replacingOccurrences(of: ".csv", with: "-trials.csv")).dropFirst()
        XCTAssertEqual(trials.map { "\(trialsColumn("transport", $0)) \(trialsColumn("trial", $0)) [\(trialsColumn("round", $0))]" },
                       ["pipe 1 []", "pipe 2 []", "fifo 1 []", "fifo 2 []"])
    }

    func testScheduleAndSeedFromTheConfig() throws {
        let config = h.work.appendingPathComponent("seeded.toml")
        try """
        [defaults]
        schedule = "sequential"
        seed = 9
        repetitions = 1
        warmup = 0
        cpus = "none"

        [[suite]]
        pattern = "latency"
        transports = ["pipe"]
        sizes = [64]
        count = 50
        """.write(to: config, atomically: true, encoding: .utf8)
        let output = h.work.appendingPathComponent("seeded.csv").path
        let outcome = try h.run(["run", config.path, "-o", output])
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        let row = try h.readCSV(output)[1]
        XCTAssertEqual([column("schedule", row), column("seed", row)], ["sequential", "9"])

        try String(contentsOf: config, encoding: .utf8).replacingOccurrences(of: "\"sequential\"", with: "\"random\"")
            .write(to: config, atomically: true, encoding: .utf8)
        let bad = try h.run(["run", config.path, "-o", h.work.appendingPathComponent("never.csv").path])
        XCTAssertEqual(bad.status, 2)
        XCTAssertEqual(bad.stderr, "ipcbench: error: \(config.path):2: schedule 'random': expected interleaved or sequential\n")
        let flag = try h.run(["run", "--schedule", "shuffled", "-o", h.work.appendingPathComponent("never.csv").path])
        XCTAssertEqual(flag.stderr, "ipcbench: error: --schedule 'shuffled': expected interleaved or sequential\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: h.work.appendingPathComponent("never.csv").path))
    }

    /// A file-size limit makes write(2) fail with EFBIG part way, as a full disk would with ENOSPC.
    func testWriteErrorStopsTheRunWithItsOwnStatus() throws {
        let output = h.work.appendingPathComponent("full.csv").path
        let command = "trap '' XFSZ; ulimit -f 4; exec \"$0\" \"$@\""
        let p = try h.start(["sh", "-c", command, Harness.binary, "run", "-t", "pipe,fifo,unix-stream", "-p", "latency",
                             "-s", "64,128,256,512", "--count", "50", "-r", "30", "--warmup", "0", "--cpus", "none",
                             "-o", output], executable: "/usr/bin/env")
        let outcome = h.finish(p)
        XCTAssertEqual(outcome.status, 3, outcome.stderr)
        let trials = output.replacingOccurrences(of: ".csv", with: "-trials.csv")
        XCTAssertEqual(outcome.stderr, "ipcbench: error: cannot write \(trials): File too large; the run stopped with 0 of 12 cases written to \(output); every finished trial is in \(trials)\n")
        XCTAssertEqual(try h.readCSV(output), [caseColumns], "the case file keeps its header")
    }

    func testNoOutputFileWhenTheRunDirectoryCannotBeMade() throws {
        let output = h.work.appendingPathComponent("x.csv").path
        let p = try h.start(["TMPDIR=/does/not/exist", Harness.binary, "run", "-t", "fifo", "-s", "64", "-o", output],
                            executable: "/usr/bin/env")
        let outcome = h.finish(p)
        XCTAssertEqual(outcome.status, 2, outcome.stderr)
        XCTAssertTrue(outcome.stderr.hasPrefix("ipcbench: error: cannot make the run's private directory: mkdtemp(/does/not/exist/"), outcome.stderr)
        XCTAssertTrue(outcome.stderr.hasSuffix("; set TMPDIR to a writable directory\n"), outcome.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: output))
        XCTAssertFalse(FileManager.default.fileExists(atPath: h.work.appendingPathComponent("x-trials.csv").path))
    }

    func testDanglingSymlinkCountsAsAnExistingFile() throws {
        let output = h.work.appendingPathComponent("y.csv").path
        let trials = h.work.appendingPathComponent("y-trials.csv").path
        try FileManager.default.createSymbolicLink(atPath: trials, withDestinationPath: "/nonexistent/target")
        let outcome = try h.run(["run", "-t", "pipe", "-s", "64", "-o", output])
        XCTAssertEqual(outcome.status, 2, outcome.stderr)
        XCTAssertEqual(outcome.stderr, "ipcbench: error: \(trials) already exists; ipcbench never overwrites results: choose another --output\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: output))
    }

    func testSysinfoNamesTheEnvironmentColumns() throws {
        let text = try h.run(["sysinfo"])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.hasPrefix("run_id: "), text.stdout)
        XCTAssertTrue(text.stdout.contains("\nipcbench_version: \(ipcbenchVersion)\n"), text.stdout)
        let outcome = try h.run(["sysinfo", "--format", "csv"])
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        let rows = parseCSV(outcome.stdout)
        XCTAssertEqual(rows.count, 2)
        XCTAssertEqual(rows[0], ["run_id", "timestamp_utc", "hostname", "kernel_release", "kernel_version", "arch",
                                 "cpu_model", "cpus_online", "ipcbench_version", "mitigations",
                                 "kernel_cmdline_mitigations", "kernel_cmdline_preempt", "smt", "clocksource", "cpu_governor",
                                 "boot_id", "proc_version", "kernel_cmdline", "virtualization", "command"])
        XCTAssertEqual(rows[1][15], try String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines))
        XCTAssertTrue(rows[1][16].hasPrefix("Linux version "), rows[1][16])
        let clocksource = try String(contentsOfFile: "/sys/devices/system/clocksource/clocksource0/current_clocksource", encoding: .utf8)
        XCTAssertEqual(rows[1][13], clocksource.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
