import Foundation
import XCTest
import IPCPlatform
import IPCModel
import IPCRun
import IPCAnalysis
import IPCLab

/// Runs the built `ipcbench` binary the way the README tells a user to, each test in its own folder
/// and with its own TMPDIR, so that it can check that nothing is left behind.
final class Harness {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    /// The binary sits next to the test bundle in the build folder.
    static let binary = ProcessInfo.processInfo.environment["IPCBENCH_BINARY"]
        ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("ipcbench").path

    let work: URL
    let tmp: URL

    init() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("ipcbench-e2e-\(UUID().uuidString)")
        tmp = work.appendingPathComponent("tmp")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: Self.binary), "build ipcbench first: \(Self.binary)")
    }

    /// Nothing a run made in its private directory may survive it.
    func finishChecks() throws {
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp.path), [])
        try? FileManager.default.removeItem(at: work)
    }

    struct Outcome {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    func start(_ arguments: [String], executable: String = Harness.binary, environment extra: [String: String] = [:]) throws -> (Process, Pipe, Pipe) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = Self.repository
        var environment = ProcessInfo.processInfo.environment
        environment["TMPDIR"] = tmp.path
        environment["IPCBENCH"] = Self.binary
        process.environment = environment.merging(extra) { $1 }
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

    func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Outcome {
        finish(try start(arguments, environment: environment))
    }

    /// A script from scripts/, run with python3.
    func script(_ name: String, _ arguments: [String]) throws -> Outcome {
        finish(try start(["python3", Self.repository.appendingPathComponent("scripts/\(name)").path] + arguments,
                         executable: "/usr/bin/env"))
    }

    func readCSV(_ path: String) throws -> [[String]] {
        parseCSV(try String(contentsOfFile: path, encoding: .utf8))
    }
}

func column(_ name: String, _ row: [String]) -> String { row[caseColumns.firstIndex(of: name)!] }

/// The pids of a process's children: every process in /proc whose parent it is (any thread's
/// children, and no need for the kernel's per-task children file).
func children(of pid: Int32) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { Int32($0) }.filter { child in
        // The fields after the command, which may hold spaces, start after its last ')'.
        guard let stat = try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 1 && Int32(fields[1]) == pid
    }.sorted()
}

/// End to end: the binary on real configs, bad input, faults and signals.
final class EndToEndTests: XCTestCase {
    var h: Harness!

    override func setUpWithError() throws { h = try Harness() }
    override func tearDownWithError() throws { try h.finishChecks() }

    func testQuickSuiteWritesEveryCase() throws {
        let output = h.work.appendingPathComponent("quick.csv").path
        let outcome = try h.run(["run", "bench-configs/quick.toml", "-o", output])
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        let rows = try h.readCSV(output)
        XCTAssertEqual(rows.first, caseColumns)
        XCTAssertEqual(rows.count - 1, TransportKind.allCases.count * 2 * 2)
        // How to make the run again: the arguments as given and the config's SHA-256.
        let config = try Data(contentsOf: Harness.repository.appendingPathComponent("bench-configs/quick.toml"))
        XCTAssertEqual(column("command", rows[1]), "ipcbench run bench-configs/quick.toml -o \(output) (config sha256 \(sha256Hex(Array(config))))")
        var ran = 0
        for row in rows.dropFirst() {
            XCTAssertEqual(row.count, caseColumns.count)
            let name = "\(column("transport", row)) \(column("pattern", row)) \(column("payload_bytes", row))"
            let kind = TransportKind(rawValue: column("transport", row))!
            if let reason = skipReason(kind, PatternKind(rawValue: column("pattern", row))!,
                                       CaseShape(payloadBytes: Int(column("payload_bytes", row))!)) {
                XCTAssertEqual(column("status", row), "skipped", name)
                XCTAssertEqual(column("error", row), reason, name)
                continue
            }
            ran += 1
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
            let datagram = kind.isDatagram
            XCTAssertEqual(column("msgs_sent", row).isEmpty, !datagram, name)
        }
        let trials = try h.readCSV(h.work.appendingPathComponent("quick-trials.csv").path)
        XCTAssertEqual(trials.first, trialColumns)
        XCTAssertEqual(trials.count - 1, ran * 3)
        // The terminal table goes to stdout: its header, a line per case, then where the files went.
        let lines = outcome.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(lines.first, "transport      pattern    size    cpus        status  MiB/s median, interval RTT p50 / p99 us      ")
        XCTAssertEqual(lines.suffix(2), ["wrote \(output) and \(h.work.appendingPathComponent("quick-trials.csv").path) (interleaved schedule, seed \(column("seed", rows[1])))", ""])
        // One line per case (warnings and skip reasons, indented, may follow one), each with its status in the fifth cell.
        let caseLines = lines.dropFirst().dropLast(2).filter { !$0.hasPrefix(" ") }
        XCTAssertEqual(caseLines.count, rows.count - 1, outcome.stdout)
        XCTAssertEqual(caseLines.filter { $0.dropFirst(46).hasPrefix("ok      ") }.count, ran, outcome.stdout)
        XCTAssertTrue(caseLines.allSatisfy { $0.dropFirst(46).hasPrefix("ok      ") || $0.dropFirst(46).hasPrefix("skipped ") }, outcome.stdout)
        // Three trials reach no 95% interval for the median: the table says it shows the range.
        XCTAssertTrue(caseLines.contains { $0.contains(" range ") } && !caseLines.contains { $0.contains(" ci ") }, outcome.stdout)
    }

