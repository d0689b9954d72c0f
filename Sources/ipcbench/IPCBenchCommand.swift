import ArgumentParser
import Glibc
import IPCPlatform
import IPCModel
import IPCRun
import IPCAnalysis
import IPCLab

/// `ipcbench`: the root command. Exit status: 0 all cases ok, 1 a case failed, 2 bad input, 3 a write error.
struct IPCBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ipcbench",
        abstract: "Measure how fast the Linux kernel moves bytes between processes.",
        discussion: """
        Forks worker processes that exchange payloads over a transport \
        (\(TransportKind.allCases.map(\.rawValue).joined(separator: ", "))) in a pattern \
        (\(PatternKind.allCases.map(\.rawValue).joined(separator: ", "))), and writes one CSV row per case.
        Exit status: 0 every case ok; 1 a case failed (the others still ran and were written) \
        or compare found a regression; 2 the command line, a config or a results file was wrong \
        (nothing ran); 3 a results file could not be written (it keeps whole rows only); 128+N stopped \
        by signal N.
        """,
        version: ipcbenchVersion,
        subcommands: [RunCommand.self, CompareCommand.self, KernelsCommand.self, BisectCommand.self, PivotCommand.self, CheckCommand.self, ConvertCommand.self, HistoryCommand.self, ListCommand.self, SysinfoCommand.self]
    )
}

/// Prints to standard error.
func printError(_ text: String) {
    var line = text
    if !line.hasSuffix("\n") { line += "\n" }
    _ = line.withCString { fputs($0, standardError) }
}

