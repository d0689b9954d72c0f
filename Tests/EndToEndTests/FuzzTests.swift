import Foundation
import XCTest
import IPCPlatform
import IPCModel
import IPCRun
import IPCAnalysis
import IPCLab

/// Set IPCBENCH_FUZZ_SEED to replay a failure; every failure message names the seed in use.
let fuzzSeed = ProcessInfo.processInfo.environment["IPCBENCH_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0x5EED_1BCB

/// Mutations of a valid input: byte flips, deletions, duplications, huge numbers, deep nesting,
/// random keys and lines, and tokens of the format's own syntax.
struct Mutator {
    var rng: SeededGenerator
    /// Syntax and values of the format being mutated (TOML or CSV).
    let tokens: [String]

    static let numbers = ["9223372036854775807", "9223372036854775808", "-9223372036854775808", "99999999999999999999",
                          String(repeating: "9", count: 40), "0", "-1", "1e19", "1e308", "-1e308", "1e-320", "nan",
                          "inf", "-inf", "1048576GiB", "9223372036854775807GiB", "1073741825", "1099511627777",
                          "1000000001", "1001", "101", "25h", "99999999999999999999s", "0.0000001ns", "1.5.5"]
    static let keys = BenchConfig.suiteKeys + BenchConfig.runKeys + ["defaults", "suite", "", "sizes.x", "\"quoted\"", "é", "a b"]
    static let tomlTokens = ["[", "]", "[[", "]]", "\"", "'", "\"\"\"", "=", ",", "#", "\n", "\r\n", "\r", "\t", "{", "}",
                             ".", "[[suite]]\n", "[defaults]\n", "\\", "\\u0000", "\u{0}", "é", "\u{FFFD}", "true", "1.5"]
    static let csvTokens = [",", "\"", "\"\"", "\r\n", "\n", "\r", "", "-", "ok", "failed", "skipped", "latency",
                            "throughput", "pipe", "udp", "\u{0}", "é"] + caseColumns

    mutating func int(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
    mutating func pick<T>(_ items: [T]) -> T { items[int(items.count)] }

    mutating func mutate(_ input: [UInt8]) -> [UInt8] {
        var bytes = input
        for _ in 0...int(4) { bytes = mutateOnce(bytes) }
        return bytes
    }

    mutating func mutateOnce(_ input: [UInt8]) -> [UInt8] {
        var bytes = input
        let at = int(bytes.count + 1)
        let rest = bytes.count - at
        switch int(9) {
        case 0 where !bytes.isEmpty:  // flip a byte
            let i = int(bytes.count)
            bytes[i] = int(2) == 0 ? bytes[i] ^ (1 << UInt8(int(8))) : UInt8(int(256))
        case 1 where rest > 0:  // delete a run
            bytes.removeSubrange(at..<(at + 1 + int(min(rest, 40))))
        case 2 where rest > 0:  // duplicate a run somewhere
            let run = Array(bytes[at..<(at + 1 + int(min(rest, 80)))])
            bytes.insert(contentsOf: run, at: int(bytes.count + 1))
        case 3:  // a digit run becomes a huge (or odd) number
            let digits = bytes.indices.filter { bytes[$0] >= 0x30 && bytes[$0] <= 0x39 }
            guard let start = digits.isEmpty ? nil : pick(digits) else { break }
            var end = start
            while end < bytes.count, bytes[end] >= 0x30 && bytes[end] <= 0x39 { end += 1 }
            bytes.replaceSubrange(start..<end, with: Array(pick(Self.numbers).utf8))
        case 4:  // deep nesting, closed or not
            let depth = pick([2, 3, 4, 5, 8, 100, 20_000, 50_000])
            let close = int(2) == 0 ? String(repeating: "]", count: depth) : ""
            bytes.insert(contentsOf: Array((String(repeating: "[", count: depth) + "1" + close).utf8), at: at)
        case 5:  // a random key = value line
            let value = pick(Self.numbers + ["\"\(pick(Self.numbers))\"", "[\"64\", \(pick(Self.numbers))]", "\"all\"",
                                             "[]", "true", "\"same\"", "\"\"", "[[1]]"])
            bytes.insert(contentsOf: Array("\n\(pick(Self.keys)) = \(value)\n".utf8), at: at)
        case 6:  // swap two lines
            var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
            guard lines.count > 1 else { break }
            lines.swapAt(int(lines.count), int(lines.count))
            bytes = Array(lines.joined(separator: [0x0A]))
        case 7:  // a number in a random place
            bytes.insert(contentsOf: Array(pick(Self.numbers).utf8), at: at)
        default:  // a token of the format
            bytes.insert(contentsOf: Array(pick(tokens).utf8), at: at)
        }
        return bytes
    }
}

/// The shipped configs, as mutation seeds.
func shippedConfigs() throws -> [(String, [UInt8])] {
    let folder = Harness.repository.appendingPathComponent("bench-configs")
    return try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".toml") }.sorted()
        .map { ($0, Array(try Data(contentsOf: folder.appendingPathComponent($0)))) }
}

