import Foundation
import XCTest
import IPCPlatform
import IPCModel
import IPCRun
import IPCAnalysis
import IPCLab

/// Inputs that once crashed the binary or left files behind: each is now refused with exit 2 and one
/// exact line, and nothing is left in the output folder or in TMPDIR.
final class InputLimitTests: XCTestCase {
    var h: Harness!

    override func setUpWithError() throws { h = try Harness() }
    override func tearDownWithError() throws { try h.finishChecks() }

    func assertRefused(_ arguments: [String], _ expected: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let output = h.work.appendingPathComponent("out").path + "/"
        let outcome = try h.run(arguments + ["-o", output])
        XCTAssertEqual(outcome.status, 2, "\(arguments): \(outcome.stderr)", file: file, line: line)
        XCTAssertEqual(outcome.stderr, "ipcbench: error: \(expected)\n", "\(arguments)", file: file, line: line)
        XCTAssertEqual(outcome.stdout, "", "\(arguments)", file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: output), "\(arguments) wrote results", file: file, line: line)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: h.tmp.path), [], "\(arguments) left a run directory", file: file, line: line)
    }

    func testOverflowingOptionsAreRefused() throws {
        let quick = ["run", "-t", "pipe", "-p", "latency", "-r", "1", "--warmup", "0", "-q"]
        let payload = InputLimits.payload
        let refusals: [([String], String)] = [
            (["-s", "1048576GiB"], "--size '1048576GiB' is more than \(payload.shown), \(payload.why); use \(payload.shown) or less"),
            (["-s", "9223372036854775807"], "--size '9223372036854775807' is more than \(payload.shown), \(payload.why); use \(payload.shown) or less"),
            (["-s", "1024GiB"], "--size '1024GiB' is more than \(payload.shown), \(payload.why); use \(payload.shown) or less"),
            (["--count", "9223372036854775807"], "--count 9223372036854775807 is more than 1000000000, the most round trips per latency trial before calibration; use 1000000000 or less"),
            (["-r", "9223372036854775807"], "--repetitions 9223372036854775807 is more than 1000, the most measured trials per case; use 1000 or less"),
            (["--warmup", "9223372036854775807"], "--warmup 9223372036854775807 is more than 100, the most warmup trials per case; use 100 or less"),
            (["--total", "1025GiB"], "--total '1025GiB' is more than 1024GiB, the most a throughput trial moves before calibration; use 1024GiB or less"),
            (["--timeout", "25h"], "--timeout '25h' is more than 24h, the longest a trial may run; use 24h or less"),
            (["--min-trial-time", "2h"], "--min-trial-time '2h' is more than 1h, the longest calibration aims for; use 1h or less"),
            (["--count", "1000000000", "-s", "2KiB"], "suite 'latency': 1000000000 round trips of 2KiB are more than 1024GiB, the most one trial moves before calibration; lower count or the size"),
        ]
        for (arguments, expected) in refusals {
            // Later options win, so each one overrides the quick settings before it.
            try assertRefused(quick + arguments, expected)
        }
    }

    func testOverflowingConfigsAreRefused() throws {
        let config = h.work.appendingPathComponent("huge.toml")
        let refusals: [(String, String)] = [
            ("repetitions = 9223372036854775807", "\(config.path):5: repetitions 9223372036854775807 is more than 1000, the most measured trials per case; use 1000 or less"),
            ("repetitions = 99999999999999999999", "\(config.path):5: repetitions 99999999999999999999 is more than 1000, the most measured trials per case; use 1000 or less"),
            ("count = 0", "\(config.path):5: count 0 is out of range; expected a whole number of round trips, at least 1"),
            ("sizes = " + String(repeating: "[", count: 50_000) + "64" + String(repeating: "]", count: 50_000),
             "\(config.path):5: arrays nested more than 4 deep; a config needs 1"),
            ("sizes = " + String(repeating: "[", count: 20_000), "\(config.path):5: arrays nested more than 4 deep; a config needs 1"),
            ("name = \"two\\nlines\"\ncount = 1_000_000_000\nsizes = [\"1KiB\", \"2KiB\"]",
             "suite 'two\\nlines': 1000000000 round trips of 2KiB are more than 1024GiB, the most one trial moves before calibration; lower count or the size"),
        ]
        for (line, expected) in refusals {
            try "[defaults]\nwarmup = 0\n[[suite]]\npattern = \"latency\"\n\(line)\n".write(to: config, atomically: true, encoding: .utf8)
            try assertRefused(["run", config.path, "-t", "pipe", "-q"], expected)
        }
    }

    /// A config that is not a regular file once grew without bound (/dev/zero, /dev/urandom) or blocked
    /// forever (a FIFO); it and a config over 1 MiB are refused before anything runs.
    func testConfigsThatAreNotRegularFilesAreRefused() throws {
        let fifo = h.work.appendingPathComponent("config.fifo").path
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let big = h.work.appendingPathComponent("big.toml").path
        XCTAssertTrue(FileManager.default.createFile(atPath: big, contents: nil))
        XCTAssertEqual(truncate(big, off_t(configFileLimit + 1)), 0)
        for (path, kind) in [("/dev/zero", "a character device"), ("/dev/urandom", "a character device"), (fifo, "a FIFO"),
                             (h.work.path, "a directory")] {
            try assertRefused(["run", path, "-q"], "\(path): \(kind), not a regular file; expected a config file (.toml)")
        }
        try assertRefused(["run", big, "-q"], "\(big): larger than 1 MiB, the most ipcbench reads for a config file (.toml)")
    }

    /// A whole trial's memory (every worker's buffers, and pipe_size, sndbuf and rcvbuf on every link)
    /// is bounded by half of the smaller of MemTotal and MemAvailable, for any number of workers.
    func testTrialMemoryIsBoundedForEveryWorker() throws {
        let bound = try XCTUnwrap(InputLimits.trialMemory())
        let quick = ["run", "-t", "pipe", "-r", "1", "--warmup", "0", "-q"]
        for (arguments, trial, needs, workers) in [
            (["-p", "fanout", "--receivers", "64", "-s", "1GiB", "--total", "1GiB"], "pipe fanout 1GiB receivers 64", 65 << 30, 65),
            (["-p", "pairs", "--pairs", "64", "-s", "256MiB"], "pipe pairs 256MiB pairs 64", 32 << 30, 128),
            (["-p", "pairs", "--pairs", "64", "-s", "64", "--pipe-size", "1GiB"], "pipe pairs 64 pairs 64", 64 << 30, 128),
        ] where needs > bound.max {
            let output = h.work.appendingPathComponent("out").path + "/"
            let outcome = try h.run(quick + arguments + ["-o", output])
            XCTAssertEqual(outcome.status, 2, outcome.stderr)
            XCTAssertTrue(outcome.stderr.hasPrefix("ipcbench: error: suite '\(arguments[1])': a trial of \(trial) "), outcome.stderr)
            XCTAssertTrue(outcome.stderr.contains(" needs \(memoryLabel(needs)) (the buffers of its \(workers) workers, plus pipe_size, sndbuf and rcvbuf on each link), more than "), outcome.stderr)
            XCTAssertTrue(outcome.stderr.hasSuffix(", half of the smaller of MemTotal and MemAvailable in /proc/meminfo; lower the size, the workers or the knobs\n"), outcome.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: output))
        }
    }

    /// Messages quote at most the first 40 characters of what was written; an option value that
    /// starts with '-' reaches its parser instead of reading as a missing value.
    func testMessagesQuoteShortlyAndNegativeValuesReachTheirParser() throws {
        let config = h.work.appendingPathComponent("key.toml")
        try "[defaults]\n\(String(repeating: "k", count: 500_000)) = 1\n[[suite]]\npattern = \"latency\"\n".write(to: config, atomically: true, encoding: .utf8)
        let outcome = try h.run(["run", config.path, "-q", "-o", "-"])
        XCTAssertEqual(outcome.status, 2)
        XCTAssertTrue(outcome.stderr.hasPrefix("ipcbench: error: \(config.path):2: unknown key '\(String(repeating: "k", count: 40))...' in [defaults] (expected one of: "), outcome.stderr)
        XCTAssertLessThan(outcome.stderr.count, 1000)
        try assertRefused(["run", "-s", "-1", "-q"], "--size '-1' is not a size: use a whole number of bytes with an optional unit, for example 64, 4KiB, 1MiB (K/KiB = 1024, kB = 1000)")
        try assertRefused(["run", "--count", "-1", "-q"], "--count -1 is out of range; expected a whole number of round trips, at least 1")
    }

    /// Numbers too large for 64-bit integers in a results file (they once trapped the number
    /// formatter) are refused with exit 2, naming the file, the row and the column.
    func testCompareWithHugeNumbers() throws {
        var rows = parseCSV(goldenCases)
        let median = try XCTUnwrap(rows[0].firstIndex(of: "mib_per_s_median"))
        var paths: [String] = []
        for (name, value) in [("base", "1e19"), ("new", "1" + String(repeating: "0", count: 39))] {
            rows[1][median] = value
            let path = h.work.appendingPathComponent("\(name).csv").path
            try rows.map(csvLine).joined().write(toFile: path, atomically: true, encoding: .utf8)
            paths.append(path)
        }
        let outcome = try h.run(["compare", paths[0], paths[1], "--format", "csv"])
        XCTAssertEqual(outcome.status, 2, outcome.stderr)
        XCTAssertEqual(outcome.stderr, "ipcbench: error: \(paths[0]): row 2, column mib_per_s_median: '1e19' is not a plain decimal number (no exponent) between -1000000000000000 and 1000000000000000; was the file written by ipcbench?\n")
        XCTAssertEqual(outcome.stdout, "")
    }

    /// A runner killed with SIGKILL leaves its run directory; the next run removes it, and only it.
    func testNextRunRemovesStaleRunDirectories() throws {
        let pidMax = try String(contentsOfFile: "/proc/sys/kernel/pid_max", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let stale = h.tmp.appendingPathComponent("ipcbench-\(pidMax)-Ab12Cd")  // no process has pid_max
        let live = h.tmp.appendingPathComponent("ipcbench-\(getpid())-Ab12Cd")  // this test's process
        let foreign = h.tmp.appendingPathComponent("ipcbench-Ab12Cd")
        for directory in [stale, live, foreign] {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false,
                                                    attributes: [.posixPermissions: 0o700])
        }
        XCTAssertEqual(mkfifo(stale.appendingPathComponent("a-to-b").path, 0o600), 0)

        let outcome = try h.run(["run", "-t", "pipe", "-p", "latency", "-s", "64", "--count", "10", "-r", "1",
                                 "--warmup", "0", "--cpus", "none", "-q", "-o", "-"])
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: h.tmp.path).sorted(),
                       [foreign.lastPathComponent, live.lastPathComponent].sorted())
        for directory in [live, foreign] { try FileManager.default.removeItem(at: directory) }
    }

    /// The same after a real SIGKILL of a runner in the middle of a trial.
    func testKilledRunnersDirectoryIsRemovedByTheNextRun() throws {
        let p = try h.start(["run", "-t", "fifo", "-p", "latency", "-s", "64", "--count", "50000000", "-r", "1",
                             "--warmup", "0", "--cpus", "none", "--timeout", "5m", "-q", "-o", "-"])
        let pid = p.0.processIdentifier
        var left: [String] = []
        for _ in 0..<2400 where left.isEmpty {
            left = (try? FileManager.default.contentsOfDirectory(atPath: h.tmp.path)) ?? []
            if left.isEmpty { usleep(25_000) }
        }
        XCTAssertEqual(left.map { $0.hasPrefix("ipcbench-\(pid)-") }, [true], "\(left)")
        kill(pid, SIGKILL)
        _ = h.finish(p)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: h.tmp.path), left, "SIGKILL leaves the directory")

        let outcome = try h.run(["run", "-t", "pipe", "-p", "latency", "-s", "64", "--count", "10", "-r", "1",
                                 "--warmup", "0", "--cpus", "none", "-q", "-o", "-"])
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        // finishChecks: TMPDIR is empty again.
    }
}
