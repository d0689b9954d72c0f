import Foundation
import XCTest
import IPCPlatform
import IPCModel
import IPCRun
import IPCAnalysis
import IPCLab

/// `compare --format json|ktap|bmf|lava` through the binary, and a run's figures through `convert
/// -o OUT.ktap|.bmf|.lava|.md`, each checked against its format's rules: KTAP's grammar
/// (a checker written from the spec), BMF's schema (docs/bmf.schema.json, with python3-jsonschema),
/// LAVA's line, and the JSON read back against the CSV field by field. About 5 s.
final class ExportFormatTests: XCTestCase {
    var h: Harness!

    override func setUpWithError() throws { h = try Harness() }
    override func tearDownWithError() throws { try h.finishChecks() }

    /// The options of the case whose name is awkward: KTAP's `#`, TAP14's `\`, Markdown's `|`, a leading `- `, not ASCII.
    static let awkward = "- sndbuf=4096 #1 \\x |y é"

    /// A results file `<stem>.csv` and its trials: for each case a throughput (MiB/s, with its 95%
    /// interval of the median) or latency (RTT p50 and p99) row, trials scaled by `scale` and `drift`.
    @discardableResult
    func write(_ stem: String, runID: String, drift: Double,
               cases: [(transport: String, pattern: String, options: String, scale: Double, status: String)]) throws -> String {
        var caseText = csvLine(caseColumns), trialText = csvLine(trialColumns)
        let base = [100, 101, 99, 100.5, 99.5]
        for c in cases {
            let values = base.map { $0 * c.scale * drift }
            let median = values.sorted()[2]
            let f = { (v: Double) in formatDecimal(v, places: 3) }
            var row: [String: String] = [
                "run_id": runID, "hostname": "vm", "kernel_release": "6.1", "cpu_model": "Test CPU", "transport": c.transport,
                "pattern": c.pattern, "payload_bytes": "4096", "messages_per_trial": "100", "repetitions": "5",
                "cpu_placement": "split:0,1", "options": c.options, "status": c.status,
            ]
            if c.status == "ok" {
                if c.pattern == "throughput" {
                    row.merge(["mib_per_s_median": f(median), "mib_per_s_mean": f(median), "mib_per_s_stddev": "1.000",
                               "mib_per_s_ci95_low": f(values.min()!), "mib_per_s_ci95_high": f(values.max()!)]) { $1 }
                } else {
                    row.merge(["rtt_us_p50": f(median), "rtt_us_p99": f(2 * median), "rtt_us_mean": f(median), "rtt_us_stddev": "1.000"]) { $1 }
                }
            }
            caseText += csvLine(caseColumns.map { row[$0] ?? "" })
            guard c.status == "ok" else { continue }
            for (i, v) in values.enumerated() {
                var t = ["run_id": runID, "transport": c.transport, "pattern": c.pattern, "payload_bytes": "4096",
                         "cpu_placement": "split:0,1", "options": c.options, "trial": String(i + 1), "round": String(i + 1)]
                if c.pattern == "throughput" { t["mib_per_s"] = f(v) } else { t["rtt_us_p50"] = f(v); t["rtt_us_p99"] = f(2 * v) }
                trialText += csvLine(trialColumns.map { t[$0] ?? "" })
            }
        }
        let path = h.work.appendingPathComponent(stem + ".csv").path
        try caseText.write(toFile: path, atomically: true, encoding: .utf8)
        try trialText.write(toFile: h.work.appendingPathComponent(stem + "-trials.csv").path, atomically: true, encoding: .utf8)
        return path
    }

    /// Three runs a side, drifting by 1%: on the new side `pipe` (throughput) is 20% slower, the
    /// rest the same. The new side's files have a line break and a `#` in their name.
    func sides() throws -> (base: String, new: String) {
        func cases(_ slower: Double) -> [(transport: String, pattern: String, options: String, scale: Double, status: String)] {
            [("pipe", "throughput", "", slower, "ok"), ("fifo", "throughput", Self.awkward, 1, "ok"),
             ("unix-stream", "throughput", "", 1, "ok"), ("pipe", "latency", "", 1, "ok")]
        }
        let drifts = [0.99, 1.0, 1.01]
        let base = try drifts.enumerated().map { i, d in try write("a\(i)", runID: "ra\(i)", drift: d, cases: cases(1)) }
        let new = try drifts.enumerated().map { i, d in try write("b\(i)\nnot ok 9 #x", runID: "rb\(i)", drift: d, cases: cases(0.8)) }
        return (base.joined(separator: ","), new.joined(separator: ","))
    }

