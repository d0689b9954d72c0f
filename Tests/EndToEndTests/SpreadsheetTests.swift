import Foundation
import XCTest
import IPCPlatform
import IPCModel
import IPCRun
import IPCAnalysis
import IPCLab

/// `ipcbench pivot` and scripts/workbook.py, checked in a real spreadsheet: LibreOffice opens and
/// converts the workbook, and the chart parts inside the .xlsx reference the right cells.
final class SpreadsheetTests: XCTestCase {
    var h: Harness!
    static let fixtures = Harness.repository.appendingPathComponent("Tests/Fixtures")

    override func setUpWithError() throws { h = try Harness() }
    override func tearDownWithError() throws { try h.finishChecks() }

    /// A fixture copied into the test's folder, so that outputs beside it stay in the folder.
    func fixture(_ name: String) throws -> String {
        let copy = h.work.appendingPathComponent(name)
        try FileManager.default.copyItem(at: Self.fixtures.appendingPathComponent(name), to: copy)
        return copy.path
    }

    func testPivotWritesTheGoldenTable() throws {
        let base = try fixture("pivot-base.csv"), new = try fixture("pivot-new.csv")
        let golden = """
        throughput mib_per_s_median (MiB/s),pipe split,pipe same,tcp split,udp split\r
        64 B,50.000,80.000,20.000,10.000\r
        4 KiB,1500.000,2500.000,,600.000\r
        64 KiB,3000.000,,2000.000,\r

        """
        let stdout = try h.run(["pivot", base])
        XCTAssertEqual(stdout.status, 0, stdout.stderr)
        XCTAssertEqual(stdout.stdout, golden)
        XCTAssertEqual(stdout.stderr, "")

        let output = h.work.appendingPathComponent("pivot.csv").path
        XCTAssertEqual(try h.run(["pivot", base, "-o", output]).status, 0)
        XCTAssertEqual(try String(contentsOfFile: output, encoding: .utf8), golden)
        let again = try h.run(["pivot", new, "-o", output])
        XCTAssertEqual(again.status, 2)
        XCTAssertEqual(again.stderr, "ipcbench: error: \(output) already exists; ipcbench never overwrites: choose another --output\n")
        XCTAssertEqual(try String(contentsOfFile: output, encoding: .utf8), golden, "the existing file is untouched")

        let twoFiles = try h.run(["pivot", base, new, "--pattern", "latency", "--metric", "rtt_us_p99", "--by", "file"])
        XCTAssertEqual(twoFiles.status, 0, twoFiles.stderr)
        XCTAssertEqual(twoFiles.stdout, """
        latency rtt_us_p99 (us),pipe split (pivot-base),tcp split (pivot-base),pipe split (pivot-new),tcp split (pivot-new)\r
        1 B,60.000,76.000,66.000,83.600\r
        64 B,61.500,77.900,67.650,85.690\r

        """)
    }

