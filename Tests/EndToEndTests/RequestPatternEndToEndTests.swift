import Foundation
import XCTest
import IPCPlatform
import IPCModel
import IPCRun
import IPCAnalysis
import IPCLab

/// sync-message and async-request through the binary: a config that names them, every transport,
/// bytes checked, and the columns each pattern fills.
final class RequestPatternEndToEndTests: XCTestCase {
    var h: Harness!

    override func setUpWithError() throws { h = try Harness() }
    override func tearDownWithError() throws { try h.finishChecks() }

    func testBothPatternsRunOnEveryTransport() throws {
        let config = h.work.appendingPathComponent("requests.toml")
        try """
        [defaults]
        repetitions = 2
        warmup = 1
        cpus = "none"
        timeout = "20s"
        min_trial_time = "0s"
        sizes = ["1", "4KiB"]
        count = 200

        [[suite]]
        pattern = "sync-message"

        [[suite]]
        pattern = "async-request"
        depth = [1, 4]
        """.write(to: config, atomically: true, encoding: .utf8)
        let outcome = try h.run(["run", config.path, "--verify", "-o", "-"])
        let rows = parseCSV(outcome.stdout)
        // Over UDP a busy machine may hold a reply past its time (max(10 × the warm-up's p99, 20 ms)):
        // with 200 requests a trial, a 20 ms stall loses more than 1% and fails the case, saying so.
        let lossFailed = rows.dropFirst().filter { column("status", $0) == "failed" && column("error", $0).contains("got no reply in time (more than 1%)") }
        XCTAssertEqual(outcome.status, lossFailed.isEmpty ? 0 : 1, outcome.stderr)
        XCTAssertEqual(rows.first, caseColumns)
        let transports = TransportKind.allCases.count
        XCTAssertEqual(rows.count - 1, transports * 2 + transports * 2 * 2, "sync-message, then async-request at depths 1 and 4")
        for row in rows.dropFirst() {
            let pattern = column("pattern", row)
            let name = "\(column("transport", row)) \(pattern) \(column("payload_bytes", row)) depth \(column("depth", row))"
            let kind = TransportKind(rawValue: column("transport", row))!
            if let reason = skipReason(kind, PatternKind(rawValue: pattern)!,
                                       CaseShape(payloadBytes: Int(column("payload_bytes", row))!, depth: Int(column("depth", row)) ?? 1)) {
                XCTAssertEqual(column("status", row), "skipped", name)
                XCTAssertEqual(column("error", row), reason, name)
                continue
            }
            if kind.isDatagram && column("depth", row) == "4" && column("payload_bytes", row) == "1" {
                XCTAssertEqual(column("status", row), "skipped", name)
                XCTAssertTrue(column("error", row).contains("needs at least 16 bytes per message"), column("error", row))
                continue
            }
            if kind.semantics == .lossyMessages && lossFailed.contains(row) { continue }  // the error gives the counts
            XCTAssertEqual(column("status", row), "ok", "\(name): \(column("error", row))")
            XCTAssertEqual(column("alloc_bytes_in_loop", row), "0", name)
            XCTAssertGreaterThan(Double(column("msgs_per_s_median", row)) ?? 0, 0, name)
            XCTAssertGreaterThan(Double(column("rtt_us_p50", row)) ?? 0, 0, name)
            if pattern == "sync-message" {
                XCTAssertGreaterThan(Double(column("mib_per_s_median", row)) ?? 0, 0, name)
            } else {
                XCTAssertEqual(pattern, "async-request")
                XCTAssertEqual(column("mib_per_s_median", row), "", name)
            }
            if kind.isDatagram {
                XCTAssertEqual(column("msgs_sent", row), "400", name)
                let lost = Int(column("msgs_lost", row)) ?? -1
                XCTAssertEqual((Int(column("msgs_received", row)) ?? -1) + lost, 400, name)
                // UDP: a request with no reply within max(10 × the warm-up's p99, 20 ms) is lost, up to 1% of a trial's.
                XCTAssertLessThanOrEqual(lost, kind.semantics == .lossyMessages ? 4 : 0, name)
            }
        }
    }

    func testListNamesEveryPattern() throws {
        let outcome = try h.run(["list"])
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        XCTAssertTrue(outcome.stdout.contains("""
          sync-message   send, then wait for a small acknowledgement (synchronous message); msgs/s, MiB/s and send-to-ack percentiles
          async-request  pipelined requests, up to depth outstanding (asynchronous request); requests/s and request-to-reply percentiles
        """), outcome.stdout)
    }
}
