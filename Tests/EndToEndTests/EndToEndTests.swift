import Foundation
import XCTest
import IPCBench

/// Runs the built `ipcbench` binary the way the README tells a user to, and checks what it leaves:
/// the CSV files, the exit status, and no worker process, FIFO, socket file or directory.
final class EndToEndTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    /// The binary sits next to the test bundle in the build folder.
    static let binary = ProcessInfo.processInfo.environment["IPCBENCH_BINARY"]
        ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("ipcbench").path

    var work: URL!
    var tmp: URL!

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("ipcbench-e2e-\(UUID().uuidString)")
        tmp = work.appendingPathComponent("tmp")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: Self.binary), "build ipcbench first: \(Self.binary)")
    }

    override func tearDownWithError() throws {
        // Nothing the run made in its private directory may survive it.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp.path), [])
        try? FileManager.default.removeItem(at: work)
    }

    struct Outcome {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    func start(_ arguments: [String]) throws -> (Process, Pipe, Pipe) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = arguments
        process.currentDirectoryURL = Self.repository
        var environment = ProcessInfo.processInfo.environment
        environment["TMPDIR"] = tmp.path
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        return (process, out, err)
    }

    func finish(_ p: (Process, Pipe, Pipe)) -> Outcome {
        let out = p.1.fileHandleForReading.readDataToEndOfFile()
        let err = p.2.fileHandleForReading.readDataToEndOfFile()
        p.0.waitUntilExit()
        return Outcome(status: p.0.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
                       stderr: String(decoding: err, as: UTF8.self))
    }

    func run(_ arguments: [String]) throws -> Outcome { finish(try start(arguments)) }

    func readCSV(_ path: String) throws -> [[String]] {
        parseCSV(try String(contentsOfFile: path, encoding: .utf8))
    }

    func column(_ name: String, _ row: [String]) -> String { row[caseColumns.firstIndex(of: name)!] }

    func testQuickSuiteWritesEveryCase() throws {
        let output = work.appendingPathComponent("quick.csv").path
        let outcome = try run(["run", "bench-configs/quick.toml", "-o", output])
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        let rows = try readCSV(output)
        XCTAssertEqual(rows.first, caseColumns)
        XCTAssertEqual(rows.count - 1, 6 * 2 * 2)
        for row in rows.dropFirst() {
            XCTAssertEqual(row.count, caseColumns.count)
            let name = "\(column("transport", row)) \(column("pattern", row)) \(column("payload_bytes", row))"
            XCTAssertEqual(column("status", row), "ok", "\(name): \(column("error", row))")
            XCTAssertEqual(column("alloc_bytes_in_loop", row), "0", name)
            XCTAssertTrue(column("cpu_placement", row).hasPrefix("none:"), name)
            XCTAssertFalse(column("cpu_sys_us_per_msg", row).isEmpty, name)
            if column("pattern", row) == "throughput" {
                XCTAssertGreaterThan(Double(column("mib_per_s_median", row)) ?? 0, 0, name)
                XCTAssertEqual(column("rtt_us_p50", row), "", name)
            } else {
                XCTAssertGreaterThan(Double(column("rtt_us_p50", row)) ?? 0, 0, name)
                XCTAssertEqual(column("mib_per_s_median", row), "", name)
            }
            let datagram = ["udp", "unix-dgram"].contains(column("transport", row))
            XCTAssertEqual(column("msgs_sent", row).isEmpty, !datagram, name)
        }
        let trials = try readCSV(work.appendingPathComponent("quick-trials.csv").path)
        XCTAssertEqual(trials.first, trialColumns)
        XCTAssertEqual(trials.count - 1, 24 * 3)
        XCTAssertTrue(outcome.stdout.contains("transport"), "the terminal table goes to stdout")
    }

    func testVerifiedRunOnStdout() throws {
        let outcome = try run(["run", "-t", "all", "-p", "throughput,latency", "-s", "100", "--total", "64K",
                               "--count", "50", "-r", "1", "--warmup", "0", "--cpus", "none", "--verify", "-o", "-"])
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        let rows = parseCSV(outcome.stdout)
        XCTAssertEqual(rows.first, caseColumns)
        XCTAssertEqual(rows.count - 1, 12)
        XCTAssertTrue(rows.dropFirst().allSatisfy { column("status", $0) == "ok" })
    }

    func testBadInputExitsTwoAndRunsNothing() throws {
        let bad = work.appendingPathComponent("bad.toml")
        try "[defaults]\nrepetitions = 3\n\n[[suite]]\npattern = \"latency\"\nsise = [\"64\"]\n".write(to: bad, atomically: true, encoding: .utf8)
        let cases: [([String], String)] = [
            (["run", "-t", "shm"], "unknown transport 'shm'"),
            (["run", "-p", "bandwidth"], "unknown pattern 'bandwidth'"),
            (["run", "-s", "0"], "'0' must be at least 1 byte"),
            (["run", "-s", "abc"], "--size 'abc' is not a size"),
            (["run", "--count=-1"], "--count -1: the number of round trips must be at least 1"),
            (["run", "--count", "-1"], "--count"),
            (["run", "--cpus", "9,9"], "CPU 9 is not available"),
            (["run", "--timeout", "soon"], "--timeout 'soon' is not a duration"),
            (["run", "no-such.toml"], "no-such.toml: cannot read the config file"),
            (["run", bad.path], "\(bad.path):6: unknown key 'sise' in [[suite]]"),
            (["run", "--frobnicate"], "--frobnicate"),
        ]
        for (arguments, expected) in cases {
            let outcome = try run(arguments + ["-o", work.appendingPathComponent("out").path + "/"])
            XCTAssertEqual(outcome.status, 2, "\(arguments): \(outcome.stderr)")
            XCTAssertTrue(outcome.stderr.contains(expected), "\(arguments): \(outcome.stderr)")
            XCTAssertEqual(outcome.stderr.split(separator: "\n").count, 1, "one line: \(outcome.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: work.appendingPathComponent("out").path), "\(arguments) wrote results")
        }
    }

    func testNeverOverwrites() throws {
        let output = work.appendingPathComponent("once.csv").path
        try "keep me".write(toFile: output, atomically: true, encoding: .utf8)
        let outcome = try run(["run", "-t", "pipe", "-p", "latency", "-s", "64", "--count", "10", "-o", output])
        XCTAssertEqual(outcome.status, 2)
        XCTAssertTrue(outcome.stderr.contains("already exists"), outcome.stderr)
        XCTAssertEqual(try String(contentsOfFile: output, encoding: .utf8), "keep me")
    }

    func testOversizedDatagramIsSkipped() throws {
        let output = work.appendingPathComponent("skip.csv").path
        let outcome = try run(["run", "-t", "udp,pipe", "-p", "latency", "-s", "65508", "--count", "20", "-r", "1",
                               "--cpus", "none", "-o", output])
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        let rows = try readCSV(output)
        XCTAssertEqual(rows.dropFirst().map { column("status", $0) }, ["skipped", "ok"])
        XCTAssertTrue(column("error", rows[1]).contains("65507"), column("error", rows[1]))
    }

    /// The pids of the runner's children, from /proc.
    func children(of pid: Int32) -> [Int32] {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
        return text.split(separator: " ").compactMap { Int32($0) }
    }

    func waitForWorkers(_ pid: Int32) throws -> [Int32] {
        for _ in 0..<400 {
            let pids = children(of: pid)
            if pids.count == 2 { return pids }
            usleep(25_000)
        }
        throw XCTSkip("the workers never appeared")
    }

    func processExists(_ pid: Int32) -> Bool { kill(pid, 0) == 0 }

    func testKilledWorkerFailsItsCaseNotTheRun() throws {
        let output = work.appendingPathComponent("killed.csv").path
        // The first case would run for minutes; the second is quick.
        let p = try start(["run", "-t", "pipe", "-p", "latency", "-s", "64,128", "--count", "50000000", "-r", "1",
                           "--warmup", "0", "--cpus", "none", "--timeout", "5m", "-o", output])
        let workers = try waitForWorkers(p.0.processIdentifier)
        usleep(200_000)
        kill(workers[1], SIGKILL)
        // The second case still runs; stop it once it has started.
        var second: [Int32] = []
        for _ in 0..<400 {
            second = children(of: p.0.processIdentifier).filter { !workers.contains($0) }
            if !second.isEmpty { break }
            usleep(25_000)
        }
        kill(p.0.processIdentifier, SIGTERM)
        let outcome = finish(p)
        XCTAssertEqual(outcome.status, 128 + SIGTERM, outcome.stderr)
        let rows = try readCSV(output)
        XCTAssertEqual(rows.count, 2, "the failed case is written before the run stops")
        XCTAssertEqual(column("status", rows[1]), "failed")
        XCTAssertTrue(column("error", rows[1]).contains("killed by signal 9"), column("error", rows[1]))
        for pid in workers + second { XCTAssertFalse(processExists(pid), "worker \(pid) survived") }
    }

    func testFailedCaseExitsOne() throws {
        let output = work.appendingPathComponent("timeout.csv").path
        let outcome = try run(["run", "-t", "fifo", "-p", "latency", "-s", "64", "--count", "50000000", "-r", "1",
                               "--warmup", "0", "--cpus", "none", "--timeout", "300ms", "-o", output])
        XCTAssertEqual(outcome.status, 1, outcome.stderr)
        let rows = try readCSV(output)
        XCTAssertEqual(column("status", rows[1]), "failed")
        XCTAssertTrue(column("error", rows[1]).contains("timed out after 300ms"), column("error", rows[1]))
    }

    func testInterruptKeepsRowsAndLeavesNothing() throws {
        let config = work.appendingPathComponent("two.toml")
        try """
        [defaults]
        repetitions = 1
        warmup = 0
        cpus = "none"
        timeout = "5m"

        [[suite]]
        pattern = "latency"
        transports = ["pipe"]
        sizes = [64]
        count = 200

        [[suite]]
        pattern = "latency"
        transports = ["fifo", "unix-stream"]
        sizes = [64]
        count = 50000000
        """.write(to: config, atomically: true, encoding: .utf8)
        let output = work.appendingPathComponent("interrupted.csv").path
        let p = try start(["run", config.path, "-o", output])
        var workers: [Int32] = []
        for _ in 0..<400 {
            // Wait for the first row, then for the long case's workers.
            let rows = (try? readCSV(output)) ?? []
            if rows.count == 2 && children(of: p.0.processIdentifier).count == 2 {
                workers = children(of: p.0.processIdentifier)
                break
            }
            usleep(25_000)
        }
        XCTAssertEqual(workers.count, 2)
        usleep(200_000)
        kill(p.0.processIdentifier, SIGINT)
        let outcome = finish(p)
        XCTAssertEqual(outcome.status, 130, outcome.stderr)
        XCTAssertTrue(outcome.stderr.contains("stopped by signal 2; 1 of 3 cases were written"), outcome.stderr)
        let rows = try readCSV(output)
        XCTAssertEqual(rows.count, 2, "the header and the finished case stay")
        XCTAssertEqual(column("status", rows[1]), "ok")
        for pid in workers { XCTAssertFalse(processExists(pid), "worker \(pid) survived") }
    }
}
