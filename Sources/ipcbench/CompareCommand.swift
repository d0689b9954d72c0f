import ArgumentParser
import Glibc
import IPCBench

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare result files case by case: medians, change in %, and whether it is significant.",
        discussion: """
        Each argument is one side: a results file, or several runs of the same setup joined with \
        commas (a1.csv,a2.csv,a3.csv). The first side is the base. Each file's trials are read from \
        <stem>-trials.csv beside it. Cases are joined on transport, pattern, payload_bytes, placement \
        mode (split, same, none, pinned) and options. For each case and metric: the change new/base \
        in %, its 95% interval and the smallest change the data could detect (half the interval's \
        width). One run a side: the Mann-Whitney shift interval on the logs of the trials. Several \
        runs on a side: the run is the unit, and the interval is Welch's t over the runs' log \
        medians. A change whose interval includes 0% shows as ~. The last rows give the geometric \
        mean of the ratios, with its interval.
        """)

    @Argument(help: "The base side, then one or more new sides; a side is a results file (<stem>.csv) or several joined with commas.")
    var sides: [String]

    @Option(name: .customLong("ignore"), help: "Drop a key from the join: transport, pattern, payload, placement, options or parameter (repeatable).")
    var ignore: [String] = []

    @Option(help: "table, csv or markdown.")
    var format = "table"

    @Option(name: .customLong("fail-on-regression"), help: "Exit 1 when a regression's whole 95% interval lies beyond PCT percent.")
    var failOnRegression: Double?

    func run() throws {
        guard sides.count >= 2 else { throw InputError("compare needs a base side and at least one new side (a side is a file, or files joined with commas)") }
        guard let format = CompareFormat(rawValue: format) else {
            throw InputError("--format \(format): expected one of \(CompareFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let ignored = try Set(ignore.map { text -> JoinKey in
            guard let key = JoinKey(rawValue: text) else {
                throw InputError("--ignore \(text): expected one of \(JoinKey.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return key
        })
        if let pct = failOnRegression, !(pct >= 0 && pct.isFinite) { throw InputError("--fail-on-regression \(pct): must be a number, 0 or more") }
        let loaded = try sides.map { argument -> Side in
            let paths = argument.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            if paths.contains(where: \.isEmpty) { throw InputError("'\(argument)': an empty file name; join a side's files with single commas and no spaces") }
            return Side(files: try paths.map(ResultFile.load))
        }
        let report = compareResults(loaded, ignoring: ignored, alpha: 0.05)
        if format == .csv { (report.notes.map { "note: \($0)" } + report.warnings.map { "warning: \($0)" }).forEach { printError($0) } }
        print(renderComparison(report, format: format), terminator: "")
        if let pct = failOnRegression {
            let worst = report.changes.filter { $0.isRegression(beyond: pct) }
            if let first = worst.first, let i = first.interval {
                func percent(_ v: Double) -> String { (v >= 0 ? "+" : "") + formatDecimal(v, places: 1) + "%" }
                printError("ipcbench: \(worst.count) regressions whose whole 95% interval lies beyond \(formatDecimal(pct, places: 1))%, "
                           + "for example \(first.caseName) \(first.metric.name) \(percent(first.percent)) "
                           + "[\(percent((exp(i.low) - 1) * 100)), \(percent((exp(i.high) - 1) * 100))]")
                throw ExitCode(1)
            }
        }
    }
}