    func testKTAPFollowsTheSpecAndFailsWhatTheGateFails() throws {
        let (a, b) = try sides()
        let plain = try h.run(["compare", a, b, "--format", "ktap"])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        var ktap = KTAP(plain.stdout)
        XCTAssertEqual(ktap.problems, [], plain.stdout)
        // Every row is a test: 3 MiB/s cases, RTT p50 and p99, and a geomean and a common shift per metric.
        XCTAssertEqual(ktap.results.map(\.name), [
            "pipe throughput 4096 split MiB/s", "fifo throughput 4096 split - sndbuf=4096 _1 _x |y _ MiB/s",
            "unix-stream throughput 4096 split MiB/s", "pipe latency 4096 split RTT p50 us", "pipe latency 4096 split RTT p99 us",
            "geomean MiB/s", "geomean RTT p50 us", "geomean RTT p99 us", "common MiB/s",
        ])
        XCTAssertTrue(ktap.results.allSatisfy(\.ok), plain.stdout)  // no gate: every row passes
        XCTAssertTrue(plain.stdout.contains("# MiB/s: base 99.997, new 79.997 MiB/s; change -20.0% ["), plain.stdout)
        XCTAssertTrue(plain.stdout.contains("(runs-t): worse, significant\nok 1 pipe throughput"), plain.stdout)
        XCTAssertTrue(plain.stdout.contains(": not significant\nok 3 unix-stream"), plain.stdout)
        // The file name's line break is escaped in its diagnostic, never a line of its own.
        XCTAssertTrue(plain.stdout.contains("# new: \(h.work.path)/b0\\nnot ok 9 #x.csv (kernel 6.1"), plain.stdout)

        let gated = try h.run(["compare", a, b, "--format", "ktap", "--fail-on-regression", "10"])
        XCTAssertEqual(gated.status, 1, gated.stderr)  // the gate's exit status, as with the table
        XCTAssertTrue(gated.stderr.hasPrefix("ipcbench: 1 cases and 0 geometric means or common shifts regressed significantly"), gated.stderr)
        ktap = KTAP(gated.stdout)
        XCTAssertEqual(ktap.problems, [], gated.stdout)
        XCTAssertEqual(ktap.results.filter { !$0.ok }.map(\.name), ["pipe throughput 4096 split MiB/s"])
        XCTAssertTrue(gated.stdout.contains("# gate: a regression beyond 10.0% with its whole 95% interval\nnot ok 1 pipe"), gated.stdout)

        // The gate changes neither the table nor the exit status it had.
        let table = try h.run(["compare", a, b]), tableGated = try h.run(["compare", a, b, "--fail-on-regression", "10"])
        XCTAssertEqual(table.status, 0)
        XCTAssertEqual(tableGated.status, 1)
        XCTAssertEqual(table.stdout, tableGated.stdout)
        XCTAssertEqual(gated.stderr, tableGated.stderr)
    }

    func testTheKTAPCheckerRefusesWhatTheSpecForbids() {
        XCTAssertEqual(KTAP("KTAP version 1\n1..1\n# fine\nok 1 a b\n").problems, [])
        XCTAssertFalse(KTAP("TAP version 12\n1..1\nok 1 a\n").problems.isEmpty)
        XCTAssertFalse(KTAP("KTAP version 1\nok 1 a\n").problems.isEmpty)  // no plan
        XCTAssertFalse(KTAP("KTAP version 1\n1..2\nok 1 a\n").problems.isEmpty)  // fewer results than planned
        XCTAssertFalse(KTAP("KTAP version 1\n1..2\nok 1 a\nok 3 b\n").problems.isEmpty)  // a number skipped
        XCTAssertFalse(KTAP("KTAP version 1\n1..1\nok 1 a #b\n").problems.isEmpty)  // a # in the name
        XCTAssertFalse(KTAP("KTAP version 1\n1..1\nok 1 a\u{1B}[31m\n").problems.isEmpty)  // a control character
        XCTAssertFalse(KTAP("KTAP version 1\n1..1\nbanner\nok 1 a\n").problems.isEmpty)  // an unknown line
        XCTAssertFalse(KTAP("KTAP version 1\n1..1\nok 1 a").problems.isEmpty)  // no final line break
    }

