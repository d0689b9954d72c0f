import Foundation
import XCTest
@testable import IPCPlatform
@testable import IPCModel
@testable import IPCRun
@testable import IPCAnalysis
@testable import IPCLab

/// A results file and its trials file, written from a few fixed figures.
struct FixtureRun {
    var runID: String
    var kernel: String
    /// (transport, pattern, payload, trial figures): MiB/s for throughput, RTT p50 for latency (p99 = 2 × p50).
    var cases: [(String, String, Int, [Double])]
    /// Extra environment columns, placed before `transport` as the runner places them.
    var environment: [(String, String)] = []
    var caseOverrides: [String: String] = [:]

    func write(_ folder: URL, _ stem: String, trials: Bool = true) throws -> String {
        var columns = caseColumns
        columns.insert(contentsOf: environment.map(\.0).filter { !columns.contains($0) }, at: columns.firstIndex(of: "transport")!)
        var caseLines = [csvLine(columns)]
        var trialLines = [csvLine(trialColumns)]
        for (transport, pattern, payload, values) in cases {
            let sorted = values.sorted()
            let median = sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
            let mean = values.reduce(0, +) / Double(values.count)
            let sd = (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1)).squareRoot()
            var row: [String: String] = [
                "run_id": runID, "timestamp_utc": "2026-11-24T00:00:00Z", "hostname": "vm", "kernel_release": kernel,
                "kernel_version": "#1 SMP", "arch": "x86_64", "cpu_model": "Test CPU", "cpus_online": "2", "ipcbench_version": "0.1.0",
                "transport": transport, "pattern": pattern, "payload_bytes": String(payload), "messages_per_trial": "1000",
                "repetitions": String(values.count), "warmup": "1", "cpu_placement": "split:0,1", "status": "ok",
            ]
            let f = { (v: Double) in formatDecimal(v, places: 3) }
            if pattern == "throughput" {
                row["mib_per_s_median"] = f(median); row["mib_per_s_mean"] = f(mean); row["mib_per_s_stddev"] = f(sd)
            } else {
                row["rtt_us_p50"] = f(median); row["rtt_us_p99"] = f(2 * median); row["rtt_us_mean"] = f(mean); row["rtt_us_stddev"] = f(sd)
            }
            for (name, value) in environment { row[name] = value }
            row.merge(caseOverrides) { $1 }
            caseLines.append(csvLine(columns.map { row[$0] ?? "" }))
            for (i, v) in values.enumerated() {
                var t = ["run_id": runID, "transport": transport, "pattern": pattern, "payload_bytes": String(payload),
                         "cpu_placement": "split:0,1", "trial": String(i + 1), "duration_ns": "1000000", "bytes": "1", "messages": "1"]
                if pattern == "throughput" { t["mib_per_s"] = f(v) } else { t["rtt_us_p50"] = f(v); t["rtt_us_p99"] = f(2 * v) }
                trialLines.append(csvLine(trialColumns.map { t[$0] ?? "" }))
            }
        }
        let path = folder.appendingPathComponent(stem + ".csv").path
        try caseLines.joined().write(toFile: path, atomically: true, encoding: .utf8)
        if trials {
            try trialLines.joined().write(toFile: folder.appendingPathComponent(stem + "-trials.csv").path, atomically: true, encoding: .utf8)
        }
        return path
    }
}

