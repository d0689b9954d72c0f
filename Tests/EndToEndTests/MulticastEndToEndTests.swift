import Foundation
import XCTest
import IPCPlatform
import IPCModel
import IPCRun
import IPCAnalysis
import IPCLab

/// udp-multicast through the binary: fanout's one send reaches every receiver and pubsub's every
/// subscriber of the topic (a group per topic), checked byte by byte (`--verify`), and every pattern
/// it cannot serve is skipped with the reason.
final class MulticastEndToEndTests: XCTestCase {
    var h: Harness!

    override func setUpWithError() throws { h = try Harness() }
    override func tearDownWithError() throws { try h.finishChecks() }

    func testFanoutDeliversOneSendToEveryReceiver() throws {
        let output = h.work.appendingPathComponent("multicast.csv").path
        let outcome = try h.run(["run", "-t", "udp-multicast", "-p", "all", "-s", "1KiB", "--receivers", "3", "--total", "256KiB",
                                 "--count", "100", "--depth", "4", "--pairs", "2", "--publishers", "2", "--subscribers", "3",
                                 "--topics", "2", "--subscriptions", "1", "--topology", "direct,broker", "-r", "2", "--warmup", "0", "--min-trial-time", "0s",
                                 "--verify", "-q", "-o", output])
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        let rows = try h.readCSV(output).dropFirst()
        XCTAssertEqual(rows.count, PatternKind.allCases.count + 1, "pubsub: direct and broker")
        for row in rows {
            let pattern = column("pattern", row)
            guard pattern == "fanout" || pattern == "pubsub" else {
                XCTAssertEqual(column("status", row), "skipped", pattern)
                XCTAssertTrue(column("error", row).hasPrefix("udp-multicast delivers one send to every receiver of a group: it serves fanout, pubsub"), column("error", row))
                continue
            }
            XCTAssertEqual(column("status", row), "ok", column("error", row))
            if pattern == "fanout" {
                XCTAssertEqual(column("receivers", row), "3")
                XCTAssertEqual(column("cpu_placement", row).split(separator: ",").count, 4, "a sender and three receivers")
            } else {
                XCTAssertEqual(column("subscribers", row), "3")
                let broker = column("topology", row) == "broker"
                XCTAssertEqual(column("cpu_placement", row).split(separator: ",").count, broker ? 6 : 5, "two publishers, three subscribers")
            }
            // The copies due: fanout, one per message and receiver; pubsub, two publishers' messages on
            // two topics, each to the subscribers of its topic (two of them on topic 0, one on 1).
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
