import ArgumentParser
import IPCPlatform
import IPCModel
import IPCRun
import IPCAnalysis
import IPCLab

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a suite and write <stem>.csv and <stem>-trials.csv (or -o FILE.json).",
        discussion: "With no CONFIG the default suite (bench-configs/default.toml, compiled in) runs. Options override the config.")

    @Argument(help: "A TOML suite file, for example bench-configs/quick.toml.")
    var config: String?

    @OptionGroup var options: RunOptions

    @Option(name: [.short, .long], help: ArgumentHelp("A folder, a .csv file, a .json file (the results' JSON form alone, written when the run ends), or - for the case CSV on stdout (default results/).", valueName: "path"))
    var output: String?

    @Flag(name: [.short, .long], help: "No progress line and no table on the terminal.")
    var quiet = false

    @Option(name: .customLong("db"), help: ArgumentHelp("Import the results into this history database when the run ends: a SQLite file's path or a postgresql:// URL (see ipcbench history).", valueName: "path-or-url"))
    var database: String?

    func run() throws {
        let (suite, cases, schedule) = try options.resolve(config: config)
        if let database {
            guard !database.isEmpty else { throw InputError("--db: empty; give a SQLite file's path or a postgresql:// URL") }
            guard output != "-" else { throw InputError("--db with -o -: the results go to standard output, so there is no file to import; give -o a folder or a file") }
        }
        var env = Environment.current()
        env.command = runCommand(CommandLine.arguments, configSHA256: suite.sha256)
        if let output, output.hasSuffix(".json") { return try runToJSON(output, suite: suite, cases: cases, schedule: schedule, env: env) }
        var paths = try OutputPaths(output: output, stem: env.defaultStem)
        // Everything that can fail before measuring comes before the output files exist.
        let directory = try makeRunDirectory()
        defer { directory.remove() }
        let (casesFile, trialsFile): (CSVFile, CSVFile?)
        do {
            (casesFile, trialsFile) = try paths.createFiles(caseHeader: caseColumns, trialHeader: trialColumns)
            env.runID += paths.suffix  // a run that took <stem>-2 is run <run_id>-2
        } catch let error as ResultsWriteError {
            printError("ipcbench: error: \(error); the run stopped before its first trial and left no results file")
            throw ExitCode(3)
        }

        // The table goes where the CSV does not.
        let table = SummaryTable(to: paths.casesPath == nil ? standardError : standardOutput, enabled: !quiet)
        let progress = ProgressLine(enabled: !quiet && isTerminal(2))
        let runner = Runner(cases: cases, schedule: schedule, seed: options.seed ?? suite.seed ?? randomSeed())
        table.printHeader()
        var failed = 0, written = 0, stopped = 0
        do {
            try runner.run(in: directory.path, onTrial: { result, trial in
                try trialsFile?.write(trialRow(result, trial, env))
            }, onCase: { result in
                progress.clear()
                try casesFile.write(caseRow(result, env))
                written += 1
                if result.status == .failed { failed += 1 }
                if result.status == .stopped { stopped += 1 }
                table.printRow(result)
            }, progress: progress.show)
        } catch let stop as RunStopped {
            progress.clear()
            printError("ipcbench: stopped by signal \(stop.signal) with \(written - stopped) of \(cases.count) cases finished; \(written) rows (\(stopped) with status stopped) are in \(paths.casesPath ?? "standard output")\(trialsNote(paths))")
            throw ExitCode(128 + stop.signal)
        } catch let error as ResultsWriteError {
            progress.clear()
            printError("ipcbench: error: \(error); the run stopped with \(written) of \(cases.count) cases written to \(paths.casesPath ?? "standard output")\(trialsNote(paths))")
            throw ExitCode(3)
        }
        progress.clear()
        if let path = paths.casesPath {
            table.note("wrote \(path) and \(paths.trialsPath ?? "") (\(schedule.rawValue) schedule, seed \(runner.seed))")
        }
        if let database, let path = paths.casesPath { try importWritten([path], into: database, report: table.note) }
        if failed > 0 {
            table.note("\(failed) of \(cases.count) cases failed; the error column says why")
            throw ExitCode(1)
        }
    }

    /// `-o FILE.json`: the same run, its record kept in memory and written as the JSON form when the
    /// run ends (also when a signal stops it); a run that dies leaves the file empty.
    private func runToJSON(_ path: String, suite: BenchConfig, cases: [BenchCase], schedule: Schedule, env: Environment) throws {
        let directory = try makeRunDirectory()
        defer { directory.remove() }
        let file = try WholeFile(creating: path)
        let table = SummaryTable(to: standardOutput, enabled: !quiet)
        let progress = ProgressLine(enabled: !quiet && isTerminal(2))
        let runner = Runner(cases: cases, schedule: schedule, seed: options.seed ?? suite.seed ?? randomSeed())
        var record = ResultsRecord()
        var failed = 0, stopped = 0
        func save() throws {
            do {
                try file.write(try recordJSON(record))
            } catch let error as ResultsWriteError {
                progress.clear()
                printError("ipcbench: error: \(error); the run's \(record.cases.count) cases are not in \(path)")
                throw ExitCode(3)
            }
        }
        table.printHeader()
        do {
            try runner.run(in: directory.path, onTrial: { result, trial in
                record.trials?.append(trialValues(result, trial, env))
            }, onCase: { result in
                progress.clear()
                record.cases.append(caseValues(result, env))
                if result.status == .failed { failed += 1 }
                if result.status == .stopped { stopped += 1 }
                table.printRow(result)
            }, progress: progress.show)
        } catch let stop as RunStopped {
            progress.clear()
            try save()
            printError("ipcbench: stopped by signal \(stop.signal) with \(record.cases.count - stopped) of \(cases.count) cases finished; \(record.cases.count) cases (\(stopped) with status stopped) and every finished trial are in \(path)")
            throw ExitCode(128 + stop.signal)
        } catch {
            file.discard()  // nothing was measured that the file could hold
            throw error
        }
        progress.clear()
        if record.cases.isEmpty {
            file.discard()
        } else {
            try save()
            table.note("wrote \(path) (\(schedule.rawValue) schedule, seed \(runner.seed))")
            if let database { try importWritten([path], into: database, report: table.note) }
        }
        if failed > 0 {
            table.note("\(failed) of \(cases.count) cases failed; the error column says why")
            throw ExitCode(1)
        }
    }

    private func trialsNote(_ paths: OutputPaths) -> String {
        paths.trialsPath.map { "; every finished trial is in \($0)" } ?? ""
    }

    private func makeRunDirectory() throws -> RunDirectory {
        do {
            return try RunDirectory()
        } catch {
            throw InputError("cannot make the run's private directory: \(error); set TMPDIR to a writable directory")
        }
    }
}
