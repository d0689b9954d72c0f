import Foundation
import Glibc
import XCTest
import IPCPlatform
import IPCModel
import IPCRun
import IPCAnalysis
import IPCLab

/// `ipcbench compare` on hand-written files: several runs a side, the regression gate, and input
/// that must be refused (exit 2) or skipped with a warning, never a trap.
final class CompareInputTests: XCTestCase {
    var h: Harness!

    override func setUpWithError() throws { h = try Harness() }
    override func tearDownWithError() throws { try h.finishChecks() }

    /// Writes `<stem>.csv` with one throughput case (pipe, 4096 B) and, unless `trials` is nil,
    /// `<stem>-trials.csv` with those MiB/s figures. `median` overrides the case row's median cell.
    @discardableResult
    func write(_ stem: String, runID: String, trials: [String]?, median: String = "100.000", trialsRunID: String? = nil,
               cases: [String] = ["pipe"]) throws -> String {
        var caseText = csvLine(caseColumns)
        var trialText = csvLine(trialColumns)
        for transport in cases {
            let row: [String: String] = [
                "run_id": runID, "hostname": "vm", "kernel_release": "6.1", "cpu_model": "Test CPU", "transport": transport,
                "pattern": "throughput", "payload_bytes": "4096", "messages_per_trial": "100", "repetitions": "5",
                "cpu_placement": "split:0,1", "status": "ok", "mib_per_s_median": median, "mib_per_s_mean": "100.000",
                "mib_per_s_stddev": "1.000",
            ]
            caseText += csvLine(caseColumns.map { row[$0] ?? "" })
            for (i, v) in (trials ?? []).enumerated() {
                let t = ["run_id": trialsRunID ?? runID, "transport": transport, "pattern": "throughput", "payload_bytes": "4096",
                         "cpu_placement": "split:0,1", "trial": String(i + 1), "mib_per_s": v]
                trialText += csvLine(trialColumns.map { t[$0] ?? "" })
            }
        }
        let path = h.work.appendingPathComponent(stem + ".csv").path
        try caseText.write(toFile: path, atomically: true, encoding: .utf8)
        if trials != nil {
            try trialText.write(toFile: h.work.appendingPathComponent(stem + "-trials.csv").path, atomically: true, encoding: .utf8)
        }
        return path
    }

    func assertRefused(_ arguments: [String], naming: String, saying: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let outcome = try h.run(["compare"] + arguments)
        XCTAssertEqual(outcome.status, 2, outcome.stderr, file: file, line: line)
        XCTAssertTrue(outcome.stderr.contains(naming) && outcome.stderr.contains(saying), outcome.stderr, file: file, line: line)
        XCTAssertEqual(outcome.stderr.split(separator: "\n").count, 1, outcome.stderr, file: file, line: line)
        XCTAssertEqual(outcome.stdout, "", file: file, line: line)
    }

    func testOnlyRegularFilesOfBoundedSize() throws {
        let a = try write("a", runID: "ra", trials: ["100", "101", "99", "100.5", "99.5"])
        try assertRefused([a, "/dev/zero"], naming: "/dev/zero", saying: "a character device, not a regular file")
        try assertRefused([a, h.work.path], naming: h.work.path, saying: "a directory, not a regular file")
        let fifo = h.work.appendingPathComponent("fifo.csv").path
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        try assertRefused([a, fifo], naming: fifo, saying: "a FIFO, not a regular file")
        // A sparse file just over the limit: refused from its size, before it is read.
        let big = h.work.appendingPathComponent("big.csv").path
        XCTAssertTrue(FileManager.default.createFile(atPath: big, contents: nil))
        XCTAssertEqual(truncate(big, off_t(compareFileLimit + 1)), 0)
        try assertRefused([a, big], naming: big, saying: "larger than 256 MiB")
        // A trials file that is not a regular file is refused too.
        let b = try write("b", runID: "rb", trials: nil)
        XCTAssertEqual(mkfifo(h.work.appendingPathComponent("b-trials.csv").path, 0o600), 0)
        try assertRefused([a, b], naming: "b-trials.csv", saying: "a FIFO, not a regular file")
    }

    func testTrialsFromAnotherRunAreRefused() throws {
        let a = try write("a", runID: "ra", trials: ["100", "101", "99", "100.5", "99.5"])
        let b = try write("b", runID: "rb", trials: ["100", "101", "99", "100.5", "99.5"], trialsRunID: "rx")
        try assertRefused([a, b], naming: "b-trials.csv", saying: "has run_id rx but \(b) has run_id rb")
    }

    func testMalformedSidesAndHeaders() throws {
        let a = try write("a", runID: "ra", trials: ["100", "101", "99", "100.5", "99.5"])
        try assertRefused([a, a + ","], naming: a, saying: "an empty file name")
        let twice = h.work.appendingPathComponent("twice.csv").path
        try (csvLine(caseColumns + ["status"]) + csvLine(caseColumns.map { _ in "x" } + ["ok"])).write(toFile: twice, atomically: true, encoding: .utf8)
        try assertRefused([a, twice], naming: twice, saying: "the column status appears twice")
    }

