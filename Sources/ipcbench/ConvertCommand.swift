import ArgumentParser
import IPCPlatform
import IPCModel
import IPCRun
import IPCAnalysis
import IPCLab

/// `ipcbench convert`: a CSV pair into the JSON form and back, losslessly; or a run's figures in a
/// lab's format (KTAP, BMF, LAVA, Markdown).
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert results between the CSV pair (<stem>.csv and <stem>-trials.csv) and the JSON form, losslessly, or write a run's figures for a lab's tools.",
        discussion: "The output's name says its form: a .json file, a .csv file (its trials file beside it), or - for the JSON on standard output. A file that would not come back the same is refused (the JSON on standard output, for programs, holds its values exactly all the same), and existing files are never overwritten. A .ktap, .bmf, .lava or .md file gets each case's main figure (the median with its 95% interval where the file has one) as compare --format ktap, bmf, lava or markdown writes a comparison: a test per case, not ok (fail) where the case did not run ok.")

    @Argument(help: ArgumentHelp("A results file: a <stem>.csv (its trials file beside it) or a .json.", valueName: "file"))
    var file: String

    @Option(name: [.short, .long], help: ArgumentHelp("Where to write: OTHER.json, OTHER.csv, - (JSON on standard output), or a run's figures as OTHER.ktap, OTHER.bmf, OTHER.lava or OTHER.md.", valueName: "other"))
    var output: String

    func run() throws {
        do {
            if let format = FigureFormat(fileName: output) {
                try exportRun(try ResultsReader.record(file), from: file, format: format, to: output)
                return
            }
            let target = try ResultsConversion.target(output)
            let record = try ResultsConversion.read(file, lossless: target != .standardOutput)
            try ResultsConversion.write(record, to: target)
        } catch let error as ResultsWriteError {
            printError("ipcbench: error: \(error); nothing was left behind")
            throw ExitCode(3)
        }
    }
}