/// A small results file from a real run (pipe and udp, both patterns, 3 trials), kept as written.
let goldenCases = """
run_id,timestamp_utc,hostname,kernel_release,kernel_version,arch,cpu_model,cpus_online,ipcbench_version,transport,pattern,payload_bytes,messages_per_trial,bytes_per_trial,repetitions,warmup,cpu_placement,options,status,error,mib_per_s_median,mib_per_s_ci95_low,mib_per_s_ci95_high,mib_per_s_mean,mib_per_s_stddev,mib_per_s_min,mib_per_s_max,msgs_per_s_median,rtt_us_min,rtt_us_p50,rtt_us_p90,rtt_us_p99,rtt_us_p999,rtt_us_max,rtt_us_mean,rtt_us_stddev,cpu_user_us_per_msg,cpu_sys_us_per_msg,ctxsw_voluntary_per_msg,ctxsw_involuntary_per_msg,msgs_sent,msgs_received,msgs_lost,msgs_reordered,msgs_duplicated,alloc_bytes_in_loop,clock_overhead_ns
20261124-013826-vm,2026-11-24T01:38:26Z,vm,6.18.44-fc-v657,#1 SMP PREEMPT_DYNAMIC @0,x86_64,AMD EPYC,2,0.1.0,pipe,throughput,64,1024,65536,3,0,"none:0,0",,ok,,79.994,78.374,85.575,81.315,3.778,78.374,85.575,1310626,,,,,,,,,0.4567,0.0000,0.0085,0.0081,,,,,,0,20.0
20261124-013826-vm,2026-11-24T01:38:26Z,vm,6.18.44-fc-v657,#1 SMP PREEMPT_DYNAMIC @0,x86_64,AMD EPYC,2,0.1.0,udp,throughput,64,1024,65536,3,0,"none:1,0",,ok,,7.266,5.205,12.394,8.288,3.702,5.205,12.394,119041,,,,,,,,,4.4727,0.7699,0.1497,0.0225,3072,2168,904,0,0,0,20.0
20261124-013826-vm,2026-11-24T01:38:26Z,vm,6.18.44-fc-v657,#1 SMP PREEMPT_DYNAMIC @0,x86_64,AMD EPYC,2,0.1.0,pipe,latency,64,200,12800,3,0,"none:1,1",,ok,,,,,,,,,,4.099,4.707,24.863,30.319,3393.535,3393.535,23.508,169.591,15.8183,0.0000,1.4050,0.5983,,,,,,0,20.0
20261124-013826-vm,2026-11-24T01:38:26Z,vm,6.18.44-fc-v657,#1 SMP PREEMPT_DYNAMIC @0,x86_64,AMD EPYC,2,0.1.0,udp,latency,64,200,12800,3,0,"none:1,1",,ok,,,,,,,,,,9.095,9.279,9.991,13.927,65.439,65.439,9.780,2.977,6.5750,3.2200,1.1683,0.8350,600,600,0,0,0,0,20.0

""".replacingOccurrences(of: "\n", with: "\r\n")

