import ArgumentParser
import Glibc
import IPCPlatform
import IPCModel
import IPCRun
import IPCAnalysis
import IPCLab

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare result files case by case: medians, change in %, and whether it is significant.",
        discussion: """
        Each argument is one side: a results file, or several runs of the same setup joined with \
        commas (a1.csv,a2.csv,a3.csv). The first side is the base. Each file's trials are read from \
        <stem>-trials.csv beside it. Cases are joined on transport, pattern, payload_bytes, placement \
        mode (split, same, none, pinned), options and the pattern's parameter. For each case and \
        metric: the change new/base in %, its 95% interval, the minimum detectable effect (MDE, \
        found 80% of the time) and the q-value. Several runs on a side: the run is the unit; the \
        shift every case of a run shares is estimated from the runs and carried into every case's \
        test; from 10 cases of a metric up, the moderated t pools the cases' own variances (limma, \
        robust); a change is significant when its Benjamini-Hochberg q, over every row of the side, \
        is below 0.05. One run a side: a within-run interval only, never a verdict; take at least 3 \
        runs a side. --within KEY=A,B compares two values of a key inside the same runs (each run's \
        paired rounds a unit; one run: intervals, no verdict). The last rows give, per metric, the \
        geometric mean and the common shift (the change every case shares).
        """)

    @Argument(help: "The base side, then one or more new sides; a side is a results file (<stem>.csv) or several joined with commas. With --within, one side.")
    var sides: [String]

    @Option(name: .customLong("ignore"), help: ArgumentHelp("Drop a key from the join: transport, pattern, payload, placement, options or parameter (repeatable).", valueName: "key"))
    var ignore: [String] = []

    @Option(help: "table, csv, markdown, mail (plain fixed-width text to paste into a mail), json (every field, typed), ktap (a test per row, as kselftest prints; not ok where --fail-on-regression fails it), bmf (Bencher's JSON), or lava (lava-test-case lines).")
    var format = "table"

    @Option(name: .customLong("fail-on-regression"), help: ArgumentHelp("Exit 1 when a significant regression's whole 95% interval lies beyond PCT percent (a case, a geometric mean or a common shift).", valueName: "pct"))
    var failOnRegression: Double?

    @Option(help: ArgumentHelp("KEY=A,B: compare two values of a key inside the same runs, paired by round, each run a unit (placement=same,split; a knob as options writes it: sndbuf=131072,262144).", valueName: "key=a,b"))
    var within: String?

    func run() throws {
        let spec = try within.map(WithinSpec.init)
        guard sides.count >= (spec == nil ? 2 : 1) else { throw InputError("compare needs a base side and at least one new side (a side is a file, or files joined with commas)") }
        if spec != nil, sides.count != 1 { throw InputError("--within compares inside one side: give one file, or runs joined with commas") }
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
        if failOnRegression != nil, spec != nil, loaded[0].files.count == 1 {
            throw InputError("--fail-on-regression: --within in one run has no verdict (the run's effect on the two cases cannot be measured in one run): give at least 2 runs joined with commas (3 or more for power)")
        }
        if failOnRegression != nil, spec == nil, let single = zip(loaded, comparisonUnits(loaded)).first(where: { $0.1.count == 1 })?.0 {
            throw InputError("--fail-on-regression: \(single.label) is one \(single.files.count == 1 ? "run" : "boot"); a gate needs the variance between runs: give at least 2 runs a side (3 or more for power), each from its own boot where you can, joined with commas")
        }
        let report = try spec.map { try compareWithin(loaded[0], spec: $0, ignoring: ignored, alpha: 0.05) }
            ?? compareResults(loaded, ignoring: ignored, alpha: 0.05)
        if failOnRegression != nil, !report.changes.contains(where: { $0.method.givesVerdict }) {
            throw InputError("--fail-on-regression: no case could be compared and bounded (\(report.changes.isEmpty ? "no case is in every file" : "no case has an interval")); nothing to gate on")
        }
        // The formats that hold only data (JSON and KTAP carry the notes themselves).
        if [.csv, .bmf, .lava].contains(format) { (report.notes.map { "note: \($0)" } + report.warnings.map { "warning: \($0)" }).forEach { printError($0) } }
        print(renderComparison(report, format: format, gate: failOnRegression), terminator: "")
        if let pct = failOnRegression {
            func percent(_ v: Double) -> String { (v >= 0 ? "+" : "") + formatDecimal(v, places: 1) + "%" }
            let cases = report.changes.filter { $0.isRegression(beyond: pct) }.map { ("\($0.caseName) \($0.metric.name)", $0.percent, $0.interval!) }
            let means = report.geomeans.filter { $0.isRegression(beyond: pct) }.map { ("\($0.kind.rawValue) \($0.metric.name)", $0.percent, $0.interval!) }
            if let (name, change, i) = (means + cases).first {
                printError("ipcbench: \(cases.count) cases and \(means.count) geometric means or common shifts regressed significantly with their whole 95% interval beyond \(formatDecimal(pct, places: 1))%, "
                           + "for example \(name) \(percent(change)) [\(percent((exp(i.low) - 1) * 100)), \(percent((exp(i.high) - 1) * 100))]")
                throw ExitCode(1)
            }
        }
    }
}
