import ArgumentParser
import Glibc
import IPCBench

struct PivotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pivot",
        abstract: "Write one metric as a chart-ready CSV: a row per payload, a column per transport and placement.",
        discussion: """
        The first column holds payload labels (64 B, 4 KiB), the top-left cell names the pattern, \
        the metric and its unit, and each other column is one transport and placement mode (and file, \
        when there are several). Select the table in a spreadsheet and insert a line chart. Cells are \
        empty where a case is missing, skipped or failed.
        """)

    @Argument(help: "One or more results files (the <stem>.csv files).")
    var files: [String]

    @Option(help: "A numeric column of the case file (default: mib_per_s_median for throughput, rtt_us_p50 for latency).")
    var metric: String?

    @Option(help: "throughput or latency (default: the first pattern in the files that has a value in the metric).")
    var pattern: String?

    @Option(help: "What groups the columns: transport, placement or file.")
    var by = "transport"

    @Option(name: [.short, .long], help: "Write to this file (never overwritten) instead of stdout.")
    var output: String?

    func run() throws {
        guard let grouping = PivotGrouping(rawValue: by) else {
            throw InputError("--by \(by): expected one of \(PivotGrouping.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let output, output != "-", access(output, F_OK) == 0 {
            throw InputError("\(output) already exists; ipcbench never overwrites: choose another --output")
        }
        let loaded = try files.map(ResultFile.load)
        let pivot = try makePivot(loaded, names: fileLabels(files), pattern: pattern, metric: metric, grouping: grouping)
        pivot.warnings.forEach { printError("warning: \($0)") }
        guard let output, output != "-" else {
            print(pivot.csv, terminator: "")
            return
        }
        let file = try CSVFile(creating: output, header: [pivot.title] + pivot.columns)
        for (payload, row) in zip(pivot.payloads, pivot.values) { try file.write([payloadLabel(payload)] + row) }
    }
}
