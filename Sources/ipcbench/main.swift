import ArgumentParser
import Glibc
import IPCBench

/// Runs the command and maps every way it can end onto the documented exit statuses.
func main() -> Never {
    ignoreFileSizeSignal()
    do {
        var command = try IPCBenchCommand.parseAsRoot()
        try command.run()
        exit(0)
    } catch let error as InputError {
        printError("ipcbench: error: \(error.message)")
        exit(2)
    } catch let error as ResultsWriteError {
        printError("ipcbench: error: \(error)")
        exit(3)
    } catch let error as ExitCode {
        exit(error.rawValue)
    } catch {
        let code = IPCBenchCommand.exitCode(for: error)
        if code == .success { IPCBenchCommand.exit(withError: error) }  // --help, --version
        let message = IPCBenchCommand.message(for: error)
            .split(separator: "\n").first.map(String.init) ?? "\(error)"
        printError("ipcbench: error: \(message.hasPrefix("Error: ") ? String(message.dropFirst(7)) : message) (see ipcbench --help)")
        exit(2)
    }
}


main()
