import ArgumentParser
import IPCPlatform
import IPCModel
import IPCRun
import IPCAnalysis
import IPCLab

/// Runs the command and maps every way it can end onto the documented exit statuses.
func main() -> Never {
    guard openClosedStandardDescriptors() else { exitProcess(2) }
    ignoreFileSizeSignal()
    do {
        var command = try IPCBenchCommand.parseAsRoot()
        try command.run()
        exitProcess(0)
    } catch let error as InputError {
        printError("ipcbench: error: \(error.message)")
        exitProcess(2)
    } catch let error as ResultsWriteError {
        printError("ipcbench: error: \(error)")
        exitProcess(3)
    } catch let error as ExitCode {
        exitProcess(error.rawValue)
    } catch {
        let code = IPCBenchCommand.exitCode(for: error)
        if code == .success { IPCBenchCommand.exit(withError: error) }  // --help, --version
        let message = IPCBenchCommand.message(for: error)
            .split(separator: "\n").first.map(String.init) ?? "\(error)"
        printError("ipcbench: error: \(message.hasPrefix("Error: ") ? String(message.dropFirst(7)) : message) (see ipcbench --help)")
        exitProcess(2)
    }
}


main()
