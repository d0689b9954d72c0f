import Foundation
import XCTest
@testable import IPCBench

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
        note: the sides differ in kernel_release: "6.1" vs "6.2"
        note: one run a side: the intervals cover the noise between trials, not between runs, which is not measured; two runs of the same kernel can still differ significantly. Give several runs a side (a1.csv,a2.csv,a3.csv), across boots where possible.

        case                        metric        base     new  change     95% interval  detectable
        pipe throughput 4096 split  MiB/s        100.3   110.2  +10.0%  [+7.9%, +12.1%]       ±1.9%
        pipe latency 64 split       RTT p50 us  10.025  10.045       ~   [-1.8%, +2.2%]       ±2.0%
        pipe latency 64 split       RTT p99 us  20.050  20.090       ~   [-1.8%, +2.2%]       ±2.0%
        geomean                     MiB/s                       +10.0%  [+7.9%, +12.1%]       ±1.9%
        geomean                     RTT p50 us                       ~   [-1.8%, +2.2%]       ±2.0%
        geomean                     RTT p99 us                       ~   [-1.8%, +2.2%]       ±2.0%

        change: new/base - 1 of the medians (the geometric mean of the run medians for several runs); ~ : the 95% interval includes 0%
        detectable: half the interval's width, the smallest change these data could tell from noise
        intervals: U-shift = Mann-Whitney shift interval on the logs of the trials (one run a side); bootstrap = geomean: bootstrap of the trials within each case (one run a side)

        """)
        XCTAssertEqual(try render([[a], [b]], format: .csv), """
        kind,new_file,transport,pattern,payload_bytes,placement,options,metric,base,new,change_pct,significant,change_ci95_low_pct,change_ci95_high_pct,detectable_pct,method
        case,b.csv,pipe,throughput,4096,split,,MiB/s,100.250,110.250,9.98,1,7.92,12.12,1.93,U-shift
        case,b.csv,pipe,latency,64,split,,RTT p50 us,10.025,10.045,0.20,0,-1.78,2.22,2.02,U-shift
        case,b.csv,pipe,latency,64,split,,RTT p99 us,20.050,20.090,0.20,0,-1.78,2.22,2.02,U-shift
        geomean,b.csv,,,,,,MiB/s,,,9.98,1,7.92,12.09,1.91,bootstrap
        geomean,b.csv,,,,,,RTT p50 us,,,0.20,0,-1.78,2.22,2.02,bootstrap
        geomean,b.csv,,,,,,RTT p99 us,,,0.20,0,-1.78,2.22,2.02,bootstrap

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
        note: the sides differ in kernel_release: "6.1" vs "6.2"
        warning: the sides differ in mitigations: "auto" vs "off"

        case                        metric        base     new  change     95% interval  detectable
        pipe throughput 4096 split  MiB/s        100.6   110.6  +10.0%  [+3.9%, +16.4%]       ±5.8%
        pipe latency 64 split       RTT p50 us  10.056  10.077       ~   [-5.3%, +6.0%]       ±5.8%
        pipe latency 64 split       RTT p99 us  20.113  20.153       ~   [-5.3%, +6.0%]       ±5.8%
        geomean                     MiB/s                       +10.0%  [+3.9%, +16.4%]       ±5.8%
        geomean                     RTT p50 us                       ~   [-5.3%, +6.0%]       ±5.8%
        geomean                     RTT p99 us                       ~   [-5.3%, +6.0%]       ±5.8%

        change: new/base - 1 of the medians (the geometric mean of the run medians for several runs); ~ : the 95% interval includes 0%
        detectable: half the interval's width, the smallest change these data could tell from noise
        intervals: runs-welch = Welch t interval over the runs' log medians (several runs on a side)

        """)
        XCTAssertEqual(try render([a, b], format: .csv), """
        kind,new_file,transport,pattern,payload_bytes,placement,options,metric,base,new,change_pct,significant,change_ci95_low_pct,change_ci95_high_pct,detectable_pct,method
        case,"b1.csv,b2.csv,b3.csv",pipe,throughput,4096,split,,MiB/s,100.563,110.594,9.98,1,3.91,16.39,5.84,runs-welch
        case,"b1.csv,b2.csv,b3.csv",pipe,latency,64,split,,RTT p50 us,10.056,10.077,0.20,0,-5.33,6.05,5.84,runs-welch
        case,"b1.csv,b2.csv,b3.csv",pipe,latency,64,split,,RTT p99 us,20.113,20.153,0.20,0,-5.33,6.05,5.84,runs-welch
        geomean,"b1.csv,b2.csv,b3.csv",,,,,,MiB/s,,,9.98,1,3.91,16.39,5.84,runs-welch
        geomean,"b1.csv,b2.csv,b3.csv",,,,,,RTT p50 us,,,0.20,0,-5.33,6.05,5.84,runs-welch
        geomean,"b1.csv,b2.csv,b3.csv",,,,,,RTT p99 us,,,0.20,0,-5.33,6.05,5.84,runs-welch

        """)
    }
}
