import Foundation
import XCTest
import IPCBench

/// udp-multicast through the binary: fanout's one send reaches every receiver, checked byte by byte
/// (`--verify`), and every pattern it cannot serve is skipped with the reason.
final class MulticastEndToEndTests: XCTestCase {
    var h: Harness!

    override func setUpWithError() throws { h = try Harness() }
    override func tearDownWithError() throws { try h.finishChecks() }

    func testFanoutDeliversOneSendToEveryReceiver() throws {
        let output = h.work.appendingPathComponent("multicast.csv").path
        let outcome = try h.run(["run", "-t", "udp-multicast", "-p", "all", "-s", "1KiB", "--receivers", "3", "--total", "256KiB",
                                 "--count", "100", "--depth", "4", "--pairs", "2", "-r", "2", "--warmup", "0", "--min-trial-time", "0s",
                                 "--verify", "-q", "-o", output])
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        let rows = try h.readCSV(output).dropFirst()
        XCTAssertEqual(rows.count, PatternKind.allCases.count)
        for row in rows {
            let pattern = column("pattern", row)
            guard pattern == "fanout" else {
                XCTAssertEqual(column("status", row), "skipped", pattern)
                XCTAssertTrue(column("error", row).hasPrefix("udp-multicast delivers one send to every receiver of a group: it serves fanout"), column("error", row))
                continue
            }
            XCTAssertEqual(column("status", row), "ok", column("error", row))
            XCTAssertEqual(column("receivers", row), "3")
            XCTAssertEqual(column("cpu_placement", row).split(separator: ",").count, 4, "a sender and three receivers")
            // The copies due: one per message and receiver, from one send per message.
            let messages = Int(column("messages_per_trial", row))!
            XCTAssertEqual(Int(column("msgs_sent", row)), 2 * 3 * messages)
            let received = Int(column("msgs_received", row))!, lost = Int(column("msgs_lost", row))!
            XCTAssertGreaterThan(received, 0)
            XCTAssertEqual(received + lost, 2 * 3 * messages, "loss is counted, never invented")
            XCTAssertEqual(column("alloc_bytes_in_loop", row), "0")
            XCTAssertEqual(column("peers_rejected", row), "0")
        }
    }
}
