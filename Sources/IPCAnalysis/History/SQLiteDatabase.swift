import CSQLite
import IPCPlatform
import IPCModel

/// The history in a SQLite file, through the system's libsqlite3. A file that is not a SQLite
/// database, or one of another program, is refused with the reason and never written to.
package final class SQLiteDatabase: HistoryDatabase {
    package let name: String
    package let kind = DatabaseKind.sqlite
    private var db: OpaquePointer?

    package init(path: String, create: Bool) throws {
        name = path
        let found = fileStatus(path)
        let exists = found != nil
        if let found, found.kind != .regular {
            throw InputError("\(path): not a regular file; --db takes a SQLite file's path or a postgresql:// URL")
        }
        if !exists && !create {
            throw InputError("\(path): no history database there; import runs first (ipcbench history import FILE --db \(path))")
        }
        let flags = create ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READWRITE
        let status = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, nil)
        guard status == SQLITE_OK else {
            let reason = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(status))
            sqlite3_close(db)
            throw InputError("\(path): cannot open the SQLite database: \(reason)")
        }
        sqlite3_busy_timeout(db, 120_000)  // another importer holds the write lock: wait for it
        do {
            // Reading the schema is where SQLite finds out that a file is not a database.
            let tables = try query("SELECT name FROM sqlite_master WHERE type = 'table'", []).compactMap { $0.first?.string }
            if !tables.isEmpty && !tables.contains("history_schema") {
                throw InputError("\(path): a SQLite database of another program (it has no history_schema table); ipcbench left it as it is: give another --db")
            }
            try execute("PRAGMA foreign_keys = ON")
        } catch let error as DatabaseError {
            close()
            throw InputError("\(path): not an ipcbench history database (\(error.reason)); ipcbench left it as it is: move it away or give another --db")
        } catch {
            close()
            throw error
        }
    }

    deinit { close() }

    package func close() {
        if let db { sqlite3_close(db) }
        db = nil
    }

    package func beginWriting() throws { try execute("BEGIN IMMEDIATE") }

    package func execute(_ sql: String, _ parameters: [SQLValue]) throws {
        _ = try run(sql, parameters, keepRows: false)
    }

    package func query(_ sql: String, _ parameters: [SQLValue]) throws -> [[SQLValue]] {
        try run(sql, parameters, keepRows: true)
    }

    private func failure(_ what: String) -> DatabaseError {
        let reason = db.map { String(cString: sqlite3_errmsg($0)) } ?? "closed"
        return DatabaseError("\(name): \(what): \(reason)", reason: reason)
    }

    private func run(_ sql: String, _ parameters: [SQLValue], keepRows: Bool) throws -> [[SQLValue]] {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK else { throw failure("cannot prepare a statement") }
        defer { sqlite3_finalize(statement) }
        // SQLITE_TRANSIENT: SQLite copies the text before the call returns.
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        for (i, value) in parameters.enumerated() {
            let index = Int32(i + 1)
            switch value {
            case .text(let s): sqlite3_bind_text(statement, index, s, -1, transient)
            case .integer(let n): sqlite3_bind_int64(statement, index, n)
            case .real(let d): sqlite3_bind_double(statement, index, d)
            case .null: sqlite3_bind_null(statement, index)
            }
        }
        var rows: [[SQLValue]] = []
        while true {
            let status = sqlite3_step(statement)
            if status == SQLITE_DONE { break }
            guard status == SQLITE_ROW else { throw failure("a statement failed") }
            guard keepRows else { continue }
            let count = sqlite3_column_count(statement)
            rows.append((0..<count).map { c in
                switch sqlite3_column_type(statement, c) {
                case SQLITE_INTEGER: return .integer(sqlite3_column_int64(statement, c))
                case SQLITE_FLOAT: return .real(sqlite3_column_double(statement, c))
                case SQLITE_NULL: return .null
                default: return .text(String(cString: sqlite3_column_text(statement, c)))
                }
            })
        }
        return rows
    }
}
