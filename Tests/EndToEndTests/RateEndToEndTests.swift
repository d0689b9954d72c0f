import Foundation
import XCTest
import IPCPlatform
import IPCModel
import IPCRun
import IPCAnalysis
import IPCLab

/// `--rate` and `--wait` through the binary: a case per rate or wait mode with its figures in the
/// files, read back by check and compare, what cannot serve a mode skipped with the reason, and bad
/// input refused before anything runs. About 15 s.
final class RateEndToEndTests: XCTestCase {
    var h: Harness!

    override func setUpWithError() throws { h = try Harness() }
    override func tearDownWithError() throws { try h.finishChecks() }

    func testARateSweepWritesItsFiguresAndComparesByRate() throws {
        let output = h.work.appendingPathComponent("rate.csv").path
        let outcome = try h.run(["run", "-p", "latency,pubsub", "-t", "pipe,udp", "-s", "64", "--rate", "2000,20000",
                                 "--count", "400", "--total", "32KiB", "--subscribers", "1", "--topology", "direct",
                                 "-r", "2", "--warmup", "0", "--min-trial-time", "0s", "--verify", "-q", "-o", output])
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        let rows = Array(try h.readCSV(output).dropFirst())
        XCTAssertEqual(rows.count, 8)
        for row in rows {
            let label = "\(column("transport", row)) \(column("pattern", row)) \(column("rate", row))"
            XCTAssertEqual(column("status", row), "ok", label)
            XCTAssertTrue(["2000", "20000"].contains(column("rate", row)), label)
            // One sender each: offered is the rate.
            XCTAssertEqual(column("offered_msgs_per_s", row), column("rate", row), label)
            XCTAssertGreaterThan(Double(column("achieved_msgs_per_s_median", row)) ?? 0, 0, label)
            let late = try XCTUnwrap(Double(column("late_share", row)), label)
            XCTAssertTrue((0...1).contains(late), label)
            XCTAssertEqual(column("alloc_bytes_in_loop", row), "0", label)
            if column("pattern", row) == "latency" {
                let corrected = try XCTUnwrap(Double(column("rtt_us_p999", row)), label)
                let uncorrected = try XCTUnwrap(Double(column("rtt_us_p999_uncorrected", row)), label)
                XCTAssertGreaterThanOrEqual(corrected, uncorrected, label)
            } else {
                XCTAssertFalse(column("delivery_us_p999_median", row).isEmpty, label)
                XCTAssertFalse(column("delivery_us_p999_uncorrected_median", row).isEmpty, label)
                XCTAssertEqual(column("rtt_us_p999_uncorrected", row), "", label)
            }
        }
        // The rate is in the case key: check reads the file, compare keeps the rates apart.
        XCTAssertEqual(try h.run(["check", output]).status, 0)
        let compared = try h.run(["compare", output, output, "--format", "csv"])
        XCTAssertEqual(compared.status, 0, compared.stderr)
        let table = parseCSV(compared.stdout)
        let rate = try XCTUnwrap(table.first?.firstIndex(of: "rate"))
        XCTAssertEqual(Set(table.dropFirst().map { $0[rate] }.filter { !$0.isEmpty }), ["2000", "20000"])
        // pivot makes a row per rate.
        let pivot = try h.run(["pivot", output, "--pattern", "latency", "--rows", "rate", "--metric", "rtt_us_p99"])
        XCTAssertEqual(pivot.status, 0, pivot.stderr)
        let pivoted = parseCSV(pivot.stdout)
        XCTAssertEqual(pivoted.first?.first, "latency rtt_us_p99 (us) at 64 B")
        XCTAssertEqual(pivoted.dropFirst().map { $0[0] }, ["rate 2000", "rate 20000"])
        // The latency against load plot: a line per transport through both rates, read through the binary.
        let plots = h.work.appendingPathComponent("plots").path
        let plotted = try h.script("plot.py", [output, "-o", plots])
        XCTAssertEqual(plotted.status, 0, plotted.stderr)
        for pattern in ["latency", "pubsub"] {
            let png = plots + "/rate-\(pattern)-load.png"
            XCTAssertTrue(plotted.stdout.contains(png), plotted.stdout)
            let sidecar = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: png + ".json"))) as? [String: Any]
            let series = try XCTUnwrap(sidecar?["series"] as? [[String: Any]], pattern)
            XCTAssertEqual(Set(series.compactMap { $0["transport"] as? String }), ["pipe", "udp"], pattern)
            XCTAssertTrue(series.allSatisfy { ($0["points"] as? [[String: Any]])?.map { $0["offered"] as? Int } == [2000, 20000] }, pattern)
        }
    }

    /// --wait uring serves the patterns that watch several descriptors (the ring waits on all of
    /// them), every byte checked and nothing allocated; the one-way patterns at a rate fill the
    /// delivery columns from the send times their messages carry.
    func testUringServesEveryPatternAndOneWayPatternsTimeDeliveriesAtARate() throws {
        let waited = h.work.appendingPathComponent("uring.csv").path
        let outcome = try h.run(["run", "-p", "duplex,pubsub,async-request", "-t", "pipe,unix-dgram", "-s", "64", "--count", "300",
                                 "--total", "16KiB", "--depth", "4", "--subscribers", "1", "--topology", "broker", "--wait", "uring",
                                 "-r", "1", "--warmup", "0", "--min-trial-time", "0s", "--verify", "-q", "-o", waited])
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        let rows = Array(try h.readCSV(waited).dropFirst())
        XCTAssertEqual(rows.count, 6)
        for row in rows {
            let label = "\(column("transport", row)) \(column("pattern", row))"
            XCTAssertEqual(column("status", row), "ok", label + " " + column("error", row))
            XCTAssertEqual(column("wait", row), "uring", label)
            XCTAssertEqual(column("alloc_bytes_in_loop", row), "0", label)
        }
        let rated = h.work.appendingPathComponent("oneway.csv").path
        let paced = try h.run(["run", "-p", "throughput,fanout,pairs", "-t", "pipe,udp", "-s", "64", "--rate", "20000", "--total", "16KiB",
                               "--receivers", "2", "--pairs", "2", "-r", "2", "--warmup", "0", "--min-trial-time", "0s", "--verify", "-q",
                               "-o", rated])
        XCTAssertEqual(paced.status, 0, paced.stderr)
        let oneWay = Array(try h.readCSV(rated).dropFirst())
        XCTAssertEqual(oneWay.count, 6)
        for row in oneWay {
            let label = "\(column("transport", row)) \(column("pattern", row))"
            XCTAssertEqual(column("status", row), "ok", label + " " + column("error", row))
            let p50 = try XCTUnwrap(Double(column("delivery_us_p50_median", row)), label)
            let p999 = try XCTUnwrap(Double(column("delivery_us_p999_median", row)), label)
            let uncorrected = try XCTUnwrap(Double(column("delivery_us_p999_uncorrected_median", row)), label)
            XCTAssertGreaterThan(p50, 0, label)
            XCTAssertGreaterThanOrEqual(p999, p50, label)
            XCTAssertGreaterThanOrEqual(p999, uncorrected, label)
            XCTAssertEqual(column("alloc_bytes_in_loop", row), "0", label)
        }
    }

    func testBadRatesAreRefusedBeforeAnythingRuns() throws {
        let output = h.work.appendingPathComponent("never.csv").path
        let zero = try h.run(["run", "-p", "latency", "-t", "pipe", "--rate", "0", "-o", output])
        XCTAssertEqual(zero.status, 2)
        XCTAssertEqual(zero.stderr, "ipcbench: error: --rate 0 is out of range; expected a whole number of messages a second or an array of them, each at least 1\n")
        let word = try h.run(["run", "-p", "latency", "-t", "pipe", "--rate", "abc", "-o", output])
        XCTAssertEqual(word.status, 2)
        XCTAssertEqual(word.stderr, "ipcbench: error: --rate 'abc' is not a whole number; expected a whole number of messages a second or an array of them, each at least 1\n")
        let duplex = try h.run(["run", "-p", "duplex", "-t", "pipe", "--rate", "1000", "-o", output])
        XCTAssertEqual(duplex.status, 2)
        XCTAssertTrue(duplex.stderr.hasPrefix("ipcbench: error: suite 'duplex': rate does not apply to pattern duplex"), duplex.stderr)
        XCTAssertEqual(duplex.stderr.filter { $0 == "\n" }.count, 1)
        let slow = try h.run(["run", "-p", "latency", "-t", "pipe", "-s", "64", "--rate", "10", "--count", "1000", "-o", output])
        XCTAssertEqual(slow.status, 2)
        XCTAssertTrue(slow.stderr.contains("takes longer than the timeout 30s; lower count or raise timeout"), slow.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: output))
    }

    func testWaitModesAreCasesAndWhatCannotServeThemIsSkipped() throws {
        let output = h.work.appendingPathComponent("wait.csv").path
        let outcome = try h.run(["run", "-p", "latency,pubsub", "-t", "pipe,shm-futex", "-s", "64", "--count", "300", "--total", "16KiB",
                                 "--subscribers", "1", "--topology", "direct", "--wait", "block,busy", "-r", "1", "--warmup", "0",
                                 "--min-trial-time", "0s", "--verify", "-q", "-o", output])
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        let rows = Array(try h.readCSV(output).dropFirst())
        let status = Dictionary(uniqueKeysWithValues: rows.map { ("\(column("transport", $0)) \(column("pattern", $0)) \(column("wait", $0))", column("status", $0)) })
        XCTAssertEqual(status, ["pipe latency block": "ok", "pipe latency busy": "ok", "pipe pubsub block": "skipped", "pipe pubsub busy": "ok",
                                "shm-futex latency block": "skipped", "shm-futex latency busy": "skipped",
                                "shm-futex pubsub block": "skipped", "shm-futex pubsub busy": "skipped"])
        let blocked = try XCTUnwrap(rows.first { column("pattern", $0) == "pubsub" && column("wait", $0) == "block" && column("transport", $0) == "pipe" })
        XCTAssertTrue(column("error", blocked).contains("a blocking read on one descriptor would stall the others"), column("error", blocked))
        XCTAssertTrue(rows.filter { column("status", $0) == "ok" }.allSatisfy { column("alloc_bytes_in_loop", $0) == "0" })
        let list = try h.run(["list"])
        XCTAssertTrue(list.stdout.contains("wait modes (--wait"), list.stdout)
        XCTAssertTrue(list.stdout.contains("  busy    not on shm-futex, shm-spin\n"), list.stdout)
        let never = h.work.appendingPathComponent("never.csv").path
        let nap = try h.run(["run", "-p", "latency", "-t", "pipe", "--wait", "nap", "-o", never])
        XCTAssertEqual(nap.status, 2)
        XCTAssertEqual(nap.stderr, "ipcbench: error: --wait 'nap': expected \"auto\", \"block\", \"poll\", \"epoll\", \"busy\", \"uring\" or an array of them\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: never))
        // A kernel that refuses io_uring (played by the test switch) skips uring with the reason, at start-up.
        let refused = try h.run(["run", "-p", "latency", "-t", "pipe", "-s", "64", "--count", "100", "--wait", "uring,poll", "-r", "1",
                                 "--warmup", "0", "-q", "-o", "-"], environment: ["IPCBENCH_TEST_NO_IO_URING": "1"])
        XCTAssertEqual(refused.status, 0, refused.stderr)
        let table = parseCSV(refused.stdout)
        XCTAssertEqual(table.dropFirst().map { column("wait", $0) + " " + column("status", $0) }, ["uring skipped", "poll ok"])
        XCTAssertTrue(column("error", table[1]).hasPrefix("this kernel refuses io_uring: io_uring_setup: Operation not permitted"), column("error", table[1]))
        let listed = try h.run(["list"], environment: ["IPCBENCH_TEST_NO_IO_URING": "1"])
        XCTAssertTrue(listed.stdout.contains("io_uring on this kernel       this kernel refuses io_uring"), listed.stdout)
    }
}
