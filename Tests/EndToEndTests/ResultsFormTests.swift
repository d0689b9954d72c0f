import Foundation
import XCTest
import IPCPlatform
import IPCModel
import IPCRun
import IPCAnalysis
import IPCLab

/// The results' two forms through the binary: `convert` between the CSV pair and the JSON is
/// lossless, `run -o FILE.json` writes the JSON, every reader reads both (and files of 0.1.0 to
/// 0.3.0), and JSON ipcbench does not write is refused with one line. Time budget: about 20 s
/// (one small run of 8 cases, the rest reads files).
final class ResultsFormTests: XCTestCase {
    var h: Harness!

    override func setUpWithError() throws { h = try Harness() }
    override func tearDownWithError() throws { try h.finishChecks() }

    func path(_ name: String) -> String { h.work.appendingPathComponent(name).path }
    func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    /// A small run with a knob, TCP's nodelay and two patterns, to `output`.
    func smallRun(_ output: String) throws {
        let outcome = try h.run(["run", "-t", "unix-stream,tcp", "-p", "throughput,latency", "-s", "64", "--sndbuf", "256KiB",
                                 "--total", "1MiB", "--count", "200", "-r", "3", "--warmup", "0", "--min-trial-time", "0s", "-q", "-o", output])
        XCTAssertEqual(outcome.status, 0, outcome.stderr)
    }

    /// Validates a JSON file against docs/results.schema.json with Python's jsonschema (Debian's
    /// python3-jsonschema, which `scripts/setup --test` installs).
    func assertMatchesSchema(_ json: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let check = """
        import json, sys, jsonschema
        schema = json.load(open(sys.argv[1]))
        jsonschema.Draft202012Validator.check_schema(schema)
        jsonschema.validate(json.load(open(sys.argv[2])), schema, cls=jsonschema.Draft202012Validator)
        """
        let outcome = h.finish(try h.start(["python3", "-c", check, Harness.repository.appendingPathComponent("docs/results.schema.json").path, json],
                                           executable: "/usr/bin/env"))
        XCTAssertEqual(outcome.status, 0, "\(json) does not match docs/results.schema.json (is python3-jsonschema installed? scripts/setup --test): \(outcome.stderr)",
                       file: file, line: line)
    }

    func assertRefused(_ arguments: [String], saying: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let outcome = try h.run(arguments)
        XCTAssertEqual(outcome.status, 2, outcome.stderr, file: file, line: line)
        XCTAssertTrue(outcome.stderr.contains(saying), outcome.stderr, file: file, line: line)
        XCTAssertEqual(outcome.stderr.split(separator: "\n").count, 1, outcome.stderr, file: file, line: line)
    }