    func testPivotBadInputExitsTwoAndWritesNothing() throws {
        let base = try fixture("pivot-base.csv")
        let output = h.work.appendingPathComponent("never.csv").path
        let cases: [([String], String)] = [
            (["--metric", "nope"], "ipcbench: error: --metric nope: no such column; use one of cpus_online, messages_per_trial,"),
            (["--metric", "status"], "ipcbench: error: --metric status: not a column of numbers; use one of "),
            (["--pattern", "bandwidth"], "ipcbench: error: --pattern bandwidth: no case has this pattern; the files have throughput, latency"),
            (["--by", "kernel"], "ipcbench: error: --by kernel: expected one of transport, placement, file"),
            (["--pattern", "latency", "--metric", "msgs_per_s_median"], "ipcbench: error: no latency case has a value in msgs_per_s_median"),
        ]
        for (arguments, prefix) in cases {
            let outcome = try h.run(["pivot", base] + arguments + ["-o", output])
            XCTAssertEqual(outcome.status, 2, "\(arguments)")
            XCTAssertTrue(outcome.stderr.hasPrefix(prefix), "\(arguments): \(outcome.stderr)")
            XCTAssertEqual(outcome.stderr.filter { $0 == "\n" }.count, 1, "one line: \(outcome.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: output), "\(arguments)")
        }
        let missing = try h.run(["pivot", h.work.appendingPathComponent("missing.csv").path, "-o", output])
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.stderr.contains("missing.csv: cannot read the file"), missing.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: output))
    }

    func testWorkbookOfTwoFilesChartsEveryMetricAndTheChanges() throws {
        let base = try fixture("pivot-base.csv"), new = try fixture("pivot-new.csv")
        let made = try h.script("workbook.py", [base, new])
        XCTAssertEqual(made.status, 0, made.stderr)
        let xlsx = h.work.appendingPathComponent("pivot-base.xlsx").path
        XCTAssertEqual(made.stdout, xlsx + "\n")
        let before = try Data(contentsOf: URL(fileURLWithPath: xlsx))
        let again = try h.script("workbook.py", [base, new])
        XCTAssertEqual(again.status, 2)
        XCTAssertTrue(again.stderr.contains("already exists"), again.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: xlsx)), before, "never overwritten")

        let book = try describe(xlsx)
        XCTAssertEqual(book.sheets, ["results", "throughput", "latency p50", "latency p99", "compare"])
        let files = [try cases(base), try cases(new)]
        checkResultsSheet(book, files, header: try header(base))
        checkMetricCharts(book, files, names: ["pivot-base", "pivot-new"])

        // compare: every column of `ipcbench compare --format csv`, by name, plus the case label.
        let compare = try h.run(["compare", base, new, "--format", "csv"])
        let table = parseCSV(compare.stdout)
        let cells = book.cells["compare"]!
        XCTAssertEqual(cells[0].map { $0["v"] as? String ?? "" }, table[0] + ["case", "interval_above_pct", "interval_below_pct"])
        XCTAssertEqual(cells.count, table.count)
        let header = table[0]
        var coloured = 0
        for (row, line) in zip(cells.dropFirst(), table.dropFirst()) {
            let get = { (name: String) in line[header.firstIndex(of: name)!] }
            let fills = Set(row.map { $0["fill"] as? String ?? "" })
            if get("significant") == "1" {
                let better = (Double(get("change_pct"))! > 0) == !get("metric").hasSuffix(" us")
                XCTAssertEqual(fills, [better ? "00C6EFCE" : "00FFC7CE"], "\(line)")
                coloured += 1
            } else {
                XCTAssertEqual(fills, [""], "no colour where the change is not significant: \(line)")
            }
            XCTAssertEqual(row[header.firstIndex(of: "change_pct")!]["number"] as? Bool, true)
        }
        // One run a side: within-run intervals, never a verdict, so never a colour.
        XCTAssertEqual(coloured, 0)
        let bars = book.charts["compare"]!
        XCTAssertEqual(bars.map(\.type), ["barChart"])
        XCTAssertEqual(bars[0].series.count, 1)
        XCTAssertEqual(bars[0].series[0].y.map { $0.map { formatDecimal($0, places: 2) } ?? "" },
                       table.dropFirst().map { $0[header.firstIndex(of: "change_pct")!] })
    }

    /// Sides of several runs and --ignore, as compare takes them: the metric sheets show each side's
    /// figure as compare computes it, the compare sheet its verdicts in colour with the intervals as error bars.
    func testWorkbookOfRunsAsSides() throws {
        var runs: [String] = []
        for (i, placement) in ["same", "split", "same", "split"].enumerated() {
            let path = h.work.appendingPathComponent("\(placement)\(i / 2 + 1).csv").path
            let run = try h.run(["run", "-q", "-t", "pipe", "-p", "latency", "-s", "64", "-r", "5", "--count", "2000",
                                 "--min-trial-time", "0s", "--cpus", placement, "-o", path])
            XCTAssertEqual(run.status, 0, run.stderr)
            runs.append(path)
        }
        let same = runs[0] + "," + runs[2], split = runs[1] + "," + runs[3]
        let xlsx = h.work.appendingPathComponent("placement.xlsx").path
        let made = try h.script("workbook.py", [same, split, "--ignore", "placement", "-o", xlsx])
        XCTAssertEqual(made.status, 0, made.stderr)
        let book = try describe(xlsx)
        XCTAssertEqual(book.sheets, ["results", "latency p50", "latency p99", "compare"])
        let p50 = book.cells["latency p50"]!
        XCTAssertEqual(p50[0].compactMap { $0["v"] as? String }.filter { $0.hasPrefix("pipe") }, ["pipe same (same1+same2)", "pipe split (split1+split2)"])
        // A side of several runs shows the side's figure as compare computes it (its side's `center`).
        let compared = try h.run(["compare", same, split, "--format", "json"])
        XCTAssertEqual(compared.status, 0, compared.stderr)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(compared.stdout.utf8)) as? [String: Any])
        let sameCases = try XCTUnwrap((json["sides"] as? [[String: Any]])?.first?["cases"] as? [[String: Any]])
        let center = try XCTUnwrap(sameCases.first { $0["case"] as? String == "pipe latency 64 same" && $0["metric"] as? String == "RTT p50 us" }?["center"] as? Double)
        XCTAssertEqual(p50[1][1]["v"] as? Double ?? 0, center, accuracy: 1e-9)
        let figures = try [runs[0], runs[2]].map { try XCTUnwrap(Double(column("rtt_us_p50", try h.readCSV($0)[1]))) }
        XCTAssertTrue(figures.min()! * 0.5 < center && center < figures.max()! * 2, "\(center) against the runs' \(figures)")
        // One side of several runs alone: the same figures (compare, which needs two sides, compares it with itself).
        let alone = h.work.appendingPathComponent("same.xlsx").path
        let one = try h.script("workbook.py", [same, "-o", alone])
        XCTAssertEqual(one.status, 0, one.stderr)
        let aloneP50 = try describe(alone).cells["latency p50"]!
        XCTAssertEqual(aloneP50[0].compactMap { $0["v"] as? String }.filter { $0.hasPrefix("pipe") }, ["pipe same (same1+same2)"])
        XCTAssertEqual(aloneP50[1][1]["v"] as? Double ?? 0, center, accuracy: 1e-9)
        let plots = h.work.appendingPathComponent("plots").path
        let plotted = try h.script("plot.py", [same, "-o", plots])
        XCTAssertEqual(plotted.status, 0, plotted.stderr)

        let table = parseCSV(try h.run(["compare", same, split, "--ignore", "placement", "--format", "csv"]).stdout).filter { $0 != [""] }
        let header = table[0]
        let bars = try XCTUnwrap(book.charts["compare"]?.first)
        XCTAssertEqual(bars.type, "barChart")
        let get = { (row: [String], name: String) in Double(row[header.firstIndex(of: name)!]) }
        XCTAssertEqual(bars.series[0].plus.count, table.count - 1)
        for (i, row) in table.dropFirst().enumerated() {
            if let low = get(row, "change_ci95_low_pct"), let high = get(row, "change_ci95_high_pct"), let change = get(row, "change_pct") {
                XCTAssertEqual(bars.series[0].plus[i] ?? -1, high - change, accuracy: 0.011)
                XCTAssertEqual(bars.series[0].minus[i] ?? -1, change - low, accuracy: 0.011)
            }
        }
        // A cross-CPU round trip is several times a same-CPU one: the p50 case is marked worse, in red.
        let p50Row = try XCTUnwrap(table.firstIndex { $0.contains("RTT p50 us") && $0.first == "case" })
        XCTAssertEqual(table[p50Row][header.firstIndex(of: "significant")!], "1", "\(table[p50Row])")
        XCTAssertEqual(Set(book.cells["compare"]![p50Row].map { $0["fill"] as? String ?? "" }), ["00FFC7CE"])
    }

    func testWorkbookBadInputExitsTwoAndWritesNothing() throws {
        let notResults = h.work.appendingPathComponent("other.csv")
        try "name,value\r\na,1\r\n".write(to: notResults, atomically: true, encoding: .utf8)
        let output = h.work.appendingPathComponent("never.xlsx").path
        for (arguments, message) in [
            ([notResults.path], "other.csv: not an ipcbench results file (the header has no run_id and transport columns)"),
            ([h.work.appendingPathComponent("missing.csv").path], "missing.csv: cannot read the file"),
            ([try fixture("pivot-base.csv"), "-o", h.work.appendingPathComponent("book.ods").path], "the output must end in .xlsx"),
        ] {
            let outcome = try h.script("workbook.py", arguments + (arguments.contains("-o") ? [] : ["-o", output]))
            XCTAssertEqual(outcome.status, 2, "\(arguments)")
            XCTAssertTrue(outcome.stderr.hasPrefix("scripts/workbook.py: error: ") && outcome.stderr.contains(message), outcome.stderr)
            XCTAssertEqual(outcome.stderr.filter { $0 == "\n" }.count, 1, outcome.stderr)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: output))
        XCTAssertFalse(FileManager.default.fileExists(atPath: h.work.appendingPathComponent("book.ods").path))
    }

    func testWorkbookOfARealRunOpensInLibreOffice() throws {
        let results = h.work.appendingPathComponent("quick.csv").path
        let run = try h.run(["run", "bench-configs/quick.toml", "-q", "-o", results])
        XCTAssertEqual(run.status, 0, run.stderr)
        let xlsx = h.work.appendingPathComponent("book.xlsx").path
        let made = try h.script("workbook.py", [results, "-o", xlsx])
        XCTAssertEqual(made.status, 0, made.stderr)
        let book = try describe(xlsx)
        let files = [try cases(results)]
        XCTAssertEqual(book.sheets, ["results", "throughput", "latency p50", "latency p99"])
        checkResultsSheet(book, files, header: try header(results))
        checkMetricCharts(book, files, names: ["quick"])

        try checkLibreOfficeKeepsTheCharts(xlsx, book, sheets: ["throughput", "latency p50", "latency p99"])
    }

    func testPivotOfTheNewPatterns() throws {
        let patterns = try fixture("pivot-patterns.csv")
        let byPairs = try h.run(["pivot", patterns, "--pattern", "pairs", "--rows", "parameter", "--size", "4 KiB"])
        XCTAssertEqual(byPairs.status, 0, byPairs.stderr)
        XCTAssertEqual(byPairs.stdout, """
        pairs mib_per_s_median (MiB/s) at 4 KiB,pipe split,tcp split,udp split\r
        pairs 1,3000.000,1200.000,\r
        pairs 2,6000.000,2400.000,\r
        pairs 4,5400.000,,\r

        """)
        let byPayload = try h.run(["pivot", patterns, "--pattern", "async-request"])
        XCTAssertEqual(byPayload.status, 0, byPayload.stderr)
        XCTAssertEqual(byPayload.stdout, """
        async-request msgs_per_s_median (messages/s),unix-stream split depth 1,unix-stream split depth 4,unix-stream split depth 16,tcp split depth 1,tcp split depth 4,tcp split depth 16\r
        64 B,50000.000,200000.000,200000.000,30000.000,120000.000,120000.000\r
        4 KiB,25000.000,100000.000,100000.000,15000.000,60000.000,60000.000\r

        """)
        let output = h.work.appendingPathComponent("never.csv").path
        for (arguments, message) in [
            (["--rows", "bandwidth"], "ipcbench: error: --rows bandwidth: expected payload, parameter or a parameter's name (depth, receivers, pairs, publishers, subscribers, topics, subscriptions, topology, rate, wait)\n"),
            (["--pattern", "pairs", "--rows", "depth"], "ipcbench: error: --rows depth: pairs takes pairs, not depth\n"),
            (["--pattern", "pairs", "--rows", "parameter", "--size", "4 parsecs"], "ipcbench: error: --size '4parsecs' is not a size: "),
            (["--pattern", "pairs", "--size", "64"], "ipcbench: error: --size picks the payload of --rows parameter; with payload rows every payload is a row\n"),
            (["--pattern", "latency", "--rows", "parameter"], "ipcbench: error: --pattern latency: no case has this pattern; the files have pairs, async-request, fanout, duplex, sync-message\n"),
            (["--pattern", "duplex", "--rows", "parameter"], "ipcbench: error: --rows parameter: duplex takes no parameter; "),
        ] {
            let outcome = try h.run(["pivot", patterns] + arguments + ["-o", output])
            XCTAssertEqual(outcome.status, 2, "\(arguments)")
            XCTAssertTrue(outcome.stderr.hasPrefix(message), "\(arguments): \(outcome.stderr)")
            XCTAssertEqual(outcome.stderr.filter { $0 == "\n" }.count, 1, outcome.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: output), "\(arguments)")
        }
    }

    func testWorkbookOfTheNewPatternsChartsEachAgainstPayloadOrItsParameter() throws {
        let patterns = try fixture("pivot-patterns.csv")
        let xlsx = h.work.appendingPathComponent("patterns.xlsx").path
        let made = try h.script("workbook.py", [patterns, "-o", xlsx])
        XCTAssertEqual(made.status, 0, made.stderr)
        let book = try describe(xlsx)
        XCTAssertEqual(book.sheets, ["results", "sync-message", "sync-message ack p50", "async-request", "duplex", "fanout", "pairs"])
        let files = [try cases(patterns)]
        checkResultsSheet(book, files, header: try header(patterns))
        checkMetricCharts(book, files, names: ["pivot-patterns"], sheets: [
            ("sync-message", "sync-message", "mib_per_s_median"), ("sync-message ack p50", "sync-message", "rtt_us_p50"),
            ("duplex", "duplex", "mib_per_s_median"),
        ])
        // At the largest payload every transport has: 64 B for pairs (udp has no 4 KiB case), else 4 KiB.
        checkParameterCharts(book, files[0], sheets: [
            ("async-request", "async-request", "msgs_per_s_median", "depth", 4096, ["unix-stream split", "tcp split"]),
            ("fanout", "fanout", "mib_per_s_median", "receivers", 4096, ["pipe split"]),
            ("pairs", "pairs", "mib_per_s_median", "pairs", 64, ["pipe split", "tcp split", "udp split"]),
        ])
        try checkLibreOfficeKeepsTheCharts(xlsx, book, sheets: Array(book.sheets.dropFirst()))
    }

    /// pubsub from the binary: one payload, so only the plot against subscribers (its x axis, the
    /// parameter with the most values), a panel per transport once there are more than eight lines,
    /// and the pivot and sidecar naming every combination.
    func testPubSubPlotsAgainstSubscribers() throws {
        let output = h.work.appendingPathComponent("pubsub.csv").path
        let run = try h.run(["run", "-t", "pipe,unix-dgram", "-p", "pubsub", "-s", "64", "--subscribers", "1,2,3", "--topics", "2",
                             "--subscriptions", "1,2", "--total", "32KiB", "-r", "2", "--warmup", "0", "--cpus", "none", "-q", "-o", output])
        XCTAssertEqual(run.status, 0, run.stderr)
        // The topology column (direct, broker) is text to a spreadsheet, as every other cell survives the trip.
        let sheet = try h.script("spreadsheet-check", [output])
        XCTAssertEqual(sheet.status, 0, sheet.stdout + sheet.stderr)
        let plots = h.work.appendingPathComponent("plots")
        let plot = try h.script("plot.py", [output, "-o", plots.path])
        XCTAssertEqual(plot.status, 0, plot.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: plots.path).sorted(),
                       ["pubsub-pubsub-by-subscribers.png", "pubsub-pubsub-by-subscribers.png.json"])
        let sidecar = try JSONSerialization.jsonObject(with: Data(contentsOf: plots.appendingPathComponent("pubsub-pubsub-by-subscribers.png.json"))) as! [String: Any]
        let series = (sidecar["series"] as! [[String: Any]]).map { "\($0["transport"]!) \($0["parameters"]!)" }
        XCTAssertEqual(series.count, 8, "2 transports × 2 subscriptions × 2 topologies")
        XCTAssertTrue(series.contains("unix-dgram subscriptions 2 topology broker"), "\(series)")
        let pivot = try h.run(["pivot", output, "--rows", "subscribers"])
        XCTAssertEqual(pivot.status, 0, pivot.stderr)
        // The parameters every column shares are named once, in the title.
        let table = parseCSV(pivot.stdout)
        XCTAssertEqual(table[0].prefix(3), ["pubsub mib_per_s_median (MiB/s) at 64 B, publishers 1, topics 2", "pipe none subscriptions 1 topology direct",
                                            "pipe none subscriptions 1 topology broker"])
        XCTAssertEqual(table.map(\.first!), ["pubsub mib_per_s_median (MiB/s) at 64 B, publishers 1, topics 2", "subscribers 1", "subscribers 2", "subscribers 3"])
    }

    func testPlotsDrawEachPatternAndEachParameter() throws {
        let base = try fixture("pivot-patterns.csv")
        // A second side 10% faster, so that the change plot has msgs/s and slowest MiB/s rows.
        var table = try h.readCSV(base)
        for column in ["mib_per_s_median", "msgs_per_s_median", "mib_per_s_slowest_median"] {
            let j = table[0].firstIndex(of: column)!
            for i in table.indices.dropFirst() where !table[i][j].isEmpty { table[i][j] = formatDecimal(Double(table[i][j])! * 1.1, places: 3) }
        }
        let faster = h.work.appendingPathComponent("faster.csv").path
        try table.map { csvLine($0) }.joined().write(toFile: faster, atomically: true, encoding: .utf8)
        let plots = h.work.appendingPathComponent("plots")
        let plot = try h.script("plot.py", [base, faster, "-o", plots.path])
        XCTAssertEqual(plot.status, 0, plot.stderr)
        let written = try FileManager.default.contentsOfDirectory(atPath: plots.path).sorted()
        let each = ["async-request", "async-request-by-depth", "duplex", "fanout", "fanout-by-receivers", "pairs", "pairs-by-pairs", "sync-message"]
        XCTAssertEqual(written, (each.flatMap { ["pivot-patterns-vs-faster-\($0).png", "pivot-patterns-vs-faster-\($0).png.json"] }
                                 + ["pivot-patterns-vs-faster-change.png"]).sorted())
        for json in written where json.hasSuffix(".json") {
            let sidecar = try JSONSerialization.jsonObject(with: Data(contentsOf: plots.appendingPathComponent(json))) as! [String: Any]
            let sides = (sidecar["sides"] as! [[String: Any]]).map { $0["label"] as! String }
            XCTAssertEqual(sides, ["pivot-patterns.csv", "faster.csv"], json)
            XCTAssertEqual(Set((sidecar["series"] as! [[String: Any]]).map { $0["side"] as! String }), Set(sides), json)
        }
        let pngs = written.filter { $0.hasSuffix(".png") }
        for png in pngs {
            let data = try Data(contentsOf: plots.appendingPathComponent(png))
            XCTAssertEqual(Array(data.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "\(png) is not a PNG")
            XCTAssertGreaterThan(data.count, 10_000, png)
        }
    }

    /// A rate sweep with two wait modes (`--rate 2000,4000 --wait block,poll`): four cases of one
    /// transport and payload. Each metric sheet keeps them as four columns named by rate and wait
    /// mode, each holding its own case's figure; the load sheet has a line per wait mode through
    /// both rates (x the rate achieved, y the corrected p99 and p50), and every row its own case's
    /// figures. Merging two rates (or two wait modes) into one column or point fails here.
    func testWorkbookKeepsEachRateAndWaitModeApart() throws {
        let output = h.work.appendingPathComponent("sweep.csv").path
        let run = try h.run(["run", "-q", "-t", "pipe", "-p", "latency", "-s", "64", "--rate", "2000,4000", "--wait", "block,poll",
                             "-r", "2", "--warmup", "0", "--count", "400", "--min-trial-time", "0s", "-o", output])
        XCTAssertEqual(run.status, 0, run.stderr)
        let rows = try cases(output)
        XCTAssertEqual(rows.map { $0["status"] }, Array(repeating: "ok", count: 4), "\(rows)")
        XCTAssertEqual(Set(rows.map { "\($0["rate"]!) \($0["wait"]!)" }), ["2000 block", "2000 poll", "4000 block", "4000 poll"])
        let xlsx = h.work.appendingPathComponent("sweep.xlsx").path
        let made = try h.script("workbook.py", [output, "-o", xlsx])
        XCTAssertEqual(made.status, 0, made.stderr)
        let book = try describe(xlsx)
        XCTAssertEqual(book.sheets, ["results", "latency p50", "latency p99", "latency load"])
        func placement(_ row: [String: String]) -> String { String(row["cpu_placement"]!.prefix { $0 != ":" }) }
        func value(_ row: [String: String], _ name: String) -> Double { Double(row[name]!)! }

        for (sheet, metric) in [("latency p50", "rtt_us_p50"), ("latency p99", "rtt_us_p99")] {
            let chart = try XCTUnwrap(book.charts[sheet]?.first, sheet)
            var expected: [String: Double] = [:]
            for row in rows {
                expected["pipe \(placement(row)) rate \(Int(row["rate"]!)! / 1000)k/s wait \(row["wait"]!)"] = value(row, metric)
            }
            XCTAssertEqual(chart.series.map(\.title).sorted(), expected.keys.sorted(), sheet)
            for series in chart.series {
                XCTAssertEqual(series.y.compactMap { $0 }, expected[series.title].map { [$0] }, "\(sheet) \(series.title)")
            }
            XCTAssertTrue((book.cells[sheet]?[0][0]["v"] as? String ?? "").hasPrefix("latency \(metric) (us)"), sheet)
        }

        // The load sheet: a row per case, each with its own rate's figures.
        let cells = try XCTUnwrap(book.cells["latency load"])
        let header = cells[0].map { $0["v"] as? String ?? "" }
        XCTAssertEqual(Array(header.prefix(9)), ["line", "offered_msgs_per_s", "achieved_msgs_per_s_median", "late_share",
                                                  "pacing_overshoot_us_p99", "rtt_us_p50", "rtt_us_p99", "rtt_us_p999", "rtt_us_p999_uncorrected"])
        XCTAssertEqual(cells.count, 1 + rows.count)
        for line in cells.dropFirst() {
            let label = line[0]["v"] as? String ?? ""
            let offered = (line[1]["v"] as? NSNumber)?.doubleValue ?? -1
            let row = try XCTUnwrap(rows.first { label == "pipe \(placement($0)) 64 B wait \($0["wait"]!)" && value($0, "offered_msgs_per_s") == offered },
                                    "\(label) at \(offered)")
            for (j, name) in header.enumerated() where (1...8).contains(j) {
                XCTAssertEqual((line[j]["v"] as? NSNumber)?.doubleValue ?? .nan, value(row, name), accuracy: 1e-9, "\(label) \(offered) \(name)")
            }
        }
        let chart = try XCTUnwrap(book.charts["latency load"]?.first)
        XCTAssertEqual(chart.series.count, 4 + (cells.dropFirst().contains { !($0.last?["v"] is NSNull) } ? 1 : 0), "p99 and p50 per wait mode, and the saturated points")
        for wait in ["block", "poll"] {
            let mine = rows.filter { $0["wait"] == wait }.sorted { value($0, "offered_msgs_per_s") < value($1, "offered_msgs_per_s") }
            for (suffix, metric) in [("", "rtt_us_p99"), (" p50", "rtt_us_p50")] {
                let series = try XCTUnwrap(chart.series.first { $0.title == "pipe \(placement(mine[0])) 64 B wait \(wait)\(suffix)" }, "\(wait)\(suffix)")
                XCTAssertEqual(series.x, mine.map { value($0, "achieved_msgs_per_s_median") }, "\(wait)\(suffix): x is the rate achieved, a point per rate")
                XCTAssertEqual(series.y, mine.map { value($0, metric) }, "\(wait)\(suffix)")
            }
        }
        try checkLibreOfficeKeepsTheCharts(xlsx, book, sheets: ["latency p50", "latency load"])
    }

    /// LibreOffice opens the workbook and writes it back as PDF and as .xlsx; the charts survive the trip.
    func checkLibreOfficeKeepsTheCharts(_ xlsx: String, _ book: Book, sheets: [String]) throws {
        let stem = URL(fileURLWithPath: xlsx).deletingPathExtension().lastPathComponent
        for format in ["pdf", "xlsx"] {
            let folder = h.work.appendingPathComponent("lo-\(stem)-\(format)")
            let converted = h.finish(try h.start([
                "soffice", "-env:UserInstallation=file://\(h.work.path)/lo-profile", "--headless",
                "--convert-to", format, "--outdir", folder.path, xlsx,
            ], executable: "/usr/bin/env"))
            XCTAssertEqual(converted.status, 0, converted.stderr)
            let file = folder.appendingPathComponent("\(stem).\(format)").path
            let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
            XCTAssertGreaterThan(size, 1000, "LibreOffice wrote \(file): \(converted.stdout) \(converted.stderr)")
            if format == "xlsx" {
                let back = try describe(file)
                XCTAssertEqual(back.sheets, book.sheets)
                for sheet in sheets {
                    XCTAssertEqual(back.charts[sheet]?.map(\.type), ["scatterChart"], sheet)
                    XCTAssertEqual(back.charts[sheet]?.first?.series.map(\.title), book.charts[sheet]?.first?.series.map(\.title), sheet)
                    XCTAssertEqual(back.charts[sheet]?.first?.series.map(\.y), book.charts[sheet]?.first?.series.map(\.y), sheet)
                }
            }
        }
    }

    // MARK: - helpers

    struct ChartSeries { let title: String; let x: [Double?]; let y: [Double?]; var plus: [Double?] = []; var minus: [Double?] = [] }
    struct Chart { let type: String; let series: [ChartSeries] }
    struct Book {
        let sheets: [String]
        let charts: [String: [Chart]]
        let cells: [String: [[[String: Any]]]]
        let freeze: [String: String]
        let autofilter: [String: String]
    }

    /// The workbook as Tests/Fixtures/xlsx_charts.py reads it: sheets, charts and their cells.
    func describe(_ xlsx: String) throws -> Book {
        let outcome = h.finish(try h.start(["python3", Self.fixtures.appendingPathComponent("xlsx_charts.py").path, xlsx],
                                           executable: "/usr/bin/env"))
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
        func numbers(_ v: Any?) -> [Double?] { (v as? [Any] ?? []).map { ($0 as? NSNumber)?.doubleValue } }
        let charts = (json["charts"] as? [String: [[String: Any]]] ?? [:]).mapValues { list in
            list.map { chart in
                Chart(type: chart["type"] as? String ?? "", series: (chart["series"] as? [[String: Any]] ?? []).map {
                    ChartSeries(title: ($0["title"] as? [Any])?.first as? String ?? "", x: numbers($0["x"]), y: numbers($0["y"]),
                                plus: numbers($0["plus"]), minus: numbers($0["minus"]))
                })
            }
        }
        return Book(sheets: json["sheets"] as? [String] ?? [], charts: charts,
                    cells: json["cells"] as? [String: [[[String: Any]]]] ?? [:],
                    freeze: (json["freeze"] as? [String: Any] ?? [:]).compactMapValues { $0 as? String },
                    autofilter: (json["autofilter"] as? [String: Any] ?? [:]).compactMapValues { $0 as? String })
    }

    func cases(_ path: String) throws -> [[String: String]] {
        let rows = try h.readCSV(path)
        return rows.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(rows[0], $0)) }
    }

    func header(_ path: String) throws -> [String] { try h.readCSV(path).first ?? [] }

    /// Every row and column, numbers as numbers, text as text, a frozen header and a filter.
    func checkResultsSheet(_ book: Book, _ files: [[[String: String]]], header csvHeader: [String]) {
        let cells = book.cells["results"] ?? []
        let header = cells.first?.map { $0["v"] as? String ?? "" } ?? []
        XCTAssertEqual(header, (files.count > 1 ? ["file"] : []) + csvHeader)
        XCTAssertEqual(cells.count, 1 + files.map(\.count).reduce(0, +))
        XCTAssertEqual(book.freeze["results"], "A2")
        XCTAssertNotNil(book.autofilter["results"])
        for (row, expected) in zip(cells.dropFirst(), files.flatMap { $0 }) {
            for (cell, name) in zip(row, header) where name != "file" {
                let text = expected[name] ?? ""
                if text.isEmpty {
                    XCTAssertTrue(cell["v"] is NSNull, "\(name) empty")
                } else if ["hostname", "kernel_release", "run_id", "transport", "cpu_placement", "status", "cpu_model"].contains(name) {
                    XCTAssertEqual(cell["v"] as? String, text, name)
                } else if Double(text) != nil, !text.contains("e") {
                    XCTAssertEqual(cell["number"] as? Bool, true, "\(name) \(text) is a number")
                    XCTAssertEqual((cell["v"] as? NSNumber)?.doubleValue ?? .nan, Double(text)!, accuracy: 1e-9, name)
                }
            }
        }
    }

    /// One chart per metric sheet; a series per transport and placement (per file); each series'
    /// cells hold that case's value at each payload, and every measured case is drawn.
    func checkMetricCharts(_ book: Book, _ files: [[[String: String]]], names: [String],
                           sheets: [(String, String, String)] = [("throughput", "throughput", "mib_per_s_median"),
                                                                ("latency p50", "latency", "rtt_us_p50"), ("latency p99", "latency", "rtt_us_p99")]) {
        for (sheet, pattern, metric) in sheets {
            let charts = book.charts[sheet] ?? []
            XCTAssertEqual(charts.map(\.type), ["scatterChart"], sheet)
            guard let chart = charts.first else { continue }
            func mode(_ row: [String: String]) -> String { String(row["cpu_placement"]!.prefix { $0 != ":" }) }
            var expected: [String: (Int, String, String)] = [:]
            for (i, file) in files.enumerated() {
                for row in file where row["pattern"] == pattern {
                    let name = "\(row["transport"]!) \(mode(row))" + (files.count > 1 ? " (\(names[i]))" : "")
                    expected[name] = (i, row["transport"]!, mode(row))
                }
            }
            XCTAssertEqual(chart.series.count, expected.count, sheet)
            XCTAssertEqual(Set(chart.series.map(\.title)), Set(expected.keys), sheet)
            var drawn = 0
            for series in chart.series {
                guard let (i, transport, placement) = expected[series.title] else { continue }
                XCTAssertEqual(series.x.count, series.y.count, series.title)
                for (x, y) in zip(series.x, series.y) {
                    let row = files[i].first {
                        $0["pattern"] == pattern && $0["transport"] == transport && mode($0) == placement
                            && Double($0["payload_bytes"]!) == x && $0["status"] == "ok"
                    }
                    if let value = row.flatMap({ Double($0[metric] ?? "") }) {
                        XCTAssertEqual(y ?? .nan, value, accuracy: 1e-9, "\(sheet) \(series.title) \(x ?? 0)")
                        drawn += 1
                    } else {
                        XCTAssertNil(y, "\(sheet) \(series.title) \(x ?? 0): no ok case, no point")
                    }
                }
            }
            let measured = files.flatMap { $0 }.filter { $0["pattern"] == pattern && $0["status"] == "ok" && !($0[metric] ?? "").isEmpty }
            XCTAssertEqual(drawn, measured.count, "\(sheet): every measured case is a point")
        }
    }

    /// One chart on a parameter sheet; a series per transport and placement (`columns`); x the
    /// parameter's values, y each case's value at `payload`, and every measured case there is drawn.
    func checkParameterCharts(_ book: Book, _ file: [[String: String]],
                              sheets: [(String, String, String, String, Int, [String])]) {
        for (sheet, pattern, metric, parameter, payload, columns) in sheets {
            let charts = book.charts[sheet] ?? []
            XCTAssertEqual(charts.map(\.type), ["scatterChart"], sheet)
            guard let chart = charts.first else { continue }
            XCTAssertEqual(chart.series.map(\.title), columns, sheet)
            let here = file.filter { $0["pattern"] == pattern && $0["payload_bytes"] == String(payload) }
            let values = Set(here.compactMap { Double($0[parameter] ?? "") }).sorted()
            var drawn = 0
            for series in chart.series {
                XCTAssertEqual(series.x, values, "\(sheet) \(series.title): x is \(parameter)")
                for (x, y) in zip(series.x, series.y) {
                    let row = here.first {
                        "\($0["transport"]!) \($0["cpu_placement"]!.prefix { $0 != ":" })" == series.title
                            && Double($0[parameter]!) == x && $0["status"] == "ok"
                    }
                    if let value = row.flatMap({ Double($0[metric] ?? "") }) {
                        XCTAssertEqual(y ?? .nan, value, accuracy: 1e-9, "\(sheet) \(series.title) \(parameter) \(x ?? 0)")
                        drawn += 1
                    } else {
                        XCTAssertNil(y, "\(sheet) \(series.title) \(parameter) \(x ?? 0): no ok case, no point")
                    }
                }
            }
            XCTAssertEqual(drawn, here.filter { $0["status"] == "ok" && !($0[metric] ?? "").isEmpty }.count, "\(sheet): every measured case is a point")
        }
    }

    /// F4: the workbook wrote a text beginning with `=` as a formula (a transport `=1+1` put the
    /// formula `=1+1 split` in B1 of the metric sheets). Such a transport is refused as check refuses
    /// it, and text from a file beginning with `=` or `@` is a text cell in every sheet.
    func testWorkbookWritesTextNeverAsAFormula() throws {
        let base = try fixture("pivot-base.csv")
        let renamed = h.work.appendingPathComponent("renamed.csv").path
        try (try String(contentsOfFile: base, encoding: .utf8)).replacingOccurrences(of: ",pipe,", with: ",=1+1,")
            .write(toFile: renamed, atomically: false, encoding: .utf8)
        let refused = try h.script("workbook.py", [renamed])
        XCTAssertEqual(refused.status, 2, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("column transport: '=1+1' is not a transport ipcbench writes"), refused.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: h.work.appendingPathComponent("renamed.xlsx").path))

        // Options `=cmd|' /C calc'!A0` (free text), a hostname `@SUM(1)`, and an extra column `=2+2`
        // (not a column of the results format: the binary's JSON leaves it out, and so does the workbook).
        let extra = h.work.appendingPathComponent("extra.csv").path
        let rows = try h.readCSV(base)
        let host = rows[0].firstIndex(of: "hostname")!, options = rows[0].firstIndex(of: "options")!
        let text = ([rows[0] + ["=2+2"]] + rows.dropFirst().map { row in
            row.enumerated().map { $0.offset == host ? "@SUM(1)" : $0.offset == options ? "=cmd|' /C calc'!A0" : $0.element } + ["=3+3"]
        }).map(csvLine).joined()
        try text.write(toFile: extra, atomically: false, encoding: .utf8)
        let made = try h.script("workbook.py", [extra, extra])
        XCTAssertEqual(made.status, 0, made.stderr)
        let xlsx = h.work.appendingPathComponent("extra.xlsx").path
        // Every cell of every sheet whose text begins with = or @: its type as stored (s, not f).
        let types = try h.finish(h.start(["python3", "-c", """
            import sys, openpyxl
            book = openpyxl.load_workbook(sys.argv[1])
            for ws in book.worksheets:
                for row in ws.iter_rows():
                    for c in row:
                        if isinstance(c.value, str) and c.value[:1] in "=@":
                            print(ws.title, c.coordinate, c.data_type, c.value)
            """, xlsx], executable: "/usr/bin/env"))
        XCTAssertEqual(types.status, 0, types.stderr)
        let lines = types.stdout.split(separator: "\n")
        XCTAssertTrue(lines.contains { $0.hasPrefix("results ") && $0.hasSuffix(" s =cmd|' /C calc'!A0") }, types.stdout)
        XCTAssertTrue(lines.contains { $0.hasPrefix("compare ") && $0.hasSuffix(" s =cmd|' /C calc'!A0") }, types.stdout)
        XCTAssertTrue(lines.contains { $0.hasPrefix("results ") && $0.hasSuffix(" s @SUM(1)") }, types.stdout)
        XCTAssertFalse(lines.contains { $0.hasSuffix("=2+2") || $0.hasSuffix("=3+3") }, types.stdout)
        XCTAssertTrue(lines.allSatisfy { $0.split(separator: " ")[2] == "s" }, types.stdout)
    }
}
