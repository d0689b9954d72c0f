import Foundation
import Glibc
import XCTest
@testable import IPCPlatform
@testable import IPCModel
@testable import IPCRun
@testable import IPCAnalysis
@testable import IPCLab

/// A PostgreSQL server of the test's own, from Debian's postgresql package: a temporary cluster
/// (initdb, then pg_ctl with its socket in a temporary folder and no TCP port), stopped and removed
/// by `stop()` (tearDown calls it whatever the test did). As root, the server runs as the
/// `postgres` user (initdb refuses root).
final class TestPostgres {
    let folder: String
    let bin: String
    var url: String { "postgresql:///history?host=\(folder)/socket&user=postgres" }
    private var started = false

    init() throws {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        guard let version = versions.filter({ FileManager.default.isExecutableFile(atPath: "/usr/lib/postgresql/\($0)/bin/initdb") })
            .max(by: { (Int($0) ?? 0) < (Int($1) ?? 0) }) else {
            throw XCTSkip("PostgreSQL's server is not installed: run scripts/setup --history")
        }
        bin = "/usr/lib/postgresql/\(version)/bin"
        var template = Array("/tmp/ipcbench-pg-XXXXXX".utf8CString)
        guard mkdtemp(&template) != nil else { throw XCTSkip("cannot make a temporary folder") }
        folder = cString(template)
        do {
            try FileManager.default.createDirectory(atPath: folder + "/socket", withIntermediateDirectories: false)
            if getuid() == 0 {
                _ = try Self.command(["/bin/chown", "-R", "postgres:postgres", folder])
                _ = try Self.command(["/bin/chmod", "0755", folder])
            }
            _ = try asServer(["\(bin)/initdb", "-D", folder + "/data", "--auth=trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C"])
            _ = try asServer(["\(bin)/pg_ctl", "-D", folder + "/data", "-l", folder + "/log", "-w", "-t", "60",
                              "-o", "-k \(folder)/socket -c listen_addresses='' -c fsync=off -c max_connections=40", "start"])
            started = true
            _ = try asServer(["\(bin)/createdb", "-h", folder + "/socket", "-U", "postgres", "history"])
        } catch {
            stop()
            throw error
        }
    }

    /// Stops the server (immediately: nothing in it is kept) and removes its folder.
    func stop() {
        if started { _ = try? asServer(["\(bin)/pg_ctl", "-D", folder + "/data", "-m", "immediate", "-w", "stop"]) }
        started = false
        try? FileManager.default.removeItem(atPath: folder)
    }

    private func asServer(_ argv: [String]) throws -> String {
        try Self.command(getuid() == 0 ? ["/usr/sbin/runuser", "-u", "postgres", "--"] + argv : argv)
    }

