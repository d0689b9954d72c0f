import ArgumentParser
import Glibc
import IPCPlatform
import IPCModel
import IPCRun
import IPCAnalysis
import IPCLab

/// Opens /dev/null on whichever of descriptors 0, 1 and 2 is closed, so that no file the command
/// creates takes one of their numbers (a results file on descriptor 1 would get the run table).
func openClosedStandardDescriptors() {
    for fd: Int32 in 0...2 where fcntl(fd, F_GETFD) < 0 && errno == EBADF {
        // open returns the lowest free descriptor: this one.
        guard open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) == fd else { exit(2) }
    }
}

/// Runs the command and maps every way it can end onto the documented exit statuses.
func main() -> Never {
    openClosedStandardDescriptors()
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
