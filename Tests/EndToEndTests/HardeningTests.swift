import Foundation
import Glibc
import XCTest
import IPCPlatform
import IPCModel
import IPCRun
import IPCAnalysis
import IPCLab

/// Reproducers of the third hardening round, each now ending with its documented exit status and
/// one line on stderr, leaving no partial row, stray run directory or overwritten file.
final class HardeningTests: XCTestCase {
    var h: Harness!

    override func setUpWithError() throws { h = try Harness() }
    override func tearDownWithError() throws { try h.finishChecks() }

    /// The binary under a bash resource limit, such as `-f 1` (file size, KiB) or `-n 5` (descriptors).
    func runUnder(_ limit: String, _ arguments: [String]) throws -> Harness.Outcome {
        h.finish(try h.start(["-c", "ulimit \(limit) && exec \"$0\" \"$@\"", Harness.binary] + arguments, executable: "/bin/bash"))
    }

    /// The file's rows, after checking that each is whole: CRLF at the end and the header's width.
    @discardableResult
    func wholeRows(_ path: String, file: StaticString = #filePath, line: UInt = #line) throws -> [[String]] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertTrue(text.hasSuffix("\r\n"), "\(path) ends mid-row", file: file, line: line)
        let rows = parseCSV(text)
        XCTAssertTrue(rows.allSatisfy { $0.count == rows[0].count }, "\(path) has a partial row", file: file, line: line)
        return rows
    }

    func path(_ name: String) -> String { h.work.appendingPathComponent(name).path }

    func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// SIGXFSZ once killed the runner (exit 153) with a cut-off header and its run directory left.
    func testFileSizeLimitEndsTheRunWithExitThree() throws {
        let output = path("r.csv"), trials = path("r-trials.csv")
        let run = ["run", "-t", "pipe", "-p", "throughput", "-s", "64", "--total", "8K", "-r", "2", "--warmup", "0",
                   "--cpus", "none", "-q", "-o", output]
        // 2 KiB: the headers fit, the case row does not and is cut off again.
        let cut = try runUnder("-f 2", run)
        XCTAssertEqual(cut.status, 3, cut.stderr)
        XCTAssertTrue(cut.stderr.hasPrefix("ipcbench: error: cannot write \(h.work.path)/r"), cut.stderr)
        XCTAssertTrue(cut.stderr.hasSuffix(": File too large; the run stopped with 0 of 1 cases written to \(output); every finished trial is in \(trials)\n"), cut.stderr)
        XCTAssertEqual(try wholeRows(output), [caseColumns])
        try wholeRows(trials)
        // Nothing fits: no header can be written whole, and no file is left.
        for file in [output, trials] { try FileManager.default.removeItem(atPath: file) }
        let none = try runUnder("-f 0", run)
        XCTAssertEqual(none.status, 3, none.stderr)
        XCTAssertEqual(none.stderr, "ipcbench: error: cannot write \(output): File too large; the run stopped before its first trial and left no results file\n")
        XCTAssertFalse(exists(output) || exists(trials))
    }

    /// A full file part way through a run once ended in a partial row that compare and pivot refused.
    func testAFullFileKeepsWholeRowsThatCompareAndPivotRead() throws {
        let output = path("r.csv"), trials = path("r-trials.csv")
        let outcome = try runUnder("-f 8", ["run", "-t", "pipe,unix-stream", "-p", "throughput,latency", "-s", "64,1K",
                                            "--total", "16K", "--count", "50", "-r", "20", "--warmup", "0", "--min-trial-time", "0s",
                                            "--schedule", "sequential", "--cpus", "none", "-q", "-o", output])
        XCTAssertEqual(outcome.status, 3, outcome.stderr)
        XCTAssertTrue(outcome.stderr.contains(": File too large; the run stopped with "), outcome.stderr)
        let cases = try wholeRows(output)
        XCTAssertTrue(outcome.stderr.contains(" with \(cases.count - 1) of 8 cases written to \(output)"), outcome.stderr)
        XCTAssertTrue((1..<8).contains(cases.count - 1), "\(cases.count - 1) cases")
        try wholeRows(trials)
        let compare = try h.run(["compare", output, output])
        XCTAssertEqual(compare.status, 0, compare.stderr)
        let pivot = try h.run(["pivot", output])
        XCTAssertEqual(pivot.status, 0, pivot.stderr)
    }

    /// Under a descriptor limit too low for a trial (a probe of this kernel's limits once failed there
    /// with EMFILE, and before that was read as a limit of 0 and skipped the case), the run is refused
    /// before anything runs, naming the case, what it needs and the limit.
    func testADescriptorLimitTooLowForATrialIsRefused() throws {
        let output = path("n.csv")
        let outcome = try runUnder("-n 5", ["run", "-t", "udp,unix-dgram", "-p", "latency", "-s", "64", "--count", "10", "-r", "1",
                                            "--warmup", "0", "--cpus", "none", "-q", "-o", output])
        XCTAssertEqual(outcome.status, 2, outcome.stderr)
        XCTAssertEqual(outcome.stderr, "ipcbench: error: suite 'latency': a trial of udp latency 64 none may hold 40 descriptors (its links' and workers'), more than 5, the descriptors a process may open (RLIMIT_NOFILE's hard limit; ulimit -Hn); lower the workers (publishers, subscribers, receivers, pairs), or raise the limit\n")
        XCTAssertFalse(exists(output))
    }