let goldenTrials = """
run_id,transport,pattern,payload_bytes,cpu_placement,options,trial,duration_ns,bytes,messages,mib_per_s,rtt_us_p50,rtt_us_p99
20261124-013826-vm,pipe,throughput,64,"none:0,0",,1,797460,65536,1024,78.374,,
20261124-013826-vm,pipe,throughput,64,"none:0,0",,2,781306,65536,1024,79.994,,
20261124-013826-vm,pipe,throughput,64,"none:0,0",,3,730350,65536,1024,85.575,,
20261124-013826-vm,udp,throughput,64,"none:1,0",,1,2713359,20672,1024,7.266,,
20261124-013826-vm,udp,throughput,64,"none:1,0",,2,4043198,52544,1024,12.394,,
20261124-013826-vm,udp,throughput,64,"none:1,0",,3,12006772,65536,1024,5.205,,
20261124-013826-vm,pipe,latency,64,"none:1,1",,1,12339814,12800,200,,24.591,1141.759
20261124-013826-vm,pipe,latency,64,"none:1,1",,2,917809,12800,200,,4.667,4.879
20261124-013826-vm,pipe,latency,64,"none:1,1",,3,876828,12800,200,,4.179,4.867
20261124-013826-vm,udp,latency,64,"none:1,1",,1,2067285,12800,200,,9.295,34.463
20261124-013826-vm,udp,latency,64,"none:1,1",,2,1928988,12800,200,,9.279,10.719
20261124-013826-vm,udp,latency,64,"none:1,1",,3,1916220,12800,200,,9.215,10.831

""".replacingOccurrences(of: "\n", with: "\r\n")

/// The parsers, in process: each mutated input either parses or is refused with an `InputError`;
/// a trap would kill the test process, so reaching the end is the assertion.
final class InputFuzzTests: XCTestCase {
    func testMutatedConfigsParseOrAreRefused() throws {
        var m = Mutator(rng: SeededGenerator(seed: fuzzSeed), tokens: Mutator.tomlTokens)
        let seeds = try shippedConfigs()
        XCTAssertEqual(seeds.count, 5, "default, kernel-compare, patterns, pubsub and quick")
        var parsed = 0, planned = 0, refused = 0
        for i in 0..<2000 {
            let (name, original) = seeds[i % seeds.count]
            let text = String(decoding: m.mutate(original), as: UTF8.self)
            let context = "seed \(fuzzSeed), config \(i) (from \(name))"
            let config: BenchConfig
            do {
                config = try BenchConfig.parse(text, file: "fuzz.toml")
            } catch let error as InputError {
                XCTAssertTrue(error.message.hasPrefix("fuzz.toml:"), "\(context): \(error.message)")
                XCTAssertFalse(error.message.contains("\n"), "\(context): \(error.message)")
                refused += 1
                continue
            }
            parsed += 1
            var overrides = SettingLayer()
            // Options the way `run` reads them (the table of settings), from mutated text; a refused one stays unset.
            let option = { (m: inout Mutator) in String(decoding: m.mutate(Array(m.pick(Mutator.numbers + ["64", "4KiB", "200ms"]).utf8)), as: UTF8.self) }
            for key in ["sizes", "total", "timeout", "min_trial_time", "count"] where m.int(3) == 0 {
                try? overrides.read(key, option: option(&m))
            }
            do {
                for c in try config.plan(overrides, allowed: [0, 1]) {
                    // What the runner multiplies must fit: × 10,000 for calibration, summed over the repetitions.
                    XCTAssertTrue((1...(1 << 30)).contains(c.payloadBytes) && c.messages >= 1, "\(context): \(c)")
                    XCTAssertLessThanOrEqual(c.payloadBytes * c.messages, 1 << 40, "\(context): \(c)")
                    XCTAssertTrue((1...1000).contains(c.repetitions) && (0...100).contains(c.warmup), "\(context): \(c)")
                    XCTAssertTrue(c.timeoutNs >= 1 && c.timeoutNs <= 86_400_000_000_000 && c.minTrialNs <= 3_600_000_000_000, "\(context): \(c)")
                    let (calibrated, overflow) = c.messages.multipliedReportingOverflow(by: 10_000 * c.repetitions)
                    XCTAssertFalse(overflow || calibrated.multipliedReportingOverflow(by: c.payloadBytes).overflow, "\(context): \(c)")
                }
                planned += 1
            } catch let error as InputError {
                XCTAssertFalse(error.message.contains("\n"), "\(context): \(error.message)")
            }
        }
        print("fuzz seed \(fuzzSeed): 2000 configs, \(parsed) parsed (\(planned) planned), \(refused) refused")
        XCTAssertGreaterThan(parsed, 100, "seed \(fuzzSeed): the mutations should leave some configs valid")
        XCTAssertGreaterThan(refused, 100, "seed \(fuzzSeed)")
        XCTAssertGreaterThan(planned, 50, "seed \(fuzzSeed)")
    }