    /// Runs `argv` to its end, its output into a file of the cluster's folder (not a pipe: the server
    /// pg_ctl starts keeps what it inherits open), and reaps it with waitpid: Foundation's Process
    /// misses the end of a command whose daemon child lives on.
    @discardableResult
    static func command(_ argv: [String]) throws -> String {
        let log = "/tmp/ipcbench-pg-command-\(getpid())-\(UUID().uuidString)"
        defer { unlink(log) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let cArguments = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, cArguments, environ)
        guard spawned == 0 else { throw InputError("\(argv[0]): cannot start: \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        guard status == 0 else { throw InputError("\(argv.joined(separator: " ")): wait status \(status): \(text)") }
        return text
    }

    /// A connection of the test's own, through ipcbench's client.
    func connect() throws -> PostgresDatabase { try PostgresDatabase(url: url) }

    func count(_ table: String) throws -> Int {
        let db = try connect()
        defer { db.close() }
        return Int(try db.query("SELECT count(*) FROM \(table)", []).first?.first?.integer ?? -1)
    }
}

/// `ipcbench history` against a real PostgreSQL server: eight importers at once, a connection
/// killed mid-import, and the same series bytes as from SQLite. Slow (a server is made and
/// started per test): budget 60 s for the class; scripts/test --quick leaves it out.
final class HistoryPostgresTests: XCTestCase {
    var h: Harness!
    var server: TestPostgres?

    override func setUpWithError() throws {
        h = try Harness()
        server = try TestPostgres()
    }

    override func tearDownWithError() throws {
        server?.stop()
        try h.finishChecks()
    }

    /// Twelve runs of three cases, one file each.
    func writeRuns(seed: UInt64, count: Int = 12, prefix: String = "run") throws -> [String] {
        var f = HistoryFixture(seed: seed, cases: ["a", "b", "c"])
        return try (0..<count).map { i in
            try HistoryFixture.write(h.work.appendingPathComponent("\(prefix)\(i).csv").path,
                                     [f.rows(runID: "\(prefix)\(i)", hour: i * 7, host: i % 2 == 0 ? "lab1" : "lab2",
                                             kernel: i < 6 ? "6.1.0" : "6.2.0") { _ in 100 }])
        }
    }

    func testEightConcurrentImportersLoseAndDuplicateNothing() throws {
        let server = try XCTUnwrap(server)
        let files = try writeRuns(seed: 11)
        // Importer k takes six files from the k-th on: every run is in four importers' lists.
        var importers: [(Process, Pipe, Pipe)] = []
        for k in 0..<8 {
            let mine: [String] = (0..<6).map { files[(k * 3 + $0) % 12] }
            importers.append(try h.start(["history", "import"] + mine + ["--db", server.url]))
        }
        let outcomes: [Harness.Outcome] = importers.map { h.finish($0) }
        var added = 0
        for outcome in outcomes {
            XCTAssertEqual(outcome.status, 0, outcome.stderr)
            let words = outcome.stdout.split(separator: " ")
            added += words.count > 1 ? Int(words[1]) ?? 0 : 0
        }
        XCTAssertEqual(added, 12, outcomes.map { $0.stdout }.joined())
        XCTAssertEqual(try server.count("runs"), 12)
        XCTAssertEqual(try server.count("cases"), 36)
        XCTAssertEqual(try server.count("case_keys"), 36 * 5)
        XCTAssertEqual(try server.count("figures"), 36)
        // Each trial's cells less its run and key: trial, round, start_ns, duration_ns and mib_per_s.
        XCTAssertEqual(try server.count("trial_cells"), 36 * 5 * 5)
        // The fixture's runs have seven environment columns with a value (an empty one is not stored).
        XCTAssertEqual(try server.count("run_environment"), 12 * 7)
        XCTAssertEqual(try server.count("history_schema"), 1)

        // The same runs in SQLite: the same series, byte for byte, in every format.
        let sqlite = h.work.appendingPathComponent("history.sqlite").path
        XCTAssertEqual(try h.run(["history", "import"] + files.reversed() + ["--db", sqlite]).status, 0)
        for format in HistoryFormat.allCases {
            let fromPostgres = try h.run(["history", "series", "--format", format.rawValue, "--db", server.url])
            let fromSQLite = try h.run(["history", "series", "--format", format.rawValue, "--db", sqlite])
            XCTAssertEqual(fromPostgres.status, 0, fromPostgres.stderr)
            XCTAssertEqual(fromPostgres.stdout, fromSQLite.stdout, format.rawValue)
        }
        let csv = parseCSV(try h.run(["history", "series", "--format", "csv", "--db", server.url, "--host", "lab2"]).stdout)
        XCTAssertEqual(csv.count, 1 + 6 * 3)
    }

    func testConnectionKilledMidImportLeavesNothingHalfDone() throws {
        let server = try XCTUnwrap(server)
        let first = try writeRuns(seed: 12, count: 2, prefix: "first")
        XCTAssertEqual(try h.run(["history", "import"] + first + ["--db", server.url]).status, 0)
        let counts = try ["runs", "cases", "case_keys", "case_cells", "figures", "trial_cells"].map { try server.count($0) }

        // The test holds a lock the importer needs half way through its transaction, ends the
        // importer's connection while it waits there, then lets go.
        let holder = try server.connect()
        try holder.execute("BEGIN")
        try holder.execute("LOCK TABLE trial_cells IN ACCESS EXCLUSIVE MODE")
        let files = try writeRuns(seed: 13, count: 3, prefix: "second")
        let bytes = try (files + files.map(ResultsReader.trialsPath)).map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
        let importer = try h.start(["history", "import"] + files + ["--db", server.url])
        // Another connection watches: inside a transaction, pg_stat_activity stays as it was when first read.
        let watcher = try server.connect()
        defer { watcher.close() }
        var waiting: Int64? = nil
        for _ in 0..<600 where waiting == nil && importer.0.isRunning {
            waiting = try watcher.query("SELECT pid FROM pg_stat_activity WHERE application_name = 'ipcbench history' AND wait_event_type = 'Lock'", [])
                .first?.first?.integer
            if waiting == nil { usleep(50_000) }
        }
        guard let pid = waiting else {
            let activity = try watcher.query("SELECT application_name, state, wait_event_type, wait_event, query FROM pg_stat_activity", [])
            try holder.execute("ROLLBACK")
            let outcome = h.finish(importer)
            XCTFail("the importer never waited on the lock: \(outcome.status) \(outcome.stdout) \(outcome.stderr) \(activity)")
            return
        }
        // It has added rows by now: runs, cases, their keys, figures and trials, all in its transaction.
        _ = try holder.query("SELECT pg_terminate_backend(?)", [.integer(pid)])
        try holder.execute("ROLLBACK")
        holder.close()
        let outcome = h.finish(importer)
        XCTAssertEqual(outcome.status, 3)
        XCTAssertEqual(outcome.stderr.split(separator: "\n").count, 1, outcome.stderr)
        XCTAssertTrue(outcome.stderr.hasPrefix("ipcbench: error: \(server.url): the PostgreSQL server dropped the connection"), outcome.stderr)
        XCTAssertEqual(try ["runs", "cases", "case_keys", "case_cells", "figures", "trial_cells"].map { try server.count($0) }, counts)
        // The files are as they were, and importing them again adds them whole.
        XCTAssertEqual(try (files + files.map(ResultsReader.trialsPath)).map { try Data(contentsOf: URL(fileURLWithPath: $0)) }, bytes)
        let again = try h.run(["history", "import"] + files + ["--db", server.url])
        XCTAssertEqual(again.stdout.hasPrefix("imported 3 runs (9 cases)"), true, again.stdout + again.stderr)
        XCTAssertEqual(try server.count("runs"), 5)
    }
}
