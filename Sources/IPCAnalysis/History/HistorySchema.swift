import IPCPlatform
import IPCModel

/// The history database's schema, one for SQLite and PostgreSQL, versioned: `history_schema` holds
/// the version, and `migrations[v - 1]` takes a database from version v - 1 to v. A new version is a
/// new entry at the end; an entry is never edited once released. A new dimension of the case key
/// needs none: the key is stored as name/value pairs (`case_keys`).
package enum HistorySchema {
    package static let migrations: [@Sendable (DatabaseKind) -> [String]] = [version1]

    package static var current: Int { migrations.count }

    /// Version 1: runs, their environment, cases with their key and every other cell, each case's
    /// figure per metric with its 95% interval, and the trials' cells. Cells are stored by column
    /// name as the CSV writes them, so a column the result model gains needs no new version.
    package static func version1(_ kind: DatabaseKind) -> [String] {
        let id: String, real: String, integer: String
        switch kind {
        case .sqlite: (id, real, integer) = ("INTEGER PRIMARY KEY", "REAL", "INTEGER")
        case .postgresql: (id, real, integer) = ("BIGSERIAL PRIMARY KEY", "DOUBLE PRECISION", "BIGINT")
        }
        return [
            "CREATE TABLE history_schema (version \(integer) NOT NULL)",
            """
            CREATE TABLE runs (id \(id), digest TEXT NOT NULL UNIQUE, run_id TEXT NOT NULL, timestamp_utc TEXT NOT NULL,
                hostname TEXT NOT NULL, kernel_release TEXT NOT NULL, boot_id TEXT NOT NULL, command TEXT NOT NULL,
                config_sha256 TEXT NOT NULL, ipcbench_version TEXT NOT NULL, format_version TEXT NOT NULL, source TEXT NOT NULL,
                imported_utc TEXT NOT NULL)
            """,
            "CREATE INDEX runs_series ON runs (hostname, timestamp_utc)",
            """
            CREATE TABLE run_environment (run \(integer) NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
                name TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (run, name))
            """,
            """
            CREATE TABLE cases (id \(id), run \(integer) NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
                position \(integer) NOT NULL, case_key TEXT NOT NULL, status TEXT NOT NULL, UNIQUE (run, position))
            """,
            "CREATE INDEX cases_key ON cases (case_key)",
            """
            CREATE TABLE case_keys (case_id \(integer) NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
                name TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (case_id, name))
            """,
            """
            CREATE TABLE case_cells (case_id \(integer) NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
                name TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (case_id, name))
            """,
            """
            CREATE TABLE figures (case_id \(integer) NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
                metric TEXT NOT NULL, value \(real) NOT NULL, ci95_low \(real), ci95_high \(real), PRIMARY KEY (case_id, metric))
            """,
            """
            CREATE TABLE trial_cells (case_id \(integer) NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
                position \(integer) NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (case_id, position, name))
            """,
        ]
    }

    /// Creates the schema, or migrates it to the current version, in one transaction; refuses a
    /// database that a newer ipcbench has migrated further. Importers that start together queue on
    /// a lock (PostgreSQL: an advisory lock; SQLite: its write lock), so each version is made once.
    package static func prepare(_ db: HistoryDatabase) throws {
        try db.writing {
            let exists: Bool
            switch db.kind {
            case .sqlite:
                exists = try !db.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'history_schema'", []).isEmpty
            case .postgresql:
                try db.execute("SELECT pg_advisory_xact_lock(2800028)")
                exists = try db.query("SELECT to_regclass('history_schema') IS NOT NULL", []).first?.first?.string.map { $0 == "t" || $0 == "1" } ?? false
            }
            var version = 0
            if exists {
                guard let found = try db.query("SELECT version FROM history_schema", []).first?.first?.integer else {
                    throw DatabaseError("\(db.name): the history_schema table has no version; was the database made by ipcbench?")
                }
                version = Int(found)
            }
            guard version <= current else {
                throw InputError("\(db.name): the history database is at schema version \(version), made by a newer ipcbench (this one knows \(current)); use that ipcbench")
            }
            guard version < current else { return }
            for v in version..<current {
                for statement in migrations[v](db.kind) { try db.execute(statement) }
            }
            if version == 0 {
                try db.execute("INSERT INTO history_schema (version) VALUES (?)", [.integer(Int64(current))])
            } else {
                try db.execute("UPDATE history_schema SET version = ?", [.integer(Int64(current))])
            }
        }
    }

    /// Checks a database that is only read (series, changes): made by ipcbench, at the version this one reads.
    package static func checkReadable(_ db: HistoryDatabase) throws {
        let version: Int64?
        switch db.kind {
        case .sqlite:
            let exists = try !db.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'history_schema'", []).isEmpty
            version = exists ? try db.query("SELECT version FROM history_schema", []).first?.first?.integer : nil
        case .postgresql:
            let exists = try db.query("SELECT to_regclass('history_schema') IS NOT NULL", []).first?.first?.string == "t"
            version = exists ? try db.query("SELECT version FROM history_schema", []).first?.first?.integer : nil
        }
        guard let version else {
            throw InputError("\(db.name): holds no runs yet; import some first (ipcbench history import FILE --db \(db.name))")
        }
        guard version == Int64(current) else {
            throw InputError("\(db.name): the history database is at schema version \(version) and this ipcbench reads \(current); \(version < current ? "import with this ipcbench to migrate it" : "use the newer ipcbench that made it")")
        }
    }
}
