import Foundation
import XCTest
@testable import IPCPlatform
@testable import IPCModel
@testable import IPCRun
@testable import IPCAnalysis
@testable import IPCLab

/// The one result record: its JSON form is lossless, typed and refuses what ipcbench does not write.
final class ResultsRecordTests: XCTestCase {
    func environment(_ host: String, bootID: String = "b1") -> Environment {
        Environment(runID: "20261121-120000-\(host)", timestampUTC: "2026-11-21T12:00:00Z", hostname: host, kernelRelease: "6.1.0",
                    kernelVersion: "#1 SMP, PREEMPT", arch: "x86_64", cpuModel: "Test CPU", cpusOnline: 2, version: ipcbenchVersion,
                    mitigations: "none affected", cmdlineMitigations: "", cmdlinePreempt: "", smt: "on", clocksource: "tsc",
                    cpuGovernor: "", bootID: bootID, procVersion: "Linux", kernelCmdline: "ro", virtualization: "kvm",
                    command: "ipcbench run (config sha256 ab)", clockOverheadNs: 20.25)
    }

    func result(_ transport: TransportKind, knobs: TransportKnobs) -> CaseResult {
        var c = BenchCase(suite: "t", transport: transport, pattern: .throughput, payloadBytes: 4096, messages: 10,
                          repetitions: 2, warmup: 0, placement: .split, timeoutNs: 1, minTrialNs: 0, verify: false)
        c.knobs = knobs
        var r = CaseResult(c, status: .ok, error: "a \"quoted\", warning")
        r.cpuPlacement = "split:0,1"
        r.summaries = [.throughput: Summary([100, 200])!, .cpuPerMessage: Summary([1, 1.5])!]
        r.knobsInForce = knobs
        r.measuredMessages = 20
        r.trials = [TrialRecord(trial: 1, durationNs: 1_000_000, bytes: 40960, messages: 10, values: [.throughput: 100.0004], round: 1, startNs: 5),
                    TrialRecord(trial: 2, durationNs: 1_000_000, bytes: 40960, messages: 10, values: [.throughput: 200], round: 2, startNs: 9)]
        return r
    }

    /// Two cases of two environments (a second host, an empty boot id), their trials.
    func record() -> ResultsRecord {
        let a = result(.tcp, knobs: TransportKnobs([.sendBuffer: 262_144])), b = result(.pipe, knobs: TransportKnobs([.pipeSize: 65536]))
        let envA = environment("a"), envB = environment("b", bootID: "")
        return ResultsRecord(cases: [caseValues(a, envA), caseValues(b, envB)],
                             trials: a.trials.map { trialValues(a, $0, envA) } + b.trials.map { trialValues(b, $0, envB) })
    }

    func testJSONFormIsLosslessBothWays() throws {
        let original = record()
        let json = try recordJSON(original)
        let decoded = try ResultsReader.decodeRecord(Array(json.utf8))
        XCTAssertEqual(decoded, original)
        XCTAssertEqual(try recordJSON(decoded), json, "the JSON written again is the same text")
        XCTAssertEqual(decoded.casesCSV, original.casesCSV)
        XCTAssertEqual(decoded.trialsCSV, original.trialsCSV)
        XCTAssertNil(ResultsConversion.roundTripProblem(original))
    }

    func testJSONIsTypedAndGrouped() throws {
        let object = try JSONSerialization.jsonObject(with: Data(try recordJSON(record()).utf8)) as! [String: Any]
        XCTAssertEqual(object["schema_version"] as? String, "0.4.0")
        let cases = object["cases"] as! [[String: Any]]
        let settings = cases[0]["settings"] as! [String: Any]
        XCTAssertEqual(settings["sndbuf"] as? Int, 262_144, "a knob is a number of its own, not text in the options label")
        XCTAssertEqual(settings["nodelay"] as? Bool, false)
        XCTAssertEqual(settings["workers"] as? String, "process")
        XCTAssertNil((cases[1]["settings"] as! [String: Any])["nodelay"], "pipe takes no nodelay: the cell is empty, the field absent")
        let figures = cases[0]["figures"] as! [String: [String: Double]]
        XCTAssertEqual(figures["mib_per_s"]?["median"], 150)
        XCTAssertEqual(figures["mib_per_s"]?["ci95_low"], 100)
        XCTAssertEqual((cases[0]["key"] as! [String: Any])["payload_bytes"] as? Int, 4096)
        let derived = cases[0]["derived"] as! [String: Any]
        XCTAssertEqual(derived["case"] as? String, "tcp throughput 4096 split sndbuf=262144", "compare's case key, made by the binary")
        let throughput = (derived["figures"] as! [String: [String: Double]])["mib_per_s"]!
        XCTAssertEqual(throughput, ["median": 150, "ci95_low": 100, "ci95_high": 200, "trials": 2], "the trials' median and its interval")
        XCTAssertNil(cases[0]["environment"], "the first case's environment is the run's")
        let differs = cases[1]["environment"] as! [String: Any]
        XCTAssertEqual(differs["hostname"] as? String, "b")
        XCTAssertTrue(differs["boot_id"] is NSNull, "an empty cell where the run has one is null")
        XCTAssertEqual((object["environment"] as! [String: Any])["cpus_online"] as? Int, 2)
        XCTAssertEqual(((object["trials"] as! [[String: Any]])[0]["figures"] as! [String: Double])["mib_per_s"], 100, "written with its column's decimals")
    }

