import ArgumentParser
import IPCBench

/// `ipcbench convert`: a CSV pair into the JSON form and back, losslessly.
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert results between the CSV pair (<stem>.csv and <stem>-trials.csv) and the JSON form, losslessly.",
        discussion: "The output's name says its form: a .json file, a .csv file (its trials file beside it), or - for the JSON on standard output. A file that would not come back the same is refused (the JSON on standard output, for programs, holds its values exactly all the same), and existing files are never overwritten.")

    @Argument(help: ArgumentHelp("A results file: a <stem>.csv (its trials file beside it) or a .json.", valueName: "file"))
    var file: String

    @Option(name: [.short, .long], help: ArgumentHelp("Where to write: OTHER.json, OTHER.csv, or - (JSON on standard output).", valueName: "other"))
    var output: String

    func run() throws {
        let target = try ResultsConversion.target(output)
        let record = try ResultsConversion.read(file, lossless: target != .standardOutput)
        do {
            try ResultsConversion.write(record, to: target)
        } catch let error as ResultsWriteError {
            printError("ipcbench: error: \(error); nothing was left behind")
            throw ExitCode(3)
        }
    }
}