    func testMutatedResultFilesLoadOrAreRefused() throws {
        var m = Mutator(rng: SeededGenerator(seed: fuzzSeed ^ 0xC5F), tokens: Mutator.csvTokens)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ipcbench-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var loaded = 0, refused = 0
        for i in 0..<1000 {
            let context = "seed \(fuzzSeed), result file \(i)"
            let cases = String(decoding: m.mutate(Array(goldenCases.utf8)), as: UTF8.self)
            let trials = m.int(2) == 0 ? String(decoding: m.mutate(Array(goldenTrials.utf8)), as: UTF8.self) : goldenTrials
            let path = folder.appendingPathComponent("r\(i).csv").path
            try Data(cases.utf8).write(to: URL(fileURLWithPath: path))
            if m.int(4) != 0 { try Data(trials.utf8).write(to: folder.appendingPathComponent("r\(i)-trials.csv")) }

            // parseCSV reads back exactly what csvLine writes.
            for text in [cases, trials] {
                let records = parseCSV(text)
                XCTAssertEqual(parseCSV(records.map(csvLine).joined()), records, context)
                // The numbers of one row, formatted back.
                for field in records.isEmpty ? [] : m.pick(records) { checkDecimal(Double(field), places: m.int(7), context) }
            }
            do {
                let file = try ResultFile.load(path)
                XCTAssertEqual(file.path, path)
                loaded += 1
            } catch let error as InputError {
                let trialsPath = String(path.dropLast(4)) + "-trials.csv"
                XCTAssertTrue(error.message.hasPrefix(path + ":") || error.message.hasPrefix(trialsPath + ":"), "\(context): \(error.message)")
                XCTAssertFalse(error.message.contains("\n"), "\(context): \(error.message)")
                refused += 1
            }
        }
        print("fuzz seed \(fuzzSeed): 1000 result files, \(loaded) loaded, \(refused) refused")
        XCTAssertGreaterThan(loaded, 50, "seed \(fuzzSeed)")
        XCTAssertGreaterThan(refused, 50, "seed \(fuzzSeed)")
    }

    func testFormatDecimalOnAnyDouble() {
        var rng = SeededGenerator(seed: fuzzSeed ^ 0xD0)
        let edges: [Double] = [0, -0.0, 1e19, -1e19, 9e18, 9.2e18, 1e40, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
                               .leastNonzeroMagnitude, .leastNormalMagnitude, .infinity, -.infinity, .nan, 0.5, -0.5, 2.5]
        for i in 0..<20_000 {
            let value = i < edges.count ? edges[i] : Double(bitPattern: rng.next())
            checkDecimal(value, places: Int(rng.next() % 7), "seed \(fuzzSeed), value \(i)")
        }
    }

    /// Digits, an optional minus and exactly `places` decimals, never an exponent, and the nearest
    /// such number to `value`; an empty cell for NaN and the infinities.
    func checkDecimal(_ value: Double?, places: Int, _ context: String) {
        guard let value else { return }
        let text = formatDecimal(value, places: places)
        guard value.isFinite else { return XCTAssertEqual(text, "", "\(context): \(value)") }
        let unsigned = text.hasPrefix("-") ? text.dropFirst() : Substring(text)
        let parts = unsigned.split(separator: ".", omittingEmptySubsequences: false)
        XCTAssertTrue(parts.allSatisfy { !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }, "\(context): \(value) -> \(text)")
        XCTAssertEqual(parts.count, places == 0 ? 1 : 2, "\(context): \(value) -> \(text)")
        XCTAssertEqual(parts.count == 2 ? parts[1].count : 0, places, "\(context): \(value) -> \(text)")
        let back = Double(text) ?? .nan
        let step = pow(10, -Double(places))
        XCTAssertLessThanOrEqual(abs(back - value), step / 2 + abs(value) * 1e-15, "\(context): \(value) -> \(text)")
    }
}

