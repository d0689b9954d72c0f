import Foundation
import Glibc
import XCTest
import IPCPlatform
import IPCModel
import IPCRun
import IPCAnalysis
import IPCLab

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


    /// Waits up to a minute for two workers of `pid` that are not in `old`.
    func newWorkers(of pid: Int32, besides old: [Int32] = []) throws -> [Int32] {
        for _ in 0..<2400 {
            let pids = children(of: pid).filter { !old.contains($0) }
            if pids.count == 2 { return pids }
            usleep(25_000)
        }
        XCTFail("the runner \(pid) did not start two workers within a minute")
        throw CancellationError()
    }

    /// F14: a worker killed by SIGSEGV or SIGABRT was reported as "timed out": the Swift runtime's
    /// crash handler caught the signal in the worker, which went on (or waited for the backtracer).
    func testAWorkerKilledByACrashSignalIsReportedByItsSignal() throws {
        let output = path("crash.csv")
        let p = try h.start(["run", "-t", "pipe", "-p", "latency", "-s", "64,128", "--count", "50000000", "-r", "1",
                             "--warmup", "0", "--cpus", "none", "--timeout", "5m", "--schedule", "sequential", "-q", "-o", output])
        var first: [Int32] = [], second: [Int32] = []
        do {
            first = try newWorkers(of: p.0.processIdentifier)
            usleep(200_000)
            kill(first[0], SIGSEGV)
            second = try newWorkers(of: p.0.processIdentifier, besides: first)
            usleep(200_000)
            kill(second[1], SIGABRT)
        } catch {
            kill(p.0.processIdentifier, SIGTERM)
            _ = h.finish(p)
            throw error
        }
        let outcome = h.finish(p)
        XCTAssertEqual(outcome.status, 1, outcome.stderr)
        let rows = try h.readCSV(output)
        XCTAssertEqual(rows.count, 3)
        for (row, signal) in [(rows[1], "signal 11 (Segmentation fault)"), (rows[2], "signal 6 (Aborted)")] {
            XCTAssertEqual(column("status", row), "failed")
            XCTAssertTrue(["server", "client"].map { "trial 1 of 1: the \($0) worker died during the timed loop: killed by \(signal)" }
                .contains(column("error", row)), column("error", row))
        }
        for pid in first + second { XCTAssertNotEqual(kill(pid, 0), 0, "worker \(pid) survived") }
    }

    /// F15: a stop before the first measured trial (here in the warm-up) left a trials file with only
    /// its header, which `check` refused; every case gets its row, and `check` accepts both files.
    func testAStopBeforeTheFirstTrialLeavesFilesCheckAccepts() throws {
        let output = path("early.csv")
        let p = try h.start(["run", "-t", "pipe", "-p", "latency", "-s", "64,128", "--count", "50000000", "-r", "1",
                             "--warmup", "1", "--cpus", "none", "--timeout", "5m", "-q", "-o", output])
        _ = try? newWorkers(of: p.0.processIdentifier)
        kill(p.0.processIdentifier, SIGTERM)
        let outcome = h.finish(p)
        XCTAssertEqual(outcome.status, 128 + SIGTERM, outcome.stderr)
        let rows = try h.readCSV(output)
        XCTAssertEqual(rows.dropFirst().map { column("status", $0) }, ["stopped", "stopped"])
        XCTAssertEqual(try h.readCSV(path("early-trials.csv")), [trialColumns])
        let check = try h.run(["check", output])
        XCTAssertEqual(check.status, 0, check.stderr)
        for args in [["compare", output, output], ["pivot", output]] {
            let read = try h.run(args)
            XCTAssertNotEqual(read.status, 132, read.stderr)
            XCTAssertNotEqual(read.status, 134, read.stderr)
        }
    }

    /// A real run's two files in the test's folder, made once per test.
    func smallRun(_ stem: String) throws -> String {
        let output = path(stem + ".csv")
        let outcome = try h.run(["run", "-t", "pipe", "-p", "throughput", "-s", "64", "--total", "8K", "-r", "2",
                                 "--warmup", "0", "--cpus", "none", "-q", "-o", output])
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        return output
    }

    /// `sed -i s/from/to/` on a file.
    func replace(_ from: String, _ to: String, in file: String) throws {
        let text = try String(contentsOfFile: file, encoding: .utf8)
        XCTAssertTrue(text.contains(from), "\(file) has no \(from)")
        try text.replacingOccurrences(of: from, with: to).write(toFile: file, atomically: false, encoding: .utf8)
    }

    /// F11: `check` accepted ESC in a text cell and any name in the transport column (F4: `=1+1` went
    /// into the workbook as a formula): both are refused, naming the file, row and column.
    func testCheckRefusesControlCharactersAndNamesIpcbenchDoesNotWrite() throws {
        let output = try smallRun("a")
        let escaped = try smallRun("esc")
        try replace(",ok,", ",ok\u{1B}[2J,", in: escaped)
        let bell = try smallRun("bel")
        try replace("none:", "none\u{07}:", in: path("bel-trials.csv"))
        let formula = try smallRun("formula")
        try replace(",pipe,", ",=1+1,", in: formula)
        try replace(",pipe,", ",=1+1,", in: path("formula-trials.csv"))
        for (file, message) in [
            (escaped, "\(escaped): row 2, column status: 'ok\\u{1B}[2J' is not text without control characters; was the file written by ipcbench?"),
            (bell, "\(path("bel-trials.csv")): row 2, column cpu_placement: 'none\\u{7}:*' is not text without control characters; was the file written by ipcbench?"),
            (formula, "\(formula): row 2, column transport: '=1+1' is not a transport ipcbench writes (\(TransportKind.allCases.map(\.rawValue).sorted().joined(separator: ", "))); was the file written by ipcbench?"),
        ] {
            for command in [["check", file], ["compare", file, output], ["pivot", file]] {
                let outcome = try h.run(command)
                XCTAssertEqual(outcome.status, 2, "\(command)")
                // `*`: the CPU numbers of the placement, which differ from machine to machine.
                let parts = message.components(separatedBy: "*")
                XCTAssertTrue(outcome.stderr.hasPrefix("ipcbench: error: " + parts[0]) && outcome.stderr.hasSuffix(parts.last! + "\n")
                              && outcome.stderr.filter { $0 == "\n" }.count == 1, outcome.stderr)
                XCTAssertEqual(outcome.stdout, "")
            }
        }
        XCTAssertEqual(try h.run(["check", output]).status, 0)
    }

    /// F10: reading a results file took about 32 times its size in memory (`check` of 244 MiB: 7.9 GB).
    /// `check` streams the files: a 64 MiB trials file is checked in a few hundred MiB of address space.
    func testCheckOfALargeTrialsFileStaysInBoundedMemory() throws {
        let output = try smallRun("big")
        let trials = path("big-trials.csv")
        let rows = try h.readCSV(trials)
        let line = csvLine(rows[1])
        let count = (64 << 20) / line.utf8.count
        try (csvLine(rows[0]) + String(repeating: line, count: count)).write(toFile: trials, atomically: false, encoding: .utf8)
        // 400 MB of address space: the binary needs under 50 MB to start; reading the file whole took 2.3 GB.
        let outcome = h.finish(try h.start(["-c", "ulimit -v 400000 && exec \"$0\" check \"$1\"", Harness.binary, output],
                                           executable: "/bin/bash"))
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
    }

    /// F11: compare's table, Markdown and mail printed control characters as they were (here from a
    /// file's name), and compare --format csv wrote a cell beginning with `=` as it was.
    func testCompareAndPivotEscapeWhatTheyPrint() throws {
        let output = try smallRun("a")
        // Options are free text: one that a spreadsheet would take for a formula passes check.
        for file in [output, path("a-trials.csv")] {
            let rows = try h.readCSV(file)
            let options = rows[0].firstIndex(of: "options")!
            let text = ([rows[0]] + rows.dropFirst().map { row in row.enumerated().map { $0.offset == options ? "=cmd|' /C calc'!A0" : $0.element } })
                .map(csvLine).joined()
            try text.write(toFile: file, atomically: false, encoding: .utf8)
        }
        XCTAssertEqual(try h.run(["check", output]).status, 0)
        let escaped = path("e\u{1B}]0;x\u{07}.csv")
        try FileManager.default.copyItem(atPath: output, toPath: escaped)
        try FileManager.default.copyItem(atPath: path("a-trials.csv"), toPath: path("e\u{1B}]0;x\u{07}-trials.csv"))
        for format in ["table", "markdown", "mail", "csv"] {
            let outcome = try h.run(["compare", output, escaped, "--format", format])
            XCTAssertEqual(outcome.status, 0, outcome.stderr)
            XCTAssertFalse(outcome.stdout.unicodeScalars.contains { $0 == "\u{1B}" || $0 == "\u{07}" }, format)
            XCTAssertTrue(outcome.stdout.contains("e\\u{1B}]0;x\\u{7}.csv"), format)
            if format == "csv" {
                let rows = parseCSV(outcome.stdout)
                let options = rows[0].firstIndex(of: "options")!
                XCTAssertEqual(Set(rows.dropFirst().filter { $0[0] == "case" }.map { $0[options] }), ["'=cmd|' /C calc'!A0"])
            }
        }
        let pivot = try h.run(["pivot", output, escaped])
        XCTAssertEqual(pivot.status, 0, pivot.stderr)
        XCTAssertFalse(pivot.stdout.unicodeScalars.contains { $0 == "\u{1B}" || $0 == "\u{07}" })
        XCTAssertTrue(pivot.stdout.contains("(e\\u{1B}]0;x\\u{7})"), pivot.stdout)
    }

    /// F13: runs started in one second into one folder all took the same stem, and all but one
    /// exited 2 ("already exists"). Each takes the first free of <stem>, <stem>-2, ... and its run_id
    /// carries the same suffix.
    func testRunsStartedTogetherEachGetTheirOwnStem() throws {
        let folder = path("together") + "/"
        let runs = try (0..<10).map { _ in
            try h.start(["run", "-t", "pipe", "-p", "throughput", "-s", "64", "--total", "8K", "-r", "1",
                         "--warmup", "0", "--cpus", "none", "-q", "-o", folder])
        }
        for outcome in runs.map(h.finish) { XCTAssertEqual(outcome.status, 0, outcome.stderr) }
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        let stems = names.filter { !$0.hasSuffix("-trials.csv") }.map { String($0.dropLast(4)) }
        XCTAssertEqual(stems.count, 10, "\(names)")
        XCTAssertEqual(Set(names), Set(stems.flatMap { [$0 + ".csv", $0 + "-trials.csv"] }))
        XCTAssertTrue(stems.contains { $0.hasSuffix("-2") }, "no two runs shared a second: \(stems)")
        var runIDs = Set<String>()
        for stem in stems {
            let rows = try h.readCSV(folder + stem + ".csv")
            let runID = column("run_id", rows[1])
            let kernel = column("kernel_release", rows[1])
            // <run_id>-<kernel release>, or <run_id without suffix>-<kernel release>-<n> with run_id ending in -<n>.
            let suffix = stem.hasSuffix(kernel) ? "" : String(stem[stem.range(of: kernel, options: .backwards)!.upperBound...])
            XCTAssertEqual(stem, String(runID.dropLast(suffix.count)) + "-" + kernel + suffix)
            XCTAssertTrue(runID.hasSuffix(suffix))
            let trials = try h.readCSV(folder + stem + "-trials.csv")
            XCTAssertTrue(trials.dropFirst().allSatisfy { $0[0] == runID })
            XCTAssertEqual(try h.run(["check", folder + stem + ".csv"]).status, 0)
            runIDs.insert(runID)
        }
        XCTAssertEqual(runIDs.count, 10)
    }
}
