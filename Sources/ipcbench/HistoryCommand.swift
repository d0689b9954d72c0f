import ArgumentParser
import IPCPlatform
import IPCModel
import IPCRun
import IPCAnalysis
import IPCLab

/// `ipcbench history`: every run in a database (a SQLite file, or a lab's PostgreSQL), its series
/// over time, and the change points Apache Otava finds in them, each with compare's verdict.
struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "Keep every run in a database, list series over time, and find where they changed.",
        discussion: """
        The database is a SQLite file's path (default results/history.sqlite, or $IPCBENCH_DB) or a \
        postgresql:// URL (libpq's form, ?host=/socket/dir for a local socket). Exit status: 2 bad \
        input (nothing imported); 3 the database failed, refused or dropped the connection (the \
        results files are never touched).
        """,
        subcommands: [HistoryImportCommand.self, HistorySeriesCommand.self, HistoryChangesCommand.self]
    )
}

/// `--db`, shared by every history command.
struct DatabaseOption: ParsableArguments {
    @Option(name: .customLong("db"), help: ArgumentHelp("The history database: a SQLite file's path or a postgresql:// URL (default: $IPCBENCH_DB, else results/history.sqlite).", valueName: "path-or-url"))
    var database: String?

    var location: String { database ?? defaultHistoryDatabase() }
}

/// Runs `body`; a database's failure is its one-line error and exit 3.
func withDatabase(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as DatabaseError {
        printError("ipcbench: error: \(error.message)")
        throw ExitCode(3)
    }
}

struct HistoryImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import results files into the history database, in one transaction; a run already there is not added again.")

    @Argument(help: ArgumentHelp("Results files (the <stem>.csv files; each one's trials file beside it is read too).", valueName: "results.csv"))
    var files: [String]

    @OptionGroup var db: DatabaseOption

    func run() throws {
        try withDatabase { print(importLine(try importHistory(files: files, database: db.location), db.location)) }
    }
}

/// What an import did, in one line.
func importLine(_ outcome: ImportOutcome, _ location: String) -> String {
    let runs = { (n: Int) in "\(n) run\(n == 1 ? "" : "s")" }
    var line = "imported \(runs(outcome.added)) (\(outcome.cases) case\(outcome.cases == 1 ? "" : "s")) into \(redactedDatabase(location))"
    if outcome.present > 0 { line += "; \(runs(outcome.present)) already there, not added again" }
    return line
}

/// `run --db` and `kernels --db`: imports the results files a command has written. Any failure
/// (a database that is down, refuses, or is not a history database) is one line and exit 3: the
/// files are written and stay, so nothing measured is lost; `ipcbench history import` can add them later.
func importWritten(_ files: [String], into location: String, report: (String) -> Void) throws {
    do {
        report(importLine(try importHistory(files: files, database: location), location))
    } catch let error as DatabaseError {
        printError("ipcbench: error: \(error.message); the results files are written (\(files.joined(separator: ", "))): import them later with ipcbench history import")
        throw ExitCode(3)
    } catch let error as InputError {
        printError("ipcbench: error: \(error.message); the results files are written (\(files.joined(separator: ", "))): import them later with ipcbench history import")
        throw ExitCode(3)
    }
}

/// The filters `series` and `changes` share.
struct SeriesOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Only this host's runs.", valueName: "hostname")) var host: String?
    @Option(help: ArgumentHelp("Only runs on this kernel release.", valueName: "release")) var kernel: String?
    @Option(help: ArgumentHelp("Only this transport's cases.", valueName: "transport")) var transport: String?
    @Option(help: ArgumentHelp("Only this pattern's cases.", valueName: "pattern")) var pattern: String?
    @Option(help: ArgumentHelp("Only cases of this payload size (64, 4KiB, 1MiB).", valueName: "size")) var size: String?
    @Option(help: ArgumentHelp("Only this metric (mib_per_s, rtt_us_p50, …, or its name as compare writes it).", valueName: "metric")) var metric: String?
    @Option(help: ArgumentHelp("Only runs that started at or after this ISO 8601 time (UTC), or in it (2026-12).", valueName: "time")) var since: String?
    @Option(help: ArgumentHelp("Only runs that started at or before this ISO 8601 time (UTC), or in it.", valueName: "time")) var until: String?
    @Option(help: ArgumentHelp("Only cases whose key column NAME has this value (repeatable).", valueName: "name=value")) var key: [String] = []
    @Option(help: ArgumentHelp("table, csv or json.", valueName: "format")) var format: String = "table"

    func filter() throws -> (SeriesFilter, HistoryFormat) {
        var f = SeriesFilter()
        f.host = host
        f.kernel = kernel
        if let metric { try f.setMetric(metric) }
        f.since = try since.map { try SeriesFilter.checkTime($0, option: "--since") }
        f.until = try until.map { try SeriesFilter.checkTime($0, option: "--until") }
        if let transport {
            guard TransportKind(rawValue: transport) != nil else {
                throw InputError("--transport \(transport): not a transport; expected one of \(TransportKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            f.key.append(("transport", transport))
        }
        if let pattern {
            guard PatternKind(rawValue: pattern) != nil else {
                throw InputError("--pattern \(pattern): not a pattern; expected one of \(PatternKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            f.key.append(("pattern", pattern))
        }
        if let size { f.key.append(("payload_bytes", String(try parseSize(size, what: "--size")))) }
        for k in key { try f.addKey(k) }
        guard let chosen = HistoryFormat(rawValue: format) else {
            throw InputError("--format \(format): expected one of \(HistoryFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return (f, chosen)
    }
}

struct HistorySeriesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "series",
        abstract: "List series (a case key × metric × host), one row per run in the order the runs started.")

    @OptionGroup var options: SeriesOptions
    @OptionGroup var db: DatabaseOption

    func run() throws {
        let (filter, format) = try options.filter()
        try withDatabase { print(try historySeries(database: db.location, filter: filter, format: format), terminator: "") }
    }
}

struct HistoryChangesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "changes",
        abstract: "Find change points in every series with Apache Otava, each checked by compare's analysis of the runs on either side.")

    @OptionGroup var options: SeriesOptions
    @Flag(help: "List the change points compare does not confirm (q ≥ 0.05) too, marked.") var all = false
    @OptionGroup var db: DatabaseOption

    func run() throws {
        let (filter, format) = try options.filter()
        try withDatabase { print(try historyChanges(database: db.location, filter: filter, format: format, all: all), terminator: "") }
    }
}

/// The database as messages name it (a URL's password hidden).
func redactedDatabase(_ location: String) -> String { historyDatabaseName(location) }