    func testRootHelpIsExact() throws {
        let outcome = try h.run(["--help"])
        XCTAssertEqual(outcome.status, 0)
        // A multi-line literal drops its last newline; the help text ends with one.
        XCTAssertEqual(outcome.stdout, #"""
OVERVIEW: Measure how fast the Linux kernel moves bytes between processes.

Forks worker processes that exchange payloads over a transport (pipe, fifo,
socketpair, unix-stream, unix-dgram, unix-seqpacket, tcp, udp, tcp6, udp6,
shm-futex, shm-spin, mq, vmsplice, udp-multicast) in a pattern (throughput,
latency, sync-message, async-request, duplex, fanout, pairs, pubsub), and
writes one CSV row per case.
Exit status: 0 every case ok; 1 a case failed (the others still ran and were
written) or compare found a regression; 2 the command line, a config or a
results file was wrong (nothing ran); 3 a results file could not be written (it
keeps whole rows only); 128+N stopped by signal N.

USAGE: ipcbench <subcommand>

OPTIONS:
  --version               Show the version.
  -h, --help              Show help information.

SUBCOMMANDS:
  run                     Run a suite and write <stem>.csv and
                          <stem>-trials.csv (or -o FILE.json).
  compare                 Compare result files case by case: medians, change in
                          %, and whether it is significant.
  kernels                 Compare kernels: boot each several times in
                          alternating order (A B A B), run the same suite in
                          every boot, compare with boots as the unit.
  bisect                  Find the first bad kernel of a list, or commit of a
                          git tree: each step a kernel comparison against the
                          good one.
  pivot                   Write one metric as a chart-ready CSV: a row per
                          payload, a column per transport and placement.
  check                   Check results files as compare and pivot read them:
                          exit 0, or 2 with a one-line error.
  convert                 Convert results between the CSV pair (<stem>.csv and
                          <stem>-trials.csv) and the JSON form, losslessly, or
                          write a run's figures for a lab's tools.
  history                 Keep every run in a database, list series over time,
                          and find where they changed.
  list                    Show the transports, the patterns and this machine's
                          limits.
  sysinfo                 Print the environment columns as a run would write
                          them.

  See 'ipcbench help <subcommand>' for detailed help.
"""# + "\n")
    }

    func testVerifiedRunOnStdout() throws {
        let outcome = try h.run(["run", "-t", "all", "-p", "throughput,latency", "-s", "100", "--total", "64K",
                               "--count", "50", "-r", "1", "--warmup", "0", "--cpus", "none", "--verify", "-o", "-"])
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        let rows = parseCSV(outcome.stdout)
        XCTAssertEqual(rows.first, caseColumns)
        XCTAssertEqual(rows.count - 1, TransportKind.allCases.count * 2)
        for row in rows.dropFirst() {
            let skipped = column("transport", row) == "vmsplice" && column("pattern", row) == "latency"
                || column("transport", row) == "udp-multicast"  // it serves fanout and pubsub only
            XCTAssertEqual(column("status", row), skipped ? "skipped" : "ok", "\(row)")
        }
    }

    func testBadInputExitsTwoAndRunsNothing() throws {
        let bad = h.work.appendingPathComponent("bad.toml")
        try "[defaults]\nrepetitions = 3\n\n[[suite]]\npattern = \"latency\"\nsise = [\"64\"]\n".write(to: bad, atomically: true, encoding: .utf8)
        let cpus = allowedCPUs().map(String.init).joined(separator: ",")
        let cases: [([String], String)] = [
            (["run", "-t", "shm"], "unknown transport 'shm': expected one of pipe, fifo, socketpair, unix-stream, unix-dgram, unix-seqpacket, tcp, udp, tcp6, udp6, shm-futex, shm-spin, mq, vmsplice, udp-multicast, or all"),
            (["run", "-p", "bandwidth"], "unknown pattern 'bandwidth': expected one of throughput, latency, sync-message, async-request, duplex, fanout, pairs, pubsub"),
            (["run", "-s", "0"], "--size '0' must be at least 1 byte"),
            (["run", "-s", "abc"], "--size 'abc' is not a size: use a whole number of bytes with an optional unit, for example 64, 4KiB, 1MiB (K/KiB = 1024, kB = 1000)"),
            (["run", "--count=-1"], "--count -1 is out of range; expected a whole number of round trips, at least 1"),
            (["run", "--count", "-1"], "--count -1 is out of range; expected a whole number of round trips, at least 1"),
            (["run", "--cpus", "9,9"], "--cpus 9,9: CPU 9 is not available to this process (available: \(cpus))"),
            (["run", "--timeout", "soon"], "--timeout 'soon' is not a duration: use a number with a unit, for example 30s, 500ms or 2m"),
            (["run", "no-such.toml"], "no-such.toml: cannot read the config file (does it exist?)"),
            (["run", bad.path], "\(bad.path):6: unknown key 'sise' in [[suite]] (expected one of: name, pattern, transports, sizes, total, count, repetitions, warmup, cpus, timeout, min_trial_time, depth, receivers, pairs, publishers, subscribers, topics, subscriptions, topology, rate, wait, pipe_size, sndbuf, rcvbuf, busy_poll, notsent_lowat, workers, nodelay)"),
            (["run", "--frobnicate"], "Unknown option '--frobnicate' (see ipcbench --help)"),
        ]
        for (arguments, expected) in cases {
            let outcome = try h.run(arguments + ["-o", h.work.appendingPathComponent("out").path + "/"])
            XCTAssertEqual(outcome.status, 2, "\(arguments): \(outcome.stderr)")
            XCTAssertEqual(outcome.stderr, "ipcbench: error: \(expected)\n", "\(arguments)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: h.work.appendingPathComponent("out").path), "\(arguments) wrote results")
        }
    }

    func testNeverOverwrites() throws {
        let output = h.work.appendingPathComponent("once.csv").path
        try "keep me".write(toFile: output, atomically: true, encoding: .utf8)
        let outcome = try h.run(["run", "-t", "pipe", "-p", "latency", "-s", "64", "--count", "10", "-o", output])
        XCTAssertEqual(outcome.status, 2)
        XCTAssertEqual(outcome.stderr, "ipcbench: error: \(output) already exists; ipcbench never overwrites results: choose another --output\n")
        XCTAssertEqual(try String(contentsOfFile: output, encoding: .utf8), "keep me")
    }

    func testOversizedDatagramIsSkipped() throws {
        let output = h.work.appendingPathComponent("skip.csv").path
        let outcome = try h.run(["run", "-t", "udp,pipe", "-p", "latency", "-s", "65508", "--count", "20", "-r", "1",
                               "--cpus", "none", "-o", output])
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        let rows = try h.readCSV(output)
        XCTAssertEqual(rows.dropFirst().map { column("status", $0) }, ["skipped", "ok"])
        XCTAssertEqual(column("error", rows[1]), "payload of 65508 bytes exceeds this kernel's udp message limit of 65507 bytes")
    }


    /// Waits up to a minute (the machine may be busy) for the runner's two workers.
    func waitForWorkers(_ pid: Int32) throws -> [Int32] {
        for _ in 0..<2400 {
            let pids = children(of: pid)
            if pids.count == 2 { return pids }
            usleep(25_000)
        }
        XCTFail("the runner \(pid) did not start its two workers within a minute")
        throw CancellationError()
    }

    func processExists(_ pid: Int32) -> Bool { kill(pid, 0) == 0 }

    func testKilledWorkerFailsItsCaseNotTheRun() throws {
        let output = h.work.appendingPathComponent("killed.csv").path
        // The first case would run for minutes; the second is quick.
        let p = try h.start(["run", "-t", "pipe", "-p", "latency", "-s", "64,128", "--count", "50000000", "-r", "1",
                           "--warmup", "0", "--cpus", "none", "--timeout", "5m", "--schedule", "sequential", "-o", output])
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
        let outcome = h.finish(p)
        XCTAssertEqual(outcome.status, 128 + SIGTERM, outcome.stderr)
        let rows = try h.readCSV(output)
        XCTAssertEqual(rows.count, 3, "the failed case, then the one the signal stopped")
        XCTAssertEqual(column("status", rows[1]), "failed")
        XCTAssertEqual(column("status", rows[2]), "stopped")
        // Worker b (the server) is usually the later pid; with pid wrap-around it is the client.
        XCTAssertTrue(["server", "client"].map { "trial 1 of 1: the \($0) worker died during the timed loop: killed by signal 9 (Killed)" }
            .contains(column("error", rows[1])), column("error", rows[1]))
        for pid in workers + second { XCTAssertFalse(processExists(pid), "worker \(pid) survived") }
    }

    func testFailedCaseExitsOne() throws {
        let output = h.work.appendingPathComponent("timeout.csv").path
        let outcome = try h.run(["run", "-t", "fifo", "-p", "latency", "-s", "64", "--count", "50000000", "-r", "1",
                               "--warmup", "0", "--cpus", "none", "--timeout", "300ms", "-o", output])
        XCTAssertEqual(outcome.status, 1, outcome.stderr)
        let rows = try h.readCSV(output)
        XCTAssertEqual(column("status", rows[1]), "failed")
        // On a busy machine the workers may not even be ready within 300 ms.
        XCTAssertTrue(["during the timed loop", "while setting up"].map { "trial 1 of 1: timed out after 300ms \($0); raise --timeout if the case is just slow" }
            .contains(column("error", rows[1])), column("error", rows[1]))
    }

    func testInterruptKeepsRowsAndLeavesNothing() throws {
        let config = h.work.appendingPathComponent("two.toml")
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
        let output = h.work.appendingPathComponent("interrupted.csv").path
        let p = try h.start(["run", config.path, "--schedule", "sequential", "-o", output])
        var workers: [Int32] = []
        for _ in 0..<2400 {
            // Wait (up to a minute: the machine may be busy) for the first row, then for the long case's workers.
            let rows = (try? h.readCSV(output)) ?? []
            if rows.count == 2 && children(of: p.0.processIdentifier).count == 2 {
                workers = children(of: p.0.processIdentifier)
                break
            }
            usleep(25_000)
        }
        XCTAssertEqual(workers.count, 2)
        usleep(200_000)
        kill(p.0.processIdentifier, SIGINT)
        let outcome = h.finish(p)
        XCTAssertEqual(outcome.status, 130, outcome.stderr)
        XCTAssertEqual(outcome.stderr, "ipcbench: stopped by signal 2 with 1 of 3 cases finished; 3 rows (2 with status stopped) are in \(output); every finished trial is in \(output.dropLast(4))-trials.csv\n")
        let rows = try h.readCSV(output)
        XCTAssertEqual(rows.dropFirst().map { column("status", $0) }, ["ok", "stopped", "stopped"])
        XCTAssertEqual(column("error", rows[2]), "stopped after 0 of 1 measured trials")
        for pid in workers { XCTAssertFalse(processExists(pid), "worker \(pid) survived") }
    }
}

/// `ipcbench compare`, the spreadsheet check and the plots, on files the binary really wrote.
final class CompareAndPlotTests: XCTestCase {
    var h: Harness!

    override func setUpWithError() throws { h = try Harness() }
    override func tearDownWithError() throws { try h.finishChecks() }

    /// Two small runs that differ only in placement: same CPU against two CPUs.
    func twoRuns() throws -> (String, String) {
        var paths: [String] = []
        for placement in ["same", "split"] {
            let path = h.work.appendingPathComponent("\(placement).csv").path
            let outcome = try h.run(["run", "-t", "pipe,udp", "-p", "latency,throughput", "-s", "64,100000",
                                       "--total", "1MiB", "--count", "3000", "-r", "5", "--warmup", "1",
                                       "--min-trial-time", "0s", "--cpus", placement, "-o", path])
            XCTAssertEqual(outcome.status, 0, outcome.stderr)
            paths.append(path)
        }
        return (paths[0], paths[1])
    }

    func testCompareFindsThePlacementChange() throws {
        let (same, split) = try twoRuns()
        let outcome = try h.run(["compare", same, split, "--ignore", "placement"])
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        let text = outcome.stdout
        XCTAssertTrue(text.contains("base: \(same)"), text)
        XCTAssertTrue(text.contains("warning: the sides differ in placement: same vs split"), text)
        XCTAssertTrue(text.contains("not compared: udp throughput 100000: skipped in base, skipped in new"), "the skipped case is not silently dropped: \(text)")

        let csv = try h.run(["compare", same, split, "--ignore", "placement", "--format", "csv"])
        let rows = parseCSV(csv.stdout)
        XCTAssertEqual(rows.first, compareCSVColumns)
        let records = rows.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(compareCSVColumns, $0)) }
        // Crossing CPUs makes a pipe round trip several times slower; one run a side gives a
        // within-run interval that shows it, but never a verdict.
        let pipeLatency = try XCTUnwrap(records.first { $0["transport"] == "pipe" && $0["metric"] == "RTT p50 us" && $0["payload_bytes"] == "64" })
        XCTAssertEqual(pipeLatency["significant"], "0", "\(pipeLatency)")
        XCTAssertEqual(pipeLatency["method"], "within-run")
        XCTAssertGreaterThan(Double(pipeLatency["change_pct"]!)!, 50)
        XCTAssertGreaterThan(Double(pipeLatency["change_ci95_low_pct"]!)!, 0)
        XCTAssertTrue(records.contains { $0["kind"] == "geomean" && $0["metric"] == "RTT p50 us" && $0["note"]!.contains("one run a side") })

        let markdown = try h.run(["compare", same, split, "--ignore", "placement", "--format", "markdown"])
        XCTAssertTrue(markdown.stdout.contains("| case | metric | base | new | change | 95% interval | MDE | q | verdict |"), markdown.stdout)
        XCTAssertTrue(markdown.stdout.contains("| within-run |"), markdown.stdout)

        // One run a side is no ground for a gate: refused before anything is printed.
        let gate = try h.run(["compare", same, split, "--ignore", "placement", "--fail-on-regression", "10"])
        XCTAssertEqual(gate.status, 2, gate.stderr)
        XCTAssertEqual(gate.stdout, "")
        XCTAssertTrue(gate.stderr.contains("is one run; a gate needs the variance between runs"), gate.stderr)

        // Without --ignore placement nothing joins: every case is listed as in one file only.
        let apart = try h.run(["compare", same, split])
        XCTAssertTrue(apart.stdout.contains("only in base: pipe latency 64 same"), apart.stdout)

        // A file against itself: nothing changes, so nothing is significant.
        let itself = try h.run(["compare", same, same, "--format", "csv"])
        XCTAssertTrue(parseCSV(itself.stdout).dropFirst().allSatisfy { $0[compareCSVColumns.firstIndex(of: "significant")!] == "0" }, itself.stdout)

        // Without the trials file: a within-run Welch interval on the MiB/s summary columns, said for
        // each case; no interval for latency, whose summary columns describe round trips, not trials.
        let lonely = h.work.appendingPathComponent("lonely.csv").path
        try FileManager.default.copyItem(atPath: split, toPath: lonely)
        let welch = try h.run(["compare", same, lonely, "--ignore", "placement"])
        XCTAssertTrue(welch.stdout.contains("warning: pipe throughput 64: no trials in \(lonely); its within-run interval comes from a Welch test on the summary columns"), welch.stdout)
        XCTAssertTrue(welch.stdout.contains("no interval: no trials file: no within-run interval for RTT p50 us: pipe latency 64 RTT p50 us"), welch.stdout)

        // The spreadsheet check and the plots, on the same real files.
        let sheet = try h.script("spreadsheet-check", [same, split.replacingOccurrences(of: ".csv", with: "-trials.csv")])
        XCTAssertEqual(sheet.status, 0, sheet.stderr)
        XCTAssertTrue(sheet.stdout.contains("numeric cells read back as numbers"), sheet.stdout)
        let plots = h.work.appendingPathComponent("plots")
        let plot = try h.script("plot.py", [same, split, "--ignore", "placement", "-o", plots.path])
        XCTAssertEqual(plot.status, 0, plot.stderr)
        let written = try FileManager.default.contentsOfDirectory(atPath: plots.path).sorted()
        // Both sides on one plot per pattern, each with a sidecar of its series, and the change.
        XCTAssertEqual(written, ["same-vs-split-change.png", "same-vs-split-latency.png", "same-vs-split-latency.png.json",
                                 "same-vs-split-throughput.png", "same-vs-split-throughput.png.json"])
        let sidecar = try JSONSerialization.jsonObject(with: Data(contentsOf: plots.appendingPathComponent("same-vs-split-latency.png.json"))) as! [String: Any]
        let series = sidecar["series"] as! [[String: Any]]
        // The legend names each side by what differs: the placement.
        XCTAssertEqual(Set(series.map { $0["side"] as! String }), ["placement same", "placement split"])
        XCTAssertEqual(Set(series.map { $0["metric"] as! String }), ["rtt_us_p50", "rtt_us_p99"])
        // Every point has its interval (from the trials file) around its figure.
        for s in series { for point in s["points"] as! [[Any]] {
            let (value, low, high) = (point[1] as! Double, point[2] as! Double, point[3] as! Double)
            XCTAssertTrue(low <= value && value <= high, "\(s)")
        } }
        let pngs = written.filter { $0.hasSuffix(".png") }
        for png in pngs {
            let data = try Data(contentsOf: plots.appendingPathComponent(png))
            XCTAssertEqual(Array(data.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "\(png) is not a PNG")
            XCTAssertGreaterThan(data.count, 10_000, png)
        }
    }

    func testBadFilesExitTwo() throws {
        let empty = h.work.appendingPathComponent("empty.csv").path
        let foreign = h.work.appendingPathComponent("foreign.csv").path
        let partial = h.work.appendingPathComponent("partial.csv").path
        try "".write(toFile: empty, atomically: true, encoding: .utf8)
        try "a,b\n1,2\n".write(toFile: foreign, atomically: true, encoding: .utf8)
        try (caseColumns.filter { $0 != "rtt_us_p99" }.joined(separator: ",") + "\n").write(toFile: partial, atomically: true, encoding: .utf8)
        for (file, expected) in [(empty, "the file is empty"), (foreign, "not an ipcbench results file"),
                                 (partial, "the column rtt_us_p99 is missing"), ("/nonexistent.csv", "cannot read")] {
            let outcome = try h.run(["compare", file, file])
            XCTAssertEqual(outcome.status, 2, outcome.stderr)
            XCTAssertTrue(outcome.stderr.contains(file) && outcome.stderr.contains(expected), outcome.stderr)
            XCTAssertEqual(outcome.stderr.split(separator: "\n").count, 1, outcome.stderr)
        }
        XCTAssertEqual(try h.run(["compare", empty]).status, 2)
        XCTAssertEqual(try h.run(["compare", empty, empty, "--format", "xml"]).status, 2)
    }
}
