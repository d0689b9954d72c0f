import Foundation
import XCTest
@testable import IPCPlatform
@testable import IPCModel
@testable import IPCRun
@testable import IPCAnalysis
@testable import IPCLab

/// `ipcbench pivot`'s table, golden, on the two small results files in Tests/Fixtures.
final class PivotTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")
    let base = PivotTests.fixtures.appendingPathComponent("pivot-base.csv").path
    let new = PivotTests.fixtures.appendingPathComponent("pivot-new.csv").path
    let patterns = PivotTests.fixtures.appendingPathComponent("pivot-patterns.csv").path

    func pivot(_ paths: [String], pattern: String? = nil, metric: String? = nil, grouping: PivotGrouping = .transport,
               rows: PivotRows = .payload, size: Int? = nil) throws -> Pivot {
        try makePivot(paths.map(ResultFile.load), names: fileLabels(paths), pattern: pattern, metric: metric, grouping: grouping,
                      rows: rows, size: size)
    }

    func testThroughputByDefault() throws {
        // tcp 4 KiB failed and udp 64 KiB was skipped: empty cells; pipe same 64 KiB is missing.
        XCTAssertEqual(try pivot([base]).csv, """
        throughput mib_per_s_median (MiB/s),pipe split,pipe same,tcp split,udp split\r
        64 B,50.000,80.000,20.000,10.000\r
        4 KiB,1500.000,2500.000,,600.000\r
        64 KiB,3000.000,,2000.000,\r

        """)
    }

    func testLatencyDefaultsToRTTp50() throws {
        XCTAssertEqual(try pivot([base], pattern: "latency").csv, """
        latency rtt_us_p50 (us),pipe split,tcp split\r
        1 B,40.000,52.000\r
        64 B,41.000,53.300\r

        """)
    }

    func testMetricPicksItsPattern() throws {
        let p = try pivot([base], metric: "rtt_us_p99")
        XCTAssertEqual(p.pattern, "latency")
        XCTAssertEqual(p.title, "latency rtt_us_p99 (us)")
        XCTAssertEqual(try pivot([base], metric: "cpu_sys_us_per_msg").title, "throughput cpu_sys_us_per_msg (us per message)")
    }

    func testTwoFilesGroupedByTransportThenByFile() throws {
        XCTAssertEqual(try pivot([base, new], pattern: "latency").csv, """
        latency rtt_us_p50 (us),pipe split (pivot-base),pipe split (pivot-new),tcp split (pivot-base),tcp split (pivot-new)\r
        1 B,40.000,44.000,52.000,57.200\r
        64 B,41.000,45.100,53.300,58.630\r

        """)
        XCTAssertEqual(try pivot([base, new], pattern: "latency", grouping: .file).columns,
                       ["pipe split (pivot-base)", "tcp split (pivot-base)", "pipe split (pivot-new)", "tcp split (pivot-new)"])
        XCTAssertEqual(try pivot([base], grouping: .placement).columns, ["pipe split", "tcp split", "udp split", "pipe same"])
    }

    func testBadMetricOrPatternNamesTheValidOnes() throws {
        XCTAssertThrowsError(try pivot([base], metric: "nope")) { error in
            let message = (error as? InputError)?.message ?? ""
            XCTAssertTrue(message.hasPrefix("--metric nope: no such column; use one of cpus_online, messages_per_trial,"), message)
            XCTAssertTrue(message.contains("rtt_us_p50"), message)
            XCTAssertFalse(message.contains("transport"), message)
        }
        XCTAssertThrowsError(try pivot([base], metric: "cpu_placement")) { error in
            XCTAssertTrue("\(error)".hasPrefix("--metric cpu_placement: not a column of numbers; use one of "), "\(error)")
        }
        XCTAssertThrowsError(try pivot([base], pattern: "bandwidth")) { error in
            XCTAssertEqual("\(error)", "--pattern bandwidth: no case has this pattern; the files have throughput, latency")
        }
        XCTAssertThrowsError(try pivot([base], pattern: "latency", metric: "mib_per_s_median")) { error in
            XCTAssertEqual("\(error)", "no latency case has a value in mib_per_s_median; choose another --metric or --pattern")
        }
    }

    func testOptionsNameAColumnOnlyWhereTheyTellColumnsApart() throws {
        // A copy of the base where tcp latency also ran without nodelay, and one case twice.
        var text = try String(contentsOfFile: base, encoding: .utf8)
        let lines = text.components(separatedBy: "\r\n").filter { $0.contains(",tcp,latency,") }
        text += lines.map { $0.replacingOccurrences(of: ",nodelay,", with: ",,").replacingOccurrences(of: ",52.000,", with: ",99.000,") }
            .joined(separator: "\r\n") + "\r\n" + lines[0] + "\r\n"
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pivot-options-\(UUID().uuidString).csv").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let p = try pivot([path], pattern: "latency")
        XCTAssertEqual(p.columns, ["pipe split", "tcp split default", "tcp split nodelay"])
        XCTAssertEqual(p.values, [["40.000", "99.000", "52.000"], ["41.000", "53.300", "53.300"]])
        XCTAssertEqual(p.warnings.count, 1)
        XCTAssertTrue(p.warnings[0].hasSuffix("tcp latency 1 B split appears twice; the first is kept"), p.warnings[0])
    }

    func testEachPatternDefaultsToItsMainMetric() throws {
        XCTAssertEqual(PatternKind.allCases.map { defaultPivotMetric(pattern: $0.rawValue) },
                       ["mib_per_s_median", "rtt_us_p50", "mib_per_s_median", "msgs_per_s_median", "mib_per_s_median",
                        "mib_per_s_median", "mib_per_s_median", "mib_per_s_median"])
        XCTAssertEqual(try pivot([patterns], pattern: "async-request").metric, "msgs_per_s_median")
        XCTAssertEqual(try pivot([patterns], pattern: "sync-message").csv, """
        sync-message mib_per_s_median (MiB/s),unix-stream split\r
        64 B,3.000\r
        4 KiB,190.000\r

        """)
    }

    func testPayloadRowsNameTheParameterInEachColumn() throws {
        // tcp pairs 4 at 4 KiB failed and udp at 4 KiB was skipped: empty cells.
        XCTAssertEqual(try pivot([patterns], pattern: "pairs").csv, """
        pairs mib_per_s_median (MiB/s),pipe split pairs 1,pipe split pairs 2,pipe split pairs 4,tcp split pairs 1,tcp split pairs 2,tcp split pairs 4,udp split pairs 1,udp split pairs 2,udp split pairs 4\r
        64 B,100.000,200.000,180.000,40.000,80.000,72.000,10.000,20.000,18.000\r
        4 KiB,3000.000,6000.000,5400.000,1200.000,2400.000,,,,\r

        """)
        XCTAssertEqual(try pivot([patterns], pattern: "fanout", metric: "mib_per_s_slowest_median").csv, """
        fanout mib_per_s_slowest_median (MiB/s),pipe split receivers 1,pipe split receivers 2\r
        64 B,40.500,40.500\r
        4 KiB,1215.000,1215.000\r

        """)
        XCTAssertEqual(try pivot([patterns], pattern: "pairs", grouping: .placement).columns.prefix(2), ["pipe split pairs 1", "pipe split pairs 2"])
    }

    func testParameterRowsAtTheLargestPayloadEveryColumnHas() throws {
        // udp has no 4 KiB case, so the default payload is 64 B.
        XCTAssertEqual(try pivot([patterns], pattern: "pairs", rows: .parameter(nil)).csv, """
        pairs mib_per_s_median (MiB/s) at 64 B,pipe split,tcp split,udp split\r
        pairs 1,100.000,40.000,10.000\r
        pairs 2,200.000,80.000,20.000\r
        pairs 4,180.000,72.000,18.000\r

        """)
        XCTAssertEqual(try pivot([patterns], pattern: "pairs", rows: .parameter(nil), size: 4096).csv, """
        pairs mib_per_s_median (MiB/s) at 4 KiB,pipe split,tcp split,udp split\r
        pairs 1,3000.000,1200.000,\r
        pairs 2,6000.000,2400.000,\r
        pairs 4,5400.000,,\r

        """)
        XCTAssertEqual(try pivot([patterns], pattern: "async-request", rows: .parameter(nil)).csv, """
        async-request msgs_per_s_median (messages/s) at 4 KiB,unix-stream split,tcp split\r
        depth 1,25000.000,15000.000\r
        depth 4,100000.000,60000.000\r
        depth 16,100000.000,60000.000\r

        """)
        XCTAssertEqual(try pivot([patterns], pattern: "fanout", rows: .parameter(nil)).rowLabels, ["receivers 1", "receivers 2"])
    }

    /// pubsub takes five parameters: the rows are the one named, each column holds the others fixed.
    func testOneOfSeveralParametersMakesTheRows() throws {
        var text = csvLine(caseColumns)
        for (i, (topology, subscribers)) in [("direct", 1), ("direct", 2), ("broker", 1), ("broker", 2), ("direct", 4)].enumerated() {
            let cells = ["run_id": "r", "transport": "pipe", "pattern": "pubsub", "payload_bytes": "64", "cpu_placement": "split", "status": "ok",
                         "mib_per_s_median": "\(10 * (i + 1)).000", "publishers": "1", "subscribers": "\(subscribers)", "topics": "4",
                         "subscriptions": "1", "topology": topology]
            text += csvLine(caseColumns.map { cells[$0] ?? "" })
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pivot-pubsub-\(getpid()).csv").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertEqual(try pivot([path], rows: .parameter(.subscribers)).csv, """
        "pubsub mib_per_s_median (MiB/s) at 64 B, publishers 1, topics 4, subscriptions 1",pipe split topology direct,pipe split topology broker\r
        subscribers 1,10.000,30.000\r
        subscribers 2,20.000,40.000\r
        subscribers 4,50.000,\r

        """)
        XCTAssertEqual(try pivot([path], rows: .parameter(.topology)).rowLabels, ["topology direct", "topology broker"])
        XCTAssertThrowsError(try pivot([path], rows: .parameter(nil))) { error in
            XCTAssertEqual("\(error)", "--rows parameter: pubsub takes several parameters; name the one for the rows: --rows publishers or --rows subscribers or --rows topics or --rows subscriptions or --rows topology")
        }
        XCTAssertThrowsError(try pivot([path], rows: .parameter(.depth))) { error in
            XCTAssertEqual("\(error)", "--rows depth: pubsub takes publishers, subscribers, topics, subscriptions, topology, not depth")
        }
        XCTAssertEqual(try PivotRows(parsing: "subscribers"), .parameter(.subscribers))
        XCTAssertThrowsError(try PivotRows(parsing: "sub"))
    }

    func testParameterRowsRefuseWhatTheyCannotDraw() throws {
        XCTAssertThrowsError(try pivot([patterns], pattern: "duplex", rows: .parameter(nil))) { error in
            XCTAssertEqual("\(error)", "--rows parameter: duplex takes no parameter; choose --pattern async-request (depth), fanout (receivers), pairs (pairs), pubsub (publishers, subscribers, topics, subscriptions, topology) or --rows payload")
        }
        XCTAssertThrowsError(try pivot([patterns], pattern: "pairs", rows: .parameter(nil), size: 8192)) { error in
            XCTAssertEqual("\(error)", "--size 8KiB: no pairs case has this payload; the files have 64, 4KiB")
        }
        XCTAssertThrowsError(try pivot([patterns], pattern: "pairs", size: 64)) { error in
            XCTAssertEqual("\(error)", "--size picks the payload of --rows parameter; with payload rows every payload is a row")
        }
    }

    func testLabelsAndUnits() {
        XCTAssertEqual([1, 64, 1000, 1024, 4096, 65536, 1 << 20, 3 << 30].map(payloadLabel),
                       ["1 B", "64 B", "1000 B", "1 KiB", "4 KiB", "64 KiB", "1 MiB", "3 GiB"])
        XCTAssertEqual(["mib_per_s_ci95_low", "msgs_per_s_median", "rtt_us_p999", "cpu_user_us_per_msg",
                        "ctxsw_voluntary_per_msg", "msgs_lost", "alloc_bytes_in_loop", "clock_overhead_ns", "repetitions"].map(columnUnit),
                       ["MiB/s", "messages/s", "us", "us per message", "per message", "messages", "bytes", "ns", nil])
        XCTAssertEqual(fileLabels(["a/x.csv", "b/y.csv"]), ["x", "y"])
        XCTAssertEqual(fileLabels(["a/x.csv", "b/x.csv"]), ["a/x.csv", "b/x.csv"])
    }

    /// F11: a cell a spreadsheet would take for a formula gets an apostrophe, control characters are
    /// escaped, and a negative figure stays a number.
    func testCellsAreNeutralisedForSpreadsheets() {
        let table = Pivot(pattern: "throughput", metric: "m", title: "@SUM(A1)", columns: ["=1+1 split", "+x", "pipe\u{1B}[2J"],
                          rowLabels: ["64 B"], values: [["-1.5", "-1+1", "2"]], warnings: [])
        XCTAssertEqual(table.csv, "'@SUM(A1),'=1+1 split,'+x,pipe\\u{1B}[2J\r\n64 B,-1.5,'-1+1,2\r\n")
        XCTAssertEqual(spreadsheetCell("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0")
        XCTAssertEqual(spreadsheetCell("-0.250"), "-0.250")
        XCTAssertEqual(escapingControlCharacters("a\u{7}b\n\u{9B}c", keepingLineBreaks: true), "a\\u{7}b\n\\u{9B}c")
    }
}