    func testBMFValidatesAgainstItsSchema() throws {
        let (a, b) = try sides()
        let bmf = try h.run(["compare", a, b, "--format", "bmf"])
        XCTAssertEqual(bmf.status, 0, bmf.stderr)
        try assertValid(bmf.stdout, schema: "docs/bmf.schema.json")
        let document = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(bmf.stdout.utf8)) as? [String: [String: [String: Double]]])
        let csv = try csvRecords(a, b)
        XCTAssertEqual(document.values.reduce(0) { $0 + $1.count }, csv.count)  // a measure per row
        for row in csv {
            let name = row["kind"] == "case" ? caseName(row) : row["kind"]!
            let slug = ["MiB/s": "mib-per-s", "RTT p50 us": "rtt-us-p50", "RTT p99 us": "rtt-us-p99"][row["metric"]!]!
            let measure = try XCTUnwrap(document[name]?[slug + "-change"], name)
            assertRounded(measure["value"], row["change_pct"]!, name)
            assertRounded(measure["lower_value"], row["change_ci95_low_pct"]!, name)
            assertRounded(measure["upper_value"], row["change_ci95_high_pct"]!, name)
            if let low = measure["lower_value"], let high = measure["upper_value"], let value = measure["value"] {
                XCTAssertTrue(low <= value && value <= high, name)
            }
        }
        // A document that breaks the schema is refused: the check can fail.
        XCTAssertThrowsError(try validate(#"{"case": {"MiB/s": {"value": "1"}}}"#, schema: "docs/bmf.schema.json"))
    }

    func testLAVALinesHaveTheDocumentedForm() throws {
        let (a, b) = try sides()
        let lava = try h.run(["compare", a, b, "--format", "lava", "--fail-on-regression", "10"])
        XCTAssertEqual(lava.status, 1, lava.stderr)
        let lines = try LAVA.lines(lava.stdout)
        XCTAssertEqual(lines.count, try csvRecords(a, b).count)
        XCTAssertEqual(Set(lines.map(\.name)).count, lines.count)
        XCTAssertEqual(lines.filter { $0.result == "fail" }.map(\.name), ["pipe_throughput_4096_split_mib-per-s-change"])
        XCTAssertTrue(lines.contains { $0.name == "fifo_throughput_4096_split_-_sndbuf_4096__1__x__y___mib-per-s-change" }, lava.stdout)
        XCTAssertTrue(lines.allSatisfy { $0.units == "%" && $0.measurement != nil })
        XCTAssertThrowsError(try LAVA.lines("lava-test-case a b --result pass\n"))
    }

    func testJSONHoldsEveryCSVFieldTyped() throws {
        let (a, b) = try sides()
        let json = try h.run(["compare", a, b, "--format", "json", "--fail-on-regression", "10"])
        XCTAssertEqual(json.status, 1, json.stderr)
        try assertValid(json.stdout, schema: "docs/compare.schema.json")
        let document = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(document["schema_version"] as? Int, 1)
        XCTAssertEqual(document["fail_on_regression_pct"] as? Double, 10)
        let rows = try XCTUnwrap(document["rows"] as? [[String: Any]])
        let csv = try csvRecords(a, b)
        XCTAssertEqual(rows.count, csv.count)
        let whole: Set = ["payload_bytes", "depth", "receivers", "pairs", "publishers", "subscribers", "topics", "subscriptions"]
        let numbers: Set = ["base", "new", "change_pct", "change_ci95_low_pct", "change_ci95_high_pct", "detectable_pct", "p_value",
                            "q_value", "mde_pct"]
        for (row, record) in zip(rows, csv) {
            for column in compareCSVColumns {
                let value = try XCTUnwrap(row[column], "\(column) missing")
                let cell = record[column]!
                if value is NSNull {
                    XCTAssertEqual(cell, "", column)
                } else if column == "significant" {
                    XCTAssertEqual((value as? Bool).map { $0 ? "1" : "0" }, cell, column)
                } else if whole.contains(column) {
                    XCTAssertEqual((value as? Int).map(String.init), cell, column)
                } else if numbers.contains(column) {
                    XCTAssertFalse(value is String, column)
                    assertRounded(value as? Double, cell, column)
                } else {
                    XCTAssertEqual((value as? String).map(spreadsheetCell), cell, column)
                }
            }
            XCTAssertEqual(row["regression"] as? Bool, record["kind"] == "case" && record["transport"] == "pipe" && record["metric"] == "MiB/s")
        }
        let new = try XCTUnwrap((document["sides"] as? [[String: Any]])?.last)
        XCTAssertEqual(new["units"] as? Int, 3)
        XCTAssertEqual(((new["files"] as? [[String: Any]])?.first?["path"] as? String), h.work.path + "/b0\nnot ok 9 #x.csv")
        XCTAssertTrue(json.stdout.contains(#"b0\nnot ok 9 #x.csv""#))  // the line break escaped in the JSON text
    }

    /// Each side's cases in the JSON: per case and metric the side's center (a row's base or new,
    /// the geometric mean of its runs' medians) and its runs' range, also for a case only one side has.
    func testJSONHasEachSidesCenterPerCaseAndMetric() throws {
        let (a, b) = try sides()
        let only = try write("c", runID: "rc", drift: 1, cases: [("pipe", "throughput", "", 1, "ok"), ("tcp", "throughput", "", 3, "ok")])
        let json = try h.run(["compare", a, b + "," + only, "--format", "json"])
        XCTAssertEqual(json.status, 0, json.stderr)
        try assertValid(json.stdout, schema: "docs/compare.schema.json")
        let document = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let sides = try XCTUnwrap(document["sides"] as? [[String: Any]])
        let rows = try XCTUnwrap(document["rows"] as? [[String: Any]]).filter { $0["kind"] as? String == "case" }
        XCTAssertEqual(rows.map { $0["case"] as? String }.first, "pipe throughput 4096 split")
        func cases(_ side: Int) -> [String: [String: Any]] {
            Dictionary(uniqueKeysWithValues: ((sides[side]["cases"] as? [[String: Any]]) ?? []).map {
                (($0["case"] as? String ?? "") + " / " + ($0["metric"] as? String ?? ""), $0)
            })
        }
        let (base, new) = (cases(0), cases(1))
        XCTAssertEqual(base.count, 5)  // four cases, latency with two metrics
        XCTAssertEqual(new.count, 1)  // only pipe throughput is in every file of the new side
        for row in rows {
            let name = "\(row["case"] as? String ?? "") / \(row["metric"] as? String ?? "")"
            let center = try XCTUnwrap(base[name]?["center"] as? Double, name)
            XCTAssertEqual(center, try XCTUnwrap(row["base"] as? Double), accuracy: center * 1e-12, name)
        }
        // Base pipe throughput: medians 99, 100, 101 (drift 0.99, 1, 1.01).
        let pipe = try XCTUnwrap(base["pipe throughput 4096 split / MiB/s"])
        XCTAssertEqual(pipe["center"] as? Double ?? 0, exp((log(99.0) + log(100) + log(101)) / 3), accuracy: 1e-9)
        XCTAssertEqual(pipe["lowest_run"] as? Double, 99)
        XCTAssertEqual(pipe["highest_run"] as? Double, 101)
        XCTAssertEqual(pipe["runs"] as? Int, 3)
        XCTAssertEqual(pipe["payload_bytes"] as? Int, 4096)
        XCTAssertEqual(pipe["placement"] as? String, "split")
        XCTAssertEqual(new["pipe throughput 4096 split / MiB/s"]?["runs"] as? Int, 4)
    }

    /// A `|` from a file stays in its Markdown cell: every row of the table has the header's cells.
    func testMarkdownKeepsABarInItsCell() throws {
        let (a, b) = try sides()
        let markdown = try h.run(["compare", a, b, "--format", "markdown"])
        XCTAssertEqual(markdown.status, 0, markdown.stderr)
        let table = markdown.stdout.split(separator: "\n").filter { $0.hasPrefix("|") }
        func cells(_ line: Substring) -> Int { line.replacingOccurrences(of: "\\|", with: "").filter { $0 == "|" }.count - 1 }
        XCTAssertEqual(table.count, 2 + 9)
        XCTAssertEqual(Set(table.map(cells)), [9])
        XCTAssertTrue(table.contains { $0.contains("sndbuf=4096 #1 \\x \\|y é") }, markdown.stdout)
    }

    /// `--within` (one side, two values of a key inside the same runs) in every format for programs.
    func testWithinInEveryFormatForPrograms() throws {
        let (runs, _) = try sides()
        for format in ["json", "ktap", "bmf", "lava"] {
            let outcome = try h.run(["compare", runs, "--within", "transport=pipe,unix-stream", "--format", format])
            XCTAssertEqual(outcome.status, 0, outcome.stderr)
            switch format {
            case "json": try assertValid(outcome.stdout, schema: "docs/compare.schema.json")
            case "bmf": try assertValid(outcome.stdout, schema: "docs/bmf.schema.json")
            case "lava": XCTAssertEqual(try LAVA.lines(outcome.stdout).count, 2)  // the one case paired and its geomean (no common shift of one case)
            default:
                let ktap = KTAP(outcome.stdout)
                XCTAssertEqual(ktap.problems, [], outcome.stdout)
                XCTAssertEqual(ktap.results.first?.name, "throughput 4096 split MiB/s")
                XCTAssertTrue(outcome.stdout.contains("# within: transport=pipe (base) against transport=unix-stream (new)\n"), outcome.stdout)
            }
        }
    }

    /// `convert FILE -o OUT.ktap|.bmf|.lava|.md`: a run's cases with their main metric, from the
    /// one record the reader returns (the CSV pair or the JSON form alike), a failed case not ok.
    func testConvertWritesARunsFiguresInEveryLabFormat() throws {
        let path = try write("run", runID: "r1", drift: 1, cases: [
            ("pipe", "throughput", "", 1, "ok"), ("fifo", "throughput", Self.awkward, 1, "failed"), ("pipe", "latency", "", 1, "ok"),
        ])
        let json = h.work.appendingPathComponent("run.json").path
        XCTAssertEqual(try h.run(["convert", path, "-o", json]).status, 0)
        for (n, input) in [path, json].enumerated() {
            func convert(_ ext: String) throws -> String {
                let out = h.work.appendingPathComponent("out\(n).\(ext)").path
                let outcome = try h.run(["convert", input, "-o", out])
                XCTAssertEqual(outcome.status, 0, outcome.stderr)
                XCTAssertEqual(outcome.stdout, "")
                return try String(contentsOfFile: out, encoding: .utf8)
            }
            let ktapText = try convert("ktap")
            let ktap = KTAP(ktapText)
            XCTAssertEqual(ktap.problems, [], ktapText)
            XCTAssertEqual(ktap.results.map(\.ok), [true, false, true])
            XCTAssertEqual(ktap.results.map(\.name), ["pipe throughput 4096 split MiB/s", "fifo throughput 4096 split - sndbuf=4096 _1 _x |y _ MiB/s",
                                                      "pipe latency 4096 split RTT p50 us"])
            XCTAssertTrue(ktapText.contains("# run: \(input) (kernel 6.1, host vm, cpu Test CPU, run r1)\n"), ktapText)
            XCTAssertTrue(ktapText.contains("# MiB/s: 100.0 MiB/s [99.000, 101.0] (95% interval of the median)\n"), ktapText)
            XCTAssertTrue(ktapText.contains("# status: failed\n"), ktapText)

            let bmf = try convert("bmf")
            try assertValid(bmf, schema: "docs/bmf.schema.json")
            let document = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(bmf.utf8)) as? [String: [String: [String: Double]]])
            XCTAssertEqual(document["pipe throughput 4096 split"]?["mib-per-s"], ["value": 100, "lower_value": 99, "upper_value": 101])
            XCTAssertEqual(document["pipe latency 4096 split"]?["rtt-us-p50"], ["value": 100])
            XCTAssertEqual(document.count, 2)  // the failed case has no figure

            let lava = try LAVA.lines(try convert("lava"))
            XCTAssertEqual(lava.map(\.result), ["pass", "fail", "pass"])
            XCTAssertEqual(lava[0].measurement, "100.000")
            XCTAssertEqual(lava[0].units, "MiB/s")
            XCTAssertNil(lava[1].measurement)

            let markdown = try convert("md").split(separator: "\n")
            XCTAssertEqual(markdown.filter { $0.hasPrefix("|") }.count, 2 + 3)
            XCTAssertTrue(markdown.contains("| fifo throughput 4096 split - sndbuf=4096 #1 \\x \\|y é | MiB/s |  |  | MiB/s | not ok |"),
                          markdown.joined(separator: "\n"))
        }
    }

    /// convert's refusals hold for the lab formats: an existing output, a file that is not results,
    /// each one line, exit 2, nothing written.
    func testConvertToALabFormatRefusesAsConvertDoes() throws {
        let path = try write("run", runID: "r1", drift: 1, cases: [("pipe", "throughput", "", 1, "ok")])
        let existing = h.work.appendingPathComponent("there.ktap").path
        try "mine\n".write(toFile: existing, atomically: true, encoding: .utf8)
        let bad = h.work.appendingPathComponent("bad.csv").path
        try "not,results\n1,2\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let out = h.work.appendingPathComponent("out.lava").path
        for (arguments, saying) in [([path, "-o", existing], "there.ktap already exists"), ([bad, "-o", out], "bad.csv: not an ipcbench results file"),
                                    ([h.work.appendingPathComponent("missing.csv").path, "-o", out], "cannot read the file")] {
            let outcome = try h.run(["convert"] + arguments)
            XCTAssertEqual(outcome.status, 2, outcome.stderr)
            XCTAssertTrue(outcome.stderr.contains(saying), outcome.stderr)
            XCTAssertEqual(outcome.stderr.split(separator: "\n").count, 1, outcome.stderr)
            XCTAssertEqual(outcome.stdout, "")
        }
        XCTAssertEqual(try String(contentsOfFile: existing, encoding: .utf8), "mine\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    // MARK: helpers

    /// compare's CSV of the same sides, by column name.
    func csvRecords(_ a: String, _ b: String) throws -> [[String: String]] {
        let csv = try h.run(["compare", a, b, "--format", "csv"])
        XCTAssertEqual(csv.status, 0, csv.stderr)
        return parseCSV(csv.stdout).dropFirst().map { Dictionary(uniqueKeysWithValues: zip(compareCSVColumns, $0)) }
    }

    func caseName(_ row: [String: String]) -> String {
        ["transport", "pattern", "payload_bytes", "placement", "options"].compactMap { row[$0].flatMap { $0.isEmpty ? nil : $0 } }
            .joined(separator: " ").replacingOccurrences(of: "'- ", with: "- ")  // the CSV's apostrophe before a leading -
    }

    /// `cell` is `value` rounded to the cell's decimals (an empty cell: no value).
    func assertRounded(_ value: Double?, _ cell: String, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        guard let value else { return XCTAssertEqual(cell, "", what, file: file, line: line) }
        guard let number = Double(cell) else { return XCTFail("\(what): '\(cell)' is not a number", file: file, line: line) }
        let decimals = cell.split(separator: ".").dropFirst().first?.count ?? 0
        XCTAssertLessThanOrEqual(abs(number - value), 0.5 * pow(10, -Double(decimals)) * (1 + 1e-9), what, file: file, line: line)
    }

    func assertValid(_ document: String, schema: String, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertNoThrow(try validate(document, schema: schema), file: file, line: line)
    }

    /// Validates with python3-jsonschema (Draft 7), after checking the schema itself.
    func validate(_ document: String, schema: String) throws {
        let path = h.work.appendingPathComponent("document.json")
        try document.write(to: path, atomically: true, encoding: .utf8)
        let script = """
        import json, sys, jsonschema
        schema = json.load(open(sys.argv[1]))
        jsonschema.Draft7Validator.check_schema(schema)
        jsonschema.Draft7Validator(schema).validate(json.load(open(sys.argv[2])))
        """
        let outcome = h.finish(try h.start(["python3", "-c", script, Harness.repository.appendingPathComponent(schema).path, path.path],
                                           executable: "/usr/bin/env"))
        if outcome.status != 0 { throw ValidationFailure(text: outcome.stderr) }
    }

    struct ValidationFailure: Error { let text: String }
}

/// KTAP version 1 read line by line as docs.kernel.org/dev-tools/ktap.html describes it, strictly:
/// the version line first, the plan `1..N` next, then diagnostic lines (`#`, then a space and
/// any text) and result lines (`ok` or `not ok`, the number, one more than the last, from 1, and a
/// name with no `#`, since ipcbench writes no directive), N of them. Where the spec allows more than
/// ipcbench writes, this is a problem too: unknown lines, nested (indented) tests, and any control
/// character or line separator (a line break a parser could split on).
struct KTAP {
    var problems: [String] = []
    var results: [(ok: Bool, number: Int, name: String)] = []

    init(_ text: String) {
        guard text.hasSuffix("\n") else { problems.append("no line break after the last line"); return }
        let lines = text.dropLast().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.first == "KTAP version 1" else { problems.append("line 1 is not the version line: \(lines.first ?? "")"); return }
        guard lines.count > 1, let plan = lines[1].wholeMatch(of: /1\.\.(0|[1-9][0-9]*)/), let planned = Int(plan.1) else {
            problems.append("line 2 is not the plan (1..N)")
            return
        }
        for (index, line) in lines.enumerated().dropFirst(2) {
            let where_ = "line \(index + 1)"
            if line.unicodeScalars.contains(where: { $0.properties.generalCategory == .control && $0 != "\t" || $0 == "\u{2028}" || $0 == "\u{2029}" }) {
                problems.append("\(where_): a control character")
            }
            if line == "#" || line.hasPrefix("# ") { continue }
            if let result = line.wholeMatch(of: /(ok|not ok) ([1-9][0-9]*) (.+)/) {
                let number = Int(result.2)!, name = String(result.3)
                if number != results.count + 1 { problems.append("\(where_): test \(number) after test \(results.count)") }
                if name.contains("#") { problems.append("\(where_): a # in the name, which starts a directive") }
                if name.hasPrefix("- ") || name.hasPrefix(" ") { problems.append("\(where_): a name that starts with a separator") }
                results.append((result.1 == "ok", number, name))
            } else {
                problems.append("\(where_): neither a diagnostic nor a result: \(line)")
            }
        }
        if results.count != planned { problems.append("\(results.count) results for a plan of \(planned)") }
    }
}

/// LAVA's result lines as its test shell documents them:
/// `lava-test-case NAME --result pass|fail|skip|unknown [--measurement NUMBER --units UNITS]`, the
/// name one word (no spaces), here of the characters ipcbench keeps (letters, digits, `.`, `_`, `-`).
enum LAVA {
    struct Line { let name: String; let result: String; let measurement: String?; let units: String? }
    struct Malformed: Error { let line: String }

    static func lines(_ text: String) throws -> [Line] {
        try text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map { line in
            guard let m = line.wholeMatch(of: /lava-test-case ([A-Za-z0-9._-]+) --result (pass|fail|skip|unknown)(?: --measurement (-?[0-9]+(?:\.[0-9]+)?) --units ([A-Za-z0-9._\/%-]+))?/) else {
                throw Malformed(line: String(line))
            }
            return Line(name: String(m.1), result: String(m.2), measurement: m.3.map(String.init), units: m.4.map(String.init))
        }
    }
}