    /// Zero and negative figures skip their case with a warning naming the case and the file; the
    /// other cases are still compared. A figure that is not a plain number in range (huge, NaN,
    /// infinite, with an exponent) is refused with exit 2, naming the file, the row and the column.
    func testAbsurdFiguresSkipTheirCaseOrAreRefused() throws {
        let a = try write("a", runID: "ra", trials: nil, cases: ["pipe", "fifo"])
        for (stem, median) in [("negative", "-5"), ("zero", "0")] {
            let b = try write(stem, runID: "r\(stem)", trials: nil, median: median, cases: ["pipe"])
            let outcome = try h.run(["compare", a, b, "--format", "csv"])
            XCTAssertEqual(outcome.status, 0, outcome.stderr)
            XCTAssertTrue(outcome.stderr.contains("warning: \(b): pipe throughput 4096 split: mib_per_s_median is '\(median)', not a positive number up to 1e15; the case is skipped"), outcome.stderr)
            XCTAssertEqual(parseCSV(outcome.stdout).count, 1, "only the header: \(outcome.stdout)")
        }
        for (stem, median) in [("huge", "1e19"), ("long", "1234567890123456789012345678901234567890"), ("nan", "nan"), ("inf", "inf")] {
            let b = try write(stem, runID: "r\(stem)", trials: nil, median: median, cases: ["pipe"])
            try assertRefused([a, b], naming: "\(b): row 2, column mib_per_s_median: '\(median)'", saying: "is not a plain decimal number")
        }
        // In a trials file, too.
        let c = try write("c", runID: "rc", trials: ["100", "1e19", "99", "100.5", "99.5"], cases: ["pipe", "fifo"])
        try assertRefused([a, c], naming: "c-trials.csv: row 3, column mib_per_s: '1e19'", saying: "is not a plain decimal number")
    }

    /// Every case that falls back to the summary columns is named, not just the first.
    func testEveryFallbackIsNamed() throws {
        let a = try write("a", runID: "ra", trials: nil, cases: ["pipe", "fifo"])
        let b = try write("b", runID: "rb", trials: nil, cases: ["pipe", "fifo"])
        let outcome = try h.run(["compare", a, b])
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        for transport in ["pipe", "fifo"] {
            XCTAssertTrue(outcome.stdout.contains("warning: \(transport) throughput 4096 split: no trials in \(a) or \(b); its within-run interval comes from a Welch test on the summary columns"), outcome.stdout)
        }
    }

    /// Several runs a side, joined with commas; the gate fails only when the whole interval lies
    /// beyond the threshold, and refuses to gate on nothing.
    func testSeveralRunsAndTheGate() throws {
        let trials = ["100", "101", "99", "100.5", "99.5"]
        // Runs drift by 1%; the new side is 20% slower.
        let a = try (1...3).map { i in try write("a\(i)", runID: "ra\(i)", trials: trials.map { String(Double($0)! * (0.99 + 0.01 * Double(i))) }) }
        let slower = try (1...3).map { i in try write("b\(i)", runID: "rb\(i)", trials: trials.map { String(Double($0)! * 0.8 * (0.99 + 0.01 * Double(i))) }) }
        let sideA = a.joined(separator: ","), sideB = slower.joined(separator: ",")
        let csv = try h.run(["compare", sideA, sideB, "--format", "csv"])
        XCTAssertEqual(csv.status, 0, csv.stderr)
        let rows = parseCSV(csv.stdout)
        XCTAssertEqual(rows.first, compareCSVColumns)
        let records = rows.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(compareCSVColumns, $0)) }
        let pipe = try XCTUnwrap(records.first { $0["kind"] == "case" })
        XCTAssertEqual(pipe["new_file"], sideB)
        XCTAssertEqual(pipe["method"], "runs-t")
        XCTAssertEqual(pipe["significant"], "1")
        let high = try XCTUnwrap(Double(pipe["change_ci95_high_pct"] ?? ""))
        let low = try XCTUnwrap(Double(pipe["change_ci95_low_pct"] ?? ""))
        XCTAssertLessThan(high, -10)
        XCTAssertEqual(records.last?["kind"], "geomean")
        XCTAssertEqual(records.last?["method"], "runs-welch")

        let gate = try h.run(["compare", sideA, sideB, "--fail-on-regression", "10"])
        XCTAssertEqual(gate.status, 1, gate.stderr)
        XCTAssertTrue(gate.stderr.contains("1 cases and 1 geometric means or common shifts regressed significantly with their whole 95% interval beyond 10.0%, for example geomean MiB/s -20.0%"), gate.stderr)
        // The interval reaches past the threshold: not proven, so the gate passes.
        let loose = try h.run(["compare", sideA, sideB, "--fail-on-regression", formatDecimal(-low - 0.5, places: 1)])
        XCTAssertEqual(loose.status, 0, loose.stderr)
        // No case in both sides: nothing to gate on, refused before anything is printed.
        let fifo = try (1...2).map { i in try write("f\(i)", runID: "rf\(i)", trials: trials, cases: ["fifo"]) }
        let nothing = try h.run(["compare", sideA, fifo.joined(separator: ","), "--fail-on-regression", "10"])
        XCTAssertEqual(nothing.status, 2, nothing.stderr)
        XCTAssertEqual(nothing.stdout, "")
        XCTAssertTrue(nothing.stderr.contains("no case could be compared and bounded"), nothing.stderr)
    }
}