    func testConvertRoundTripsTheCSVPairByteForByte() throws {
        try smallRun(path("r.csv"))
        XCTAssertEqual(try h.run(["convert", path("r.csv"), "-o", path("r.json")]).status, 0)
        try assertMatchesSchema(path("r.json"))
        let back = try h.run(["convert", path("r.json"), "-o", path("back.csv")])
        XCTAssertEqual(back.status, 0, back.stderr)
        XCTAssertEqual(try bytes(path("back.csv")), try bytes(path("r.csv")))
        XCTAssertEqual(try bytes(path("back-trials.csv")), try bytes(path("r-trials.csv")))
        // JSON to standard output (what the scripts read) is the same text as the file.
        let out = try h.run(["convert", path("r.csv"), "-o", "-"])
        XCTAssertEqual(out.status, 0, out.stderr)
        XCTAssertEqual(Data(out.stdout.utf8), try bytes(path("r.json")))
        // The settings are typed columns, and the options label is made from them.
        let rows = try h.readCSV(path("r.csv"))
        for row in rows.dropFirst() {
            XCTAssertEqual(column("sndbuf", row), "524288", "the kernel doubles SO_SNDBUF: the column holds the value in force")
            XCTAssertEqual(column("nodelay", row), column("transport", row) == "tcp" ? (column("pattern", row) == "latency" ? "true" : "false") : "")
            XCTAssertTrue(column("options", row).hasSuffix("sndbuf=524288"), column("options", row))
        }
        // Existing outputs and names of no form are refused, and nothing is written.
        try assertRefused(["convert", path("r.csv"), "-o", path("back.csv")], saying: "back.csv already exists")
        try assertRefused(["convert", path("r.csv"), "-o", path("r.json")], saying: "r.json already exists")
        try assertRefused(["convert", path("r.csv"), "-o", path("r.txt")], saying: "expected a .csv file")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("r.txt")))
    }

    func testRunWritesTheJSONAloneAndEveryReaderReadsIt() throws {
        try smallRun(path("j.json"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: h.work.path).sorted(), ["j.json", "tmp"], "the JSON alone")
        try assertMatchesSchema(path("j.json"))
        XCTAssertEqual(try h.run(["check", path("j.json")]).status, 0)
        XCTAssertEqual(try h.run(["convert", path("j.json"), "-o", path("j.csv")]).status, 0)
        for format in ["table", "csv", "markdown"] {
            let csv = try h.run(["compare", path("j.csv"), path("j.csv"), "--format", format])
            let json = try h.run(["compare", path("j.json"), path("j.json"), "--format", format])
            XCTAssertEqual(csv.status, json.status)
            XCTAssertEqual(json.stdout.replacingOccurrences(of: "j.json", with: "j.csv"), csv.stdout, format)
        }
        let pivotCSV = try h.run(["pivot", path("j.csv"), "-o", "-"]), pivotJSON = try h.run(["pivot", path("j.json"), "-o", "-"])
        XCTAssertEqual(pivotCSV.status, 0, pivotCSV.stderr)
        XCTAssertEqual(pivotJSON.stdout.replacingOccurrences(of: "j.json", with: "j.csv"), pivotCSV.stdout)
        // The scripts' one loader gives the same cases from either form, with the binary's figures.
        let loader = """
        import sys; sys.path.insert(0, sys.argv[1])
        import ipcbench_files
        a, b = ipcbench_files.load(sys.argv[2]), ipcbench_files.load(sys.argv[3])
        assert a.cases == b.cases, "the two forms load differently"
        for case in a.cases:
            assert case["case"] and case["figures"], case
            for figure in case["figures"].values():
                assert figure["ci95_low"] <= figure["median"] <= figure["ci95_high"], figure
        print(len(a.cases), a.cases[0]["sndbuf"], a.cases[0]["case"])
        """
        let loaded = h.finish(try h.start(["python3", "-c", loader, Harness.repository.appendingPathComponent("scripts").path, path("j.csv"), path("j.json")],
                                          executable: "/usr/bin/env"))
        XCTAssertEqual(loaded.status, 0, loaded.stderr)
        XCTAssertEqual(loaded.stdout, "4 524288 unix-stream throughput 64 split sndbuf=524288\n")
        try assertRefused(["run", "-t", "pipe", "-p", "throughput", "-o", path("j.json")], saying: "j.json already exists")
    }

    /// Files of earlier versions: 0.1.0 and 0.2.0 (the fixtures), 0.3.0 (a file of today without
    /// the setting columns) are read, and convert both ways to the same bytes.
    func testOlderFilesStillReadAndConvert() throws {
        let fixtures = Harness.repository.appendingPathComponent("Tests/Fixtures")
        var inputs: [(String, String)] = []
        for (name, version) in [("pivot-base", "0.1.0"), ("pivot-patterns", "0.2.0")] {
            try FileManager.default.copyItem(atPath: fixtures.appendingPathComponent(name + ".csv").path, toPath: path(name + ".csv"))
            inputs.append((name, version))
        }
        // A 0.3.0 file: today's columns but those of 0.4.0 (the settings, the rate and wait mode and their figures).
        let v3 = caseFileColumns(version: 3).map(\.name), v3Trials = trialFileColumns(version: 3).map(\.name)
        let row: [String: String] = ["run_id": "r3", "hostname": "vm", "kernel_release": "6.1", "cpu_model": "CPU", "ipcbench_version": "0.3.0",
                                     "transport": "pipe", "pattern": "throughput", "payload_bytes": "4096", "messages_per_trial": "100",
                                     "repetitions": "2", "cpu_placement": "split:0,1", "workers": "process", "status": "ok",
                                     "mib_per_s_median": "100.000", "mib_per_s_mean": "100.000", "mib_per_s_stddev": "1.000"]
        let old = csvLine(v3) + csvLine(v3.map { row[$0] ?? "" })
        try old.write(toFile: path("v3.csv"), atomically: true, encoding: .utf8)
        let trial = ["run_id": "r3", "transport": "pipe", "pattern": "throughput", "payload_bytes": "4096", "cpu_placement": "split:0,1",
                     "trial": "1", "mib_per_s": "100.000"]
        try (csvLine(v3Trials) + csvLine(v3Trials.map { trial[$0] ?? "" })).write(toFile: path("v3-trials.csv"), atomically: true, encoding: .utf8)
        inputs.append(("v3", "0.3.0"))
        for (name, version) in inputs {
            XCTAssertEqual(try h.run(["check", path(name + ".csv")]).status, 0, name)
            let toJSON = try h.run(["convert", path(name + ".csv"), "-o", path(name + ".json")])
            XCTAssertEqual(toJSON.status, 0, toJSON.stderr)
            XCTAssertTrue(try String(contentsOfFile: path(name + ".json"), encoding: .utf8).contains("\"schema_version\" : \"\(version)\""), name)
            try assertMatchesSchema(path(name + ".json"))
            XCTAssertEqual(try h.run(["convert", path(name + ".json"), "-o", path(name + "-back.csv")]).status, 0)
            XCTAssertEqual(try bytes(path(name + "-back.csv")), try bytes(path(name + ".csv")), name)
        }
        XCTAssertEqual(try bytes(path("v3-back-trials.csv")), try bytes(path("v3-trials.csv")))
        let compared = try h.run(["compare", path("pivot-base.csv"), path("pivot-base.json")])
        XCTAssertEqual(compared.status, 0, compared.stderr)
    }

    /// A hand-edited file that check accepts but whose cells would not come back the same: convert
    /// refuses to write it as a file, and gives its JSON on standard output all the same.
    func testHandEditedFileIsReadButNotConvertedToAFile() throws {
        let fixture = Harness.repository.appendingPathComponent("Tests/Fixtures/pivot-base.csv").path
        var rows = try h.readCSV(fixture)
        let median = rows[0].firstIndex(of: "mib_per_s_median")!
        let edited = rows.indices.first { $0 > 0 && !rows[$0][median].isEmpty }!
        rows[edited][median] = String(rows[edited][median].dropLast(2))  // one decimal where the others have three
        try rows.map(csvLine).joined().write(toFile: path("edited.csv"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try h.run(["check", path("edited.csv")]).status, 0)
        try assertRefused(["convert", path("edited.csv"), "-o", path("edited.json")], saying: "cannot convert it losslessly")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("edited.json")))
        let out = try h.run(["convert", path("edited.csv"), "-o", "-"])
        XCTAssertEqual(out.status, 0, out.stderr)
        XCTAssertTrue(out.stdout.contains("\"schema_version\" : \"0.1.0\""))
    }

    func testJSONIpcbenchDoesNotWriteIsRefusedWithOneLine() throws {
        let fixture = Harness.repository.appendingPathComponent("Tests/Fixtures/pivot-base.csv").path
        XCTAssertEqual(try h.run(["convert", fixture, "-o", path("good.json")]).status, 0)
        let good = try String(contentsOfFile: path("good.json"), encoding: .utf8)
        let bad: [(String, String, String)] = [
            ("truncated", String(good.prefix(200)), "not the JSON form of ipcbench results"),
            ("version", good.replacingOccurrences(of: "\"0.1.0\"", with: "\"7.0.0\""), "schema_version 7.0.0 is not one this ipcbench reads"),
            ("type", good.replacingOccurrences(of: "\"repetitions\" : 5", with: "\"repetitions\" : \"5\""), "repetitions is a string, expected a whole number"),
            ("negative", good.replacingOccurrences(of: "\"repetitions\" : 5", with: "\"repetitions\" : -5"), "repetitions: '-5' is not a whole number"),
            ("unknown", good.replacingOccurrences(of: "\"repetitions\" : 5", with: "\"repetitions\" : 5, \"colour\" : 1"), "colour is not a field"),
            ("name", good.replacingOccurrences(of: "\"transport\" : \"pipe\"", with: "\"transport\" : \"carrier-pigeon\""), "is not a transport ipcbench writes"),
            ("control", good.replacingOccurrences(of: "\"status\" : \"ok\"", with: "\"status\" : \"ok\\u001b[2J\""), "text without control characters"),
            ("empty", "{\"schema_version\": \"0.4.0\", \"cases\": []}", "has no cases"),
        ]
        XCTAssertTrue(good.contains("\"repetitions\" : 5") && good.contains("\"transport\" : \"pipe\"") && good.contains("\"status\" : \"ok\""))
        for (name, text, saying) in bad {
            let file = path("bad-\(name).json")
            try text.write(toFile: file, atomically: true, encoding: .utf8)
            try assertRefused(["check", file], saying: saying)
            try assertRefused(["compare", file, path("good.json")], saying: saying)
            try assertRefused(["pivot", file, "-o", path("p.csv")], saying: saying)
            try assertRefused(["convert", file, "-o", path("out.csv")], saying: saying)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("out.csv")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("p.csv")))
    }

    func testListAndSysinfoSpeakJSON() throws {
        let list = try h.run(["list", "--format", "json"])
        XCTAssertEqual(list.status, 0, list.stderr)
        let described = try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as! [String: Any]
        let format = described["results_format"] as! [String: Any]
        XCTAssertEqual(format["schema_version"] as? String, "0.4.0")
        XCTAssertEqual((format["case_columns"] as! [[String: Any]]).map { $0["name"] as! String }, caseColumns)
        XCTAssertEqual((format["trial_columns"] as! [[String: Any]]).map { $0["name"] as! String }, trialColumns)
        let patterns = described["patterns"] as! [[String: Any]]
        XCTAssertEqual(patterns.map { $0["name"] as! String }, PatternKind.allCases.map(\.rawValue))
        XCTAssertEqual(((patterns[0]["metrics"] as! [[String: Any]])[0])["trial_column"] as? String, "mib_per_s")
        XCTAssertEqual((described["transports"] as! [[String: Any]]).count, TransportKind.allCases.count)
        XCTAssertNotNil((described["machine"] as! [String: Any])["pipe_capacity_bytes"] as? Int)
        let sysinfo = try h.run(["sysinfo", "--format", "json"])
        XCTAssertEqual(sysinfo.status, 0, sysinfo.stderr)
        let env = try JSONSerialization.jsonObject(with: Data(sysinfo.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(env["ipcbench_version"] as? String, ipcbenchVersion)
        XCTAssertEqual(env["cpus_online"] as? Int, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        XCTAssertTrue(Set(env.keys).isSubset(of: Set(environmentColumns)))
        try assertRefused(["list", "--format", "yaml"], saying: "expected text, csv or json")
        try assertRefused(["sysinfo", "--format", "yaml"], saying: "expected text, csv or json")
    }
}