    /// A results file with `value` in `column` of its first row, from the pivot fixture.
    func resultsFile(_ name: String, _ column: String?, _ value: String = "", without: String? = nil) throws -> String {
        var rows = try h.readCSV(Harness.repository.appendingPathComponent("Tests/Fixtures/pivot-base.csv").path)
        if let column { rows[1][rows[0].firstIndex(of: column)!] = value }
        if let without, let j = rows[0].firstIndex(of: without) { rows = rows.map { var r = $0; r.remove(at: j); return r } }
        let file = path(name)
        try rows.map(csvLine).joined().write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    /// pivot once copied `0x10`, `NaN`, `inf` and `1e308` into its table while its --metric refused
    /// them, and compare took a payload of `.1`: every reader now refuses them with one same line.
    func testEveryReaderRefusesAFigureThatIsNotAPlainNumber() throws {
        let decimal = "is not a plain decimal number (no exponent) between -1000000000000000 and 1000000000000000; was the file written by ipcbench?"
        let whole = "is not a whole number from 1 to 9223372036854775807; was the file written by ipcbench?"
        for (i, (column, value, problem)) in [("mib_per_s_median", "0x10", decimal), ("mib_per_s_median", "NaN", decimal),
                                              ("mib_per_s_median", "inf", decimal), ("mib_per_s_median", "1e308", decimal),
                                              ("rtt_us_p99", "-2000000000000000", decimal), ("payload_bytes", ".1", whole),
                                              ("payload_bytes", "", whole), ("payload_bytes", "0", whole)].enumerated() {
            let file = try resultsFile("bad\(i).csv", column, value)
            let line = "ipcbench: error: \(file): row 2, column \(column): '\(value)' \(problem)\n"
            for arguments in [["check", file], ["compare", file, file], ["pivot", file], ["pivot", file, "--metric", "mib_per_s_median"]] {
                let outcome = try h.run(arguments)
                XCTAssertEqual(outcome.status, 2, "\(arguments)")
                XCTAssertEqual(outcome.stderr, line, "\(arguments)")
                XCTAssertEqual(outcome.stdout, "", "\(arguments)")
            }
            for (script, output) in [("plot.py", path("plots\(i)")), ("workbook.py", path("book\(i).xlsx"))] {
                let outcome = try h.script(script, [file, "-o", output])
                XCTAssertEqual(outcome.status, 2, "\(script) \(value)")
                XCTAssertEqual(outcome.stderr, "scripts/\(script): error: \(line)", "\(script)")
                XCTAssertFalse(exists(output), "\(script) wrote \(output)")
            }
        }
    }

    /// plot.py once died with a traceback after writing some PNGs, on a file without a pattern column.
    func testPlotChecksBeforeItWrites() throws {
        let file = try resultsFile("nopattern.csv", nil, without: "pattern")
        let plots = path("plots")
        let outcome = try h.script("plot.py", [file, "-o", plots])
        XCTAssertEqual(outcome.status, 2)
        XCTAssertEqual(outcome.stderr, "scripts/plot.py: error: ipcbench: error: \(file): the column pattern is missing; was the file written by ipcbench?\n")
        XCTAssertFalse(exists(plots))
    }

    /// plot.py once followed a symbolic link at its output path and overwrote the target.
    func testPlotNeverWritesThroughALinkNorOverwrites() throws {
        let file = try resultsFile("base.csv", nil)
        let plots = path("plots"), target = path("target.png")
        try FileManager.default.createDirectory(atPath: plots, withIntermediateDirectories: false)
        try "keep".write(toFile: target, atomically: true, encoding: .utf8)
        let link = plots + "/base-throughput.png"
        XCTAssertEqual(symlink(target, link), 0)
        let linked = try h.script("plot.py", [file, "-o", plots])
        XCTAssertEqual(linked.status, 2)
        XCTAssertEqual(linked.stderr, "scripts/plot.py: error: \(link) already exists; choose another -o (nothing is overwritten)\n")
        XCTAssertEqual(try String(contentsOfFile: target, encoding: .utf8), "keep")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: plots), ["base-throughput.png"], "nothing else written")
    }

    /// workbook.py once raised openpyxl's IllegalCharacterError on a control character in a text cell.
    /// Since issue 25 (F11) `check`, which it runs first, refuses the file: exit 2, nothing written.
    func testWorkbookRefusesControlCharacters() throws {
        let file = try resultsFile("control.csv", "cpu_model", "AMD\u{1}EPYC\u{1B}")
        let book = path("control.xlsx")
        let outcome = try h.script("workbook.py", [file, "-o", book])
        XCTAssertEqual(outcome.status, 2, outcome.stderr)
        XCTAssertTrue(outcome.stderr.contains("row 2, column cpu_model: 'AMD\\u{1}EPYC\\u{1B}' is not text without control characters"), outcome.stderr)
        XCTAssertFalse(exists(book))
    }

    /// pivot's errors for a file that is not a regular file once spoke of compare.
    func testPivotNamesWhatItExpects() throws {
        let outcome = try h.run(["pivot", "/dev/null"])
        XCTAssertEqual(outcome.status, 2)
        XCTAssertEqual(outcome.stderr, "ipcbench: error: /dev/null: a character device, not a regular file; expected a results file (.csv)\n")
    }
}