/// Golden output of `compare` on small fixed files.
final class CompareOutputTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("ipcbench-compare-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    static let baseCases: [(String, String, Int, [Double])] = [
        ("pipe", "throughput", 4096, [100, 102, 98, 101, 99, 100.5]),
        ("pipe", "latency", 64, [10, 10.2, 9.8, 10.1, 9.9, 10.05]),
    ]
    static let newCases: [(String, String, Int, [Double])] = [
        ("pipe", "throughput", 4096, [110, 112, 108, 111, 109, 110.5]),
        ("pipe", "latency", 64, [10.02, 10.22, 9.82, 10.12, 9.92, 10.07]),
    ]

    func render(_ sides: [[String]], format: CompareFormat) throws -> String {
        let report = compareResults(try sides.map { Side(files: try $0.map(ResultFile.load)) }, ignoring: [], alpha: 0.05)
        return renderComparison(report, format: format).replacingOccurrences(of: folder.path + "/", with: "")
            .replacingOccurrences(of: "\r\n", with: "\n")
    }

    func testOneRunPerSide() throws {
        let a = try FixtureRun(runID: "ra", kernel: "6.1", cases: Self.baseCases).write(folder, "a")
        let b = try FixtureRun(runID: "rb", kernel: "6.2", cases: Self.newCases).write(folder, "b")
        XCTAssertEqual(try render([[a], [b]], format: .table), """
        base: a.csv (kernel 6.1, host vm, cpu Test CPU, run ra)
        new: b.csv (kernel 6.2, host vm, cpu Test CPU, run rb)
        units: runs (1 run vs 1 run)
        note: the sides differ in kernel_release: "6.1" vs "6.2"
        note: one run a side: the intervals are within-run (the noise between trials only; the variance between runs is not measured), so nothing is marked significant. Take at least 3 runs a side (a1.csv,a2.csv,a3.csv), across boots where possible: runs differ by more than their trials do.

        case                        metric        base     new  change     95% interval  MDE  q      verdict
        pipe throughput 4096 split  MiB/s        100.3   110.2  +10.0%  [+7.9%, +12.1%]           within-run
        pipe latency 64 split       RTT p50 us  10.025  10.045   +0.2%   [-1.8%, +2.2%]           within-run
        pipe latency 64 split       RTT p99 us  20.050  20.090   +0.2%   [-1.8%, +2.2%]           within-run
        geomean                     MiB/s                       +10.0%                           no interval
        geomean                     RTT p50 us                   +0.2%                           no interval
        geomean                     RTT p99 us                   +0.2%                           no interval

        change: new/base - 1 of the geometric means of the units' figures (a run's figure is the median of its trials); 95% interval of the change
        MDE: the change the test finds 80% of the time at the 5% level, these units' minimum detectable effect
        tests: within-run: Mann-Whitney shift interval on the trials' logs, one run a side, no verdict
        no interval: one run a side: no interval for the geometric mean: geomean MiB/s, geomean RTT p50 us, geomean RTT p99 us

        """)
        XCTAssertEqual(try render([[a], [b]], format: .csv), """
        kind,new_file,transport,pattern,payload_bytes,placement,options,metric,base,new,change_pct,significant,change_ci95_low_pct,change_ci95_high_pct,detectable_pct,method,p_value,q_value,mde_pct,note,depth,receivers,pairs,publishers,subscribers,topics,subscriptions,topology,rate,wait
        case,b.csv,pipe,throughput,4096,split,,MiB/s,100.250,110.250,9.98,0,7.92,12.12,1.93,within-run,,,,,,,,,,,,,,
        case,b.csv,pipe,latency,64,split,,RTT p50 us,10.025,10.045,0.20,0,-1.78,2.22,2.02,within-run,,,,,,,,,,,,,,
        case,b.csv,pipe,latency,64,split,,RTT p99 us,20.050,20.090,0.20,0,-1.78,2.22,2.02,within-run,,,,,,,,,,,,,,
        geomean,b.csv,,,,,,MiB/s,,,9.98,0,,,,,,,,one run a side: no interval for the geometric mean,,,,,,,,,,
        geomean,b.csv,,,,,,RTT p50 us,,,0.20,0,,,,,,,,one run a side: no interval for the geometric mean,,,,,,,,,,
        geomean,b.csv,,,,,,RTT p99 us,,,0.20,0,,,,,,,,one run a side: no interval for the geometric mean,,,,,,,,,,

        """)
    }

    func testSeveralRunsPerSide() throws {
        var a: [String] = [], b: [String] = []
        for (i, drift) in [1.0, 1.03, 0.98].enumerated() {
            func scaled(_ cases: [(String, String, Int, [Double])]) -> [(String, String, Int, [Double])] {
                cases.map { ($0.0, $0.1, $0.2, $0.3.map { $0 * drift }) }
            }
            a.append(try FixtureRun(runID: "ra\(i)", kernel: "6.1", cases: scaled(Self.baseCases),
                                    environment: [("mitigations", "auto"), ("smt", "on"), ("seed", "\(i)")]).write(folder, "a\(i + 1)"))
            b.append(try FixtureRun(runID: "rb\(i)", kernel: "6.2", cases: scaled(Self.newCases),
                                    environment: [("mitigations", "off"), ("smt", "on"), ("seed", "\(i + 7)")]).write(folder, "b\(i + 1)"))
        }
        XCTAssertEqual(try render([a, b], format: .table), """
        base: a1.csv (kernel 6.1, host vm, cpu Test CPU, run ra0)
              a2.csv (kernel 6.1, host vm, cpu Test CPU, run ra1)
              a3.csv (kernel 6.1, host vm, cpu Test CPU, run ra2)
        new: b1.csv (kernel 6.2, host vm, cpu Test CPU, run rb0)
             b2.csv (kernel 6.2, host vm, cpu Test CPU, run rb1)
             b3.csv (kernel 6.2, host vm, cpu Test CPU, run rb2)
        units: runs (3 runs vs 3 runs)
        note: the sides differ in kernel_release: "6.1" vs "6.2"
        warning: the sides differ in mitigations: "auto" vs "off"

        case                        metric        base     new  change     95% interval   MDE      q  verdict
        pipe throughput 4096 split  MiB/s        100.6   110.6  +10.0%  [+3.9%, +16.4%]  7.9%  0.029   better
        pipe latency 64 split       RTT p50 us  10.056  10.077   +0.2%   [-5.3%, +6.0%]  7.9%  0.927        ~
        pipe latency 64 split       RTT p99 us  20.113  20.153   +0.2%   [-5.3%, +6.0%]  7.9%  0.927        ~
        geomean                     MiB/s                       +10.0%  [+3.9%, +16.4%]  7.9%  0.029   better
        geomean                     RTT p50 us                   +0.2%   [-5.3%, +6.0%]  7.9%  0.927        ~
        geomean                     RTT p99 us                   +0.2%   [-5.3%, +6.0%]  7.9%  0.927        ~

        change: new/base - 1 of the geometric means of the units' figures (a run's figure is the median of its trials); 95% interval of the change
        MDE: the change the test finds 80% of the time at the 5% level, these units' minimum detectable effect
        q: p-value adjusted over the 6 rows of a side, cases, geometric means and common shifts together (Benjamini-Hochberg); verdict better or worse where q < 0.05, ~ where not
        tests: t over the case's own runs' log medians (too few cases of the metric to pool); geomean: Welch t over the runs' mean log medians

        """)
        XCTAssertEqual(try render([a, b], format: .csv), """
        kind,new_file,transport,pattern,payload_bytes,placement,options,metric,base,new,change_pct,significant,change_ci95_low_pct,change_ci95_high_pct,detectable_pct,method,p_value,q_value,mde_pct,note,depth,receivers,pairs,publishers,subscribers,topics,subscriptions,topology,rate,wait
        case,"b1.csv,b2.csv,b3.csv",pipe,throughput,4096,split,,MiB/s,100.563,110.594,9.98,1,3.91,16.39,5.84,runs-t,0.010,0.029,7.89,,,,,,,,,,,
        case,"b1.csv,b2.csv,b3.csv",pipe,latency,64,split,,RTT p50 us,10.056,10.077,0.20,0,-5.33,6.05,5.84,runs-t,0.927,0.927,7.89,,,,,,,,,,,
        case,"b1.csv,b2.csv,b3.csv",pipe,latency,64,split,,RTT p99 us,20.113,20.153,0.20,0,-5.33,6.05,5.84,runs-t,0.927,0.927,7.89,,,,,,,,,,,
        geomean,"b1.csv,b2.csv,b3.csv",,,,,,MiB/s,,,9.98,1,3.91,16.39,5.84,runs-welch,0.010,0.029,7.89,,,,,,,,,,,
        geomean,"b1.csv,b2.csv,b3.csv",,,,,,RTT p50 us,,,0.20,0,-5.33,6.05,5.84,runs-welch,0.927,0.927,7.89,,,,,,,,,,,
        geomean,"b1.csv,b2.csv,b3.csv",,,,,,RTT p99 us,,,0.20,0,-5.33,6.05,5.84,runs-welch,0.927,0.927,7.89,,,,,,,,,,,

        """)
    }

    func testTheParameterColumnsNameACasesParameter() {
        let key = CaseKey(["transport": "pipe", "pattern": "fanout", "payload_bytes": "64", "receivers": "4", "depth": "", "pairs": ""])
        XCTAssertEqual(CaseParameter.allCases.map { key.value(of: $0) }, ["", "4", "", "", "", "", "", "", "", ""])
        XCTAssertEqual(Array(compareCSVColumns.suffix(10)), ["depth", "receivers", "pairs", "publishers", "subscribers", "topics", "subscriptions", "topology", "rate", "wait"])
        let pubsub = CaseKey(["pattern": "pubsub", "publishers": "2", "subscribers": "4", "topics": "4", "subscriptions": "1", "topology": "broker"])
        XCTAssertEqual(pubsub.parameter, "publishers 2 subscribers 4 topics 4 subscriptions 1 topology broker")
        XCTAssertEqual(pubsub.value(of: .topology), "broker")
    }

    /// The mail format: fixed-width, under 100 columns, what differs first.
    func testMailFormat() throws {
        var a: [String] = [], b: [String] = []
        for (i, drift) in [1.0, 1.03, 0.98].enumerated() {
            func scaled(_ cases: [(String, String, Int, [Double])]) -> [(String, String, Int, [Double])] {
                cases.map { ($0.0, $0.1, $0.2, $0.3.map { $0 * drift }) }
            }
            a.append(try FixtureRun(runID: "ra\(i)", kernel: "6.1", cases: scaled(Self.baseCases),
                                    environment: [("mitigations", "auto")]).write(folder, "a\(i + 1)"))
            b.append(try FixtureRun(runID: "rb\(i)", kernel: "6.2", cases: scaled(Self.newCases),
                                    environment: [("mitigations", "off")]).write(folder, "b\(i + 1)"))
        }
        let text = try render([a, b], format: .mail)
        XCTAssertEqual(text, """
        ipcbench \(ipcbenchVersion) compare: 95% intervals; better/worse where q < 0.05 (Benjamini-Hochberg)

        base: 3 runs of kernel 6.1 on vm (Test CPU)
            a1.csv
            a2.csv
            a3.csv
        new: 3 runs of kernel 6.2 on vm (Test CPU)
            b1.csv
            b2.csv
            b3.csv
        differs: kernel_release: "6.1" vs "6.2"
        differs: mitigations: "auto" vs "off"
        spread: sd of the runs, shown where 2% or more

              base    ±sd  %change [95% interval]            new    ±sd verdict  metric
        pipe throughput 4096 split
             100.6     3%   +10.0% [+3.9%, +16.4%]         110.6     3%  better  MiB/s
        pipe latency 64 split
            10.056     3%    +0.2% [-5.3%, +6.0%]         10.077     3%       ~  RTT p50 us
            20.113     3%    +0.2% [-5.3%, +6.0%]         20.153     3%       ~  RTT p99 us
        geomean
                            +10.0% [+3.9%, +16.4%]                       better  MiB/s over 1 case
                             +0.2% [-5.3%, +6.0%]                             ~  RTT p50 us over 1 case
                             +0.2% [-5.3%, +6.0%]                             ~  RTT p99 us over 1 case

        """)
        XCTAssertTrue(text.split(separator: "\n").allSatisfy { $0.count < 100 }, text)
    }

    /// The boot is the unit: runs of one boot are averaged into it before boots are compared, and
    /// one boot a side gives no verdict however many runs it has.
    func testRunsOfOneBootAreOneUnit() throws {
        func side(_ name: String, _ kernel: String, _ cases: [(String, String, Int, [Double])], boots: [String]) throws -> [String] {
            try boots.enumerated().map { i, boot in
                try FixtureRun(runID: "\(name)\(i)", kernel: kernel, cases: cases.map { ($0.0, $0.1, $0.2, $0.3.map { $0 * (1 + 0.01 * Double(i)) }) },
                               environment: [("boot_id", boot)]).write(folder, "\(name)\(i + 1)")
            }
        }
        let a = try side("a", "6.1", Self.baseCases, boots: ["ba1", "ba1", "ba2", "ba2"])
        let b = try side("b", "6.2", Self.newCases, boots: ["bb1", "bb1", "bb2", "bb2"])
        let report = compareResults([Side(files: try a.map(ResultFile.load)), Side(files: try b.map(ResultFile.load))], ignoring: [], alpha: 0.05)
        XCTAssertEqual(report.sides[0].boots, [[0, 1], [2, 3]])
        let throughput = try XCTUnwrap(report.changes.first { $0.metric == .throughput })
        // One case of the metric: too few to pool, its own runs' t.
        XCTAssertEqual(throughput.method, .runsT)
        XCTAssertEqual(throughput.baseUnitLogs.count, 2)
        XCTAssertFalse(report.warnings.contains { $0.contains("boot_id") }, "\(report.warnings)")
        let text = renderComparison(report, format: .table)
        XCTAssertTrue(text.contains("units: boots, their runs averaged (2 boots, 4 runs vs 2 boots, 4 runs)"), text)

        let oneBoot = compareResults([Side(files: try a.prefix(2).map(ResultFile.load)), Side(files: try b.prefix(2).map(ResultFile.load))],
                                     ignoring: [], alpha: 0.05)
        XCTAssertTrue(oneBoot.oneRunComparison)
        XCTAssertTrue(oneBoot.changes.allSatisfy { !$0.significant && $0.method == .withinRun })

        // Both sides in one boot (an A/A, or two settings run one after the other): the boot is
        // common to them, so the run is the unit.
        let c = try side("c", "6.1", Self.baseCases, boots: ["bc", "bc", "bc"])
        let d = try side("d", "6.1", Self.newCases, boots: ["bc", "bc", "bc"])
        let together = compareResults([Side(files: try c.map(ResultFile.load)), Side(files: try d.map(ResultFile.load))], ignoring: [], alpha: 0.05)
        XCTAssertEqual(together.units[0], [[0], [1], [2]])
        XCTAssertEqual(together.changes.first { $0.metric == .throughput }?.method, .runsT)
    }
}