/// A sample of the same mutations through the real binary: every run ends by exiting 0, 1 or 2
/// (never by a signal), within a time limit, and leaves nothing behind when it exits 2.
final class BinaryFuzzTests: XCTestCase {
    var h: Harness!

    override func setUpWithError() throws { h = try Harness() }
    override func tearDownWithError() throws { try h.finishChecks() }

    /// Runs the binary (or `executable`); one that outlives `seconds` is killed, which fails the test.
    func runLimited(_ arguments: [String], executable: String = Harness.binary, seconds: Double = 60, _ context: String) throws -> Harness.Outcome {
        let p = try h.start(arguments, executable: executable)
        let timer = DispatchWorkItem { kill(p.0.processIdentifier, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds, execute: timer)
        let outcome = h.finish(p)
        timer.cancel()
        XCTAssertEqual(p.0.terminationReason, .exit, "\(context): ended by signal \(p.0.terminationStatus) (or hung and was killed): \(arguments)")
        XCTAssertTrue([0, 1, 2].contains(outcome.status), "\(context): exit \(outcome.status): \(outcome.stderr)")
        if outcome.status == 2 {
            XCTAssertEqual(outcome.stderr.split(separator: "\n").count, 1, "\(context): \(outcome.stderr)")
        }
        return outcome
    }

    func testMutatedConfigsThroughTheBinary() throws {
        var m = Mutator(rng: SeededGenerator(seed: fuzzSeed ^ 0xB1), tokens: Mutator.tomlTokens)
        let seeds = try shippedConfigs()
        var statuses: [Int32: Int] = [:]
        for i in 0..<50 {
            let context = "seed \(fuzzSeed), binary config \(i)"
            let config = h.work.appendingPathComponent("c\(i).toml")
            try Data(m.mutate(seeds[i % seeds.count].1)).write(to: config)
            let output = h.work.appendingPathComponent("out\(i)")
            // Quick settings override the config's, so that whatever parses runs in moments.
            let outcome = try runLimited(["run", config.path, "-t", "pipe", "-s", "64", "--total", "64K", "--count", "20",
                                          "-r", "1", "--warmup", "0", "--min-trial-time", "0s", "--timeout", "10s",
                                          "--cpus", "none", "-q", "-o", output.path + "/"], context)
            statuses[outcome.status, default: 0] += 1
            if outcome.status == 2 {
                XCTAssertFalse(FileManager.default.fileExists(atPath: output.path), "\(context): wrote results")
            }
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: h.tmp.path), [], "\(context): left a run directory")
        }
        print("fuzz seed \(fuzzSeed): 50 configs through the binary, exit statuses \(statuses.sorted { $0.key < $1.key })")
        XCTAssertGreaterThan(statuses[0, default: 0], 0, "seed \(fuzzSeed): some mutated configs should run")
        XCTAssertGreaterThan(statuses[2, default: 0], 0, "seed \(fuzzSeed)")
    }

    func testMutatedResultFilesThroughCompare() throws {
        var m = Mutator(rng: SeededGenerator(seed: fuzzSeed ^ 0xB2), tokens: Mutator.csvTokens)
        let base = h.work.appendingPathComponent("base.csv").path
        try goldenCases.write(toFile: base, atomically: true, encoding: .utf8)
        try goldenTrials.write(toFile: String(base.dropLast(4)) + "-trials.csv", atomically: true, encoding: .utf8)
        var statuses: [Int32: Int] = [:]
        for i in 0..<50 {
            let context = "seed \(fuzzSeed), binary result file \(i)"
            let cases = m.mutate(Array(goldenCases.utf8))
            let trials = m.int(2) == 0 ? m.mutate(Array(goldenTrials.utf8)) : Array(goldenTrials.utf8)
            let path = h.work.appendingPathComponent("r\(i).csv").path
            try Data(cases).write(to: URL(fileURLWithPath: path))
            if m.int(4) != 0 { try Data(trials).write(to: URL(fileURLWithPath: String(path.dropLast(4)) + "-trials.csv")) }
            let format = m.pick(["table", "csv", "markdown"])
            let arguments = m.int(2) == 0 ? [base, path] : [path, base]
            let outcome = try runLimited(["compare"] + arguments + ["--format", format], context)
            statuses[outcome.status, default: 0] += 1
        }
        print("fuzz seed \(fuzzSeed): 50 result files through compare, exit statuses \(statuses.sorted { $0.key < $1.key })")
        XCTAssertGreaterThan(statuses[0, default: 0], 0, "seed \(fuzzSeed)")
        XCTAssertGreaterThan(statuses[2, default: 0], 0, "seed \(fuzzSeed)")
    }

    /// A script of scripts/ run like the binary: it too exits 0 or 2 (one line), never with a traceback.
    func runScript(_ name: String, _ arguments: [String], _ context: String) throws -> Harness.Outcome {
        let script = Harness.repository.appendingPathComponent("scripts/\(name)").path
        let outcome = try runLimited(["python3", script] + arguments, executable: "/usr/bin/env", context)
        XCTAssertTrue([0, 2].contains(outcome.status), "\(context): \(name) exit \(outcome.status): \(outcome.stderr)")
        return outcome
    }

    /// Special files and inputs over the size limits, as configs and as results files, to every
    /// reader: run, compare, pivot, check and the Python scripts. Each is refused at once with exit 2
    /// and one line, and nothing is written.
    func testSpecialFilesAndOverLargeInputsToEveryReader() throws {
        let fifo = h.work.appendingPathComponent("input.fifo").path
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        var inputs = ["/dev/zero", "/dev/urandom", "/dev/null", fifo, h.work.path]
        for (name, size) in [("big.toml", configFileLimit + 1), ("big.csv", compareFileLimit + 1)] {
            let path = h.work.appendingPathComponent(name).path
            XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: nil))
            XCTAssertEqual(truncate(path, off_t(size)), 0)
            inputs.append(path)
        }
        for (i, input) in inputs.enumerated() {
            let output = h.work.appendingPathComponent("out\(i)").path
            for arguments in [["run", input, "-q", "-o", output + "/"], ["compare", input, input], ["pivot", input, "-o", output],
                              ["check", input]] {
                let outcome = try runLimited(arguments, seconds: 30, "\(arguments)")
                XCTAssertEqual(outcome.status, 2, "\(arguments): \(outcome.stderr)")
                XCTAssertTrue(outcome.stderr.hasPrefix("ipcbench: error: \(input): "), "\(arguments): \(outcome.stderr)")
            }
            for script in ["plot.py", "workbook.py"] {
                let outcome = try runScript(script, [input, "-o", output + (script == "plot.py" ? "" : ".xlsx")], "\(script) \(input)")
                XCTAssertEqual(outcome.status, 2, "\(script) \(input): \(outcome.stderr)")
                XCTAssertEqual(outcome.stderr.split(separator: "\n").count, 1, outcome.stderr)
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: output), "\(input) left \(output)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: output + ".xlsx"), "\(input) left \(output).xlsx")
        }
    }

    /// Mutated results files through the scripts: a plot and a workbook, or exit 2 with one line and nothing written.
    func testMutatedResultFilesThroughTheScripts() throws {
        var m = Mutator(rng: SeededGenerator(seed: fuzzSeed ^ 0xB3), tokens: Mutator.csvTokens)
        var statuses: [Int32: Int] = [:]
        for i in 0..<12 {
            let context = "seed \(fuzzSeed), script result file \(i)"
            let path = h.work.appendingPathComponent("r\(i).csv").path
            try Data(m.mutate(Array(goldenCases.utf8))).write(to: URL(fileURLWithPath: path))
            let script = i % 2 == 0 ? "plot.py" : "workbook.py"
            let output = h.work.appendingPathComponent("out\(i)").path + (script == "plot.py" ? "" : ".xlsx")
            let outcome = try runScript(script, [path, "-o", output], context)
            statuses[outcome.status, default: 0] += 1
            if outcome.status == 2 {
                XCTAssertEqual(outcome.stderr.split(separator: "\n").count, 1, "\(context): \(outcome.stderr)")
                XCTAssertFalse(FileManager.default.fileExists(atPath: output), "\(context): wrote \(output)")
            }
        }
        print("fuzz seed \(fuzzSeed): 12 result files through the scripts, exit statuses \(statuses.sorted { $0.key < $1.key })")
    }
}
