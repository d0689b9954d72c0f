import Glibc
import IPCPlatform
import IPCModel

/// What an import did: the runs it added and those the database already held.
public struct ImportOutcome: Sendable, Equatable {
    public var added: Int
    public var present: Int
    public var cases: Int
}

/// `ipcbench history import`: reads and checks every file first (a file `ipcbench check` refuses
/// is refused whole, and then nothing is imported), then adds their runs in one transaction, so a
/// killed or failed import leaves the database as it was. A run the database already holds (the
/// same content) is counted and not added again.
public func importHistory(files: [String], database location: String) throws -> ImportOutcome {
    var runs: [(run: HistoryRun, source: String)] = []
    var seen = Set<String>()
    for path in files {
        for run in try historyRuns(ofFile: path) where seen.insert(run.digest).inserted { runs.append((run, path)) }
    }
    // One order for every importer: two that add the same runs never wait on each other in a circle.
    runs.sort { $0.run.digest < $1.run.digest }
    let db = try openHistoryDatabase(location, create: true)
    defer { db.close() }
    try HistorySchema.prepare(db)
    let now = utcNow()
    return try db.writing {
        var outcome = ImportOutcome(added: 0, present: 0, cases: 0)
        for (run, source) in runs {
            if try insertRun(db, run, source: source, imported: now) {
                outcome.added += 1
                outcome.cases += run.cases.count
            } else {
                outcome.present += 1
            }
        }
        return outcome
    }
}

/// Adds one run; false when the database already holds it. A concurrent importer adding the same
/// run waits on the unique digest until the other commits, then finds it there.
package func insertRun(_ db: HistoryDatabase, _ run: HistoryRun, source: String, imported: String) throws -> Bool {
    let inserted = try db.query("""
        INSERT INTO runs (digest, run_id, timestamp_utc, hostname, kernel_release, boot_id, command, config_sha256, ipcbench_version,
                          format_version, source, imported_utc)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (digest) DO NOTHING RETURNING id
        """, [run.digest, run.runID, run.timestampUTC, run.hostname, run.kernelRelease, run.bootID, run.command, run.configSHA256,
              run.version, run.formatVersion, source, imported].map { .text($0) })
    guard let runRow = inserted.first?.first?.integer else { return false }
    try db.insert("run_environment", ["run", "name", "value"], run.environment.map { [.integer(runRow), .text($0.name), .text($0.value)] })
    for (position, c) in run.cases.enumerated() {
        let made = try db.query("INSERT INTO cases (run, position, case_key, status) VALUES (?, ?, ?, ?) RETURNING id",
                                [.integer(runRow), .integer(Int64(position)), .text(c.keyText), .text(c.status)])
        guard let caseID = made.first?.first?.integer else { throw DatabaseError("\(db.name): a case was not added") }
        try db.insert("case_keys", ["case_id", "name", "value"], c.key.map { [.integer(caseID), .text($0.name), .text($0.value)] })
        try db.insert("case_cells", ["case_id", "name", "value"], c.cells.map { [.integer(caseID), .text($0.name), .text($0.value)] })
        try db.insert("figures", ["case_id", "metric", "value", "ci95_low", "ci95_high"],
                      c.figures.map { [.integer(caseID), .text($0.metric), .real($0.value), SQLValue($0.ci95Low), SQLValue($0.ci95High)] })
        try db.insert("trial_cells", ["case_id", "position", "name", "value"],
                      c.trials.enumerated().flatMap { t in t.element.map { [.integer(caseID), .integer(Int64(t.offset)), .text($0.name), .text($0.value)] } })
    }
    return true
}

/// Now, as the results files write times: ISO 8601 in UTC to the second.
package func utcNow() -> String {
    var t = time_t(wallClockSeconds())
    var parts = tm()
    gmtime_r(&t, &parts)
    func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
    return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
}
