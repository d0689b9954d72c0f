import ArgumentParser
import IPCPlatform
import IPCModel
import IPCRun
import IPCAnalysis
import IPCLab

/// `ipcbench check`: the validation compare and pivot apply to results files, for scripts that read them too.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check results files as compare and pivot read them: exit 0, or 2 with a one-line error.")

    @Argument(help: ArgumentHelp("Results files: <stem>.csv files (each one's trials file beside it is checked too) or the JSON form (.json).", valueName: "results"))
    var files: [String]

    func run() throws {
        for path in files { try ResultFile.check(path) }
    }
}