    /// A file of an older ipcbench wrote a column with other decimals: the JSON keeps the count.
    func testOtherDecimalsTravelInDecimalPlaces() throws {
        var r = record()
        let column = r.caseColumns.firstIndex { $0.name == "mib_per_s_median" }!
        for i in r.cases.indices { r.cases[i].values[column] = .decimal(150, places: 1) }
        let json = try recordJSON(r)
        XCTAssertTrue(json.contains("\"mib_per_s_median\" : 1"), json)
        XCTAssertEqual(try ResultsReader.decodeRecord(Array(json.utf8)).casesCSV, r.casesCSV)
        // A column of mixed decimals (a hand-edited file): the JSON keeps the numbers, not the CSV's text.
        r.cases[0].values[column] = .decimal(150, places: 2)
        let mixed = try ResultsReader.decodeRecord(Array(try recordJSON(r).utf8))
        XCTAssertNotEqual(mixed, r)
        XCTAssertEqual(mixed.cases.map { $0.values[column] }, [.decimal(150, places: 3), .decimal(150, places: 3)])
    }

    func testJSONThatIpcbenchDoesNotWriteIsRefused() throws {
        let good = try recordJSON(record())
        func refused(_ text: String, saying: String, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertThrowsError(try ResultsReader.decodeRecord(Array(text.utf8)), file: file, line: line) { error in
                let message = (error as? RecordFormatError)?.message ?? "\(error)"
                XCTAssertTrue(message.contains(saying), message, file: file, line: line)
                XCTAssertFalse(message.contains("\n"), message, file: file, line: line)
            }
        }
        refused("{", saying: "not the JSON form of ipcbench results")
        refused(good.replacingOccurrences(of: "\"0.4.0\"", with: "\"0.9.0\""), saying: "schema_version 0.9.0 is not one this ipcbench reads")
        refused(good.replacingOccurrences(of: "\"payload_bytes\" : 4096", with: "\"payload_bytes\" : \"4096\""), saying: "key.payload_bytes is a string, expected a whole number")
        refused(good.replacingOccurrences(of: "\"sndbuf\" : 262144", with: "\"sndbuf\" : 262144, \"color\" : 1"), saying: "settings.color is not a field")
        refused(good.replacingOccurrences(of: "\"nodelay\" : false", with: "\"nodelay\" : \"no\""), saying: "settings.nodelay is a string, expected true or false")
        refused("{\"schema_version\": \"0.4.0\"}", saying: "cases is missing")
    }

    /// `--within` takes a setting's value from its column and the rest of the options from the others'.
    func testWithinReadsASettingFromItsColumn() throws {
        func row(_ sndbuf: String, _ options: String) -> CaseRow {
            CaseRow(["transport": "tcp", "pattern": "latency", "payload_bytes": "64", "cpu_placement": "split:0,1", "options": options,
                     "workers": "thread", "nodelay": "true", "sndbuf": sndbuf, "rcvbuf": "65536"])
        }
        let spec = try WithinSpec("sndbuf=131072,262144")
        let a = try XCTUnwrap(try spec.split(row("131072", "threads nodelay sndbuf=131072 rcvbuf=65536")))
        let b = try XCTUnwrap(try spec.split(row("262144", "threads nodelay sndbuf=262144 rcvbuf=65536")))
        XCTAssertEqual(a.value, "131072")
        XCTAssertEqual(b.value, "262144")
        XCTAssertEqual(a.rest, b.rest)
        XCTAssertEqual(a.rest.options, "threads nodelay rcvbuf=65536")
        XCTAssertEqual(try WithinSpec("workers=process,thread").split(row("1", "x"))?.rest.options, "nodelay sndbuf=1 rcvbuf=65536")
        XCTAssertThrowsError(try WithinSpec("color=a,b").split(row("1", "x")))
        let old = CaseRow(["transport": "tcp", "pattern": "latency", "options": "sndbuf=131072"])
        XCTAssertThrowsError(try spec.split(old)) { error in
            XCTAssertTrue("\(error)".contains("written before 0.4.0"), "\(error)")
        }
    }

    /// docs/results.schema.json is made from the column list; regenerate it with
    /// `IPCBENCH_WRITE_SCHEMA=1 swift test --filter testSchemaFileIsCurrent`.
    func testSchemaFileIsCurrent() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/results.schema.json").path
        let schema = try resultsJSONSchema()
        if ProcessInfo.processInfo.environment["IPCBENCH_WRITE_SCHEMA"] == "1" { try schema.write(toFile: path, atomically: true, encoding: .utf8) }
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), schema, "docs/results.schema.json is stale: regenerate it (see this test)")
    }
}
