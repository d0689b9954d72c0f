import ArgumentParser
import IPCPlatform
import IPCModel
import IPCRun
import IPCAnalysis
import IPCLab

struct PivotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pivot",
        abstract: "Write one metric as a chart-ready CSV: a row per payload, a column per transport and placement.",
        discussion: """
        The first column holds payload labels (64 B, 4 KiB), or with --rows parameter the pattern's \
        parameter (pairs 1, pairs 2) at one payload; the top-left cell names the pattern, the metric \
        and its unit, and each other column is one transport and placement mode (and parameter value, \
        and file, when there are several). Select the table in a spreadsheet and insert a line chart. \
        Cells are empty where a case is missing, skipped or failed.
        """)

    @Argument(help: ArgumentHelp("One or more results files (the <stem>.csv files).", valueName: "RESULTS.csv"))
    var files: [String]

    @Option(help: ArgumentHelp("A numeric column of the case file (default: the pattern's main metric, for example mib_per_s_median for throughput, rtt_us_p50 for latency, msgs_per_s_median for async-request).", valueName: "COLUMN"))
    var metric: String?

    @Option(help: ArgumentHelp("A pattern of the files, for example throughput, latency, pairs (default: the first pattern in the files that has a value in the metric).", valueName: "P"))
    var pattern: String?

    @Option(help: ArgumentHelp("What groups the columns: transport, placement or file.", valueName: "KEY"))
    var by = "transport"

    @Option(help: ArgumentHelp("What makes the rows: payload, parameter (the pattern's depth, receivers or pairs, at one payload), or one parameter of a pattern that takes several (pubsub: publishers, subscribers, topics, subscriptions, topology), or rate or wait where the cases were run with --rate or --wait; its others join the column names.", valueName: "KEY"))
    var rows = "payload"

    @Option(help: ArgumentHelp("With --rows parameter: the payload, for example 4KiB (default: the largest payload at which every column has a value).", valueName: "SIZE"))
    var size: String?

    @Option(name: [.short, .long], help: ArgumentHelp("Write to this file (never overwritten) instead of stdout.", valueName: "FILE"))
    var output: String?

    func run() throws {
        guard let grouping = PivotGrouping(rawValue: by) else {
            throw InputError("--by \(by): expected one of \(PivotGrouping.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let rowKind = try PivotRows(parsing: rows)
        let payload = try size.map { try parseSize(String($0.filter { $0 != " " }), what: "--size") }
        if let output, output != "-", canAccess(output) {
            throw InputError("\(output) already exists; ipcbench never overwrites: choose another --output")
        }
        let loaded = try files.map(ResultFile.loadCases)  // pivot reads no trials: they are only checked
        let pivot = try makePivot(loaded, names: fileLabels(files), pattern: pattern, metric: metric, grouping: grouping,
                                  rows: rowKind, size: payload)
        pivot.warnings.forEach { printError("warning: \($0)") }
        guard let output, output != "-" else {
            print(pivot.csv, terminator: "")
            return
        }
        let file = try CSVFile(creating: output, header: ([pivot.title] + pivot.columns).map(spreadsheetCell))
        do {
            for (label, row) in zip(pivot.rowLabels, pivot.values) { try file.write(([label] + row).map(spreadsheetCell)) }
        } catch {
            file.discard()
            throw error
        }
    }
}
