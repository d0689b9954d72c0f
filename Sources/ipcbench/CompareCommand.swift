import ArgumentParser
import Glibc
import IPCBench

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare result files case by case: medians, change in %, and whether it is significant.",
        discussion: """
        Cases are joined on transport, pattern, payload_bytes, placement mode (split, same, none, pinned) \
        and options. p-values come from a Mann-Whitney U test over the trials files beside the CSVs \
        (a Welch test on the summary columns when a trials file is missing). A change that is not \
        significant at --alpha shows as ~. The last rows give the geometric mean of the ratios.
        """)

    @Argument(help: "The base results file, then one or more new ones (the <stem>.csv files).")
    var files: [String]

    @Option(name: .customLong("ignore"), help: "Drop a key from the join: transport, pattern, payload, placement or options (repeatable).")
    var ignore: [String] = []

    @Option(help: "Significance level for the p-values.")
    var alpha = 0.05

    @Option(help: "table, csv or markdown.")
    var format = "table"

    @Option(name: .customLong("fail-on-regression"), help: "Exit 1 when a significant regression is larger than PCT percent.")
    var failOnRegression: Double?

    func run() throws {
        guard files.count >= 2 else { throw InputError("compare needs a base file and at least one new file") }
        guard let format = CompareFormat(rawValue: format) else {
            throw InputError("--format \(format): expected one of \(CompareFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let ignored = try Set(ignore.map { text -> JoinKey in
            guard let key = JoinKey(rawValue: text) else {
                throw InputError("--ignore \(text): expected one of \(JoinKey.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return key
        })
        guard alpha > 0, alpha < 1 else { throw InputError("--alpha \(alpha): must be between 0 and 1") }
        if let pct = failOnRegression, pct < 0 { throw InputError("--fail-on-regression \(pct): must be 0 or more") }
        let loaded = try files.map(ResultFile.load)
        let report = compareResults(loaded, ignoring: ignored, alpha: alpha)
        if format == .csv { report.warnings.forEach { printError("warning: \($0)") } }
        print(renderComparison(report, format: format), terminator: "")
        if let pct = failOnRegression {
            let worst = report.changes.filter { $0.isRegression && abs($0.percent) > pct }
            if !worst.isEmpty {
                printError("ipcbench: \(worst.count) significant regressions larger than \(formatDecimal(pct, places: 1))%, for example \(worst[0].caseName) \(worst[0].metric.name) \(formatDecimal(worst[0].percent, places: 1))%")
                throw ExitCode(1)
            }
        }
    }
}
