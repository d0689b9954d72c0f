import IPCPlatform
import IPCModel

/// A value bound into, or read out of, the history database.
package enum SQLValue: Equatable {
    case text(String)
    case integer(Int64)
    case real(Double)
    case null

    package var string: String? {
        switch self {
        case .text(let s): return s
        case .integer(let i): return String(i)
        case .real(let d): return String(d)
        case .null: return nil
        }
    }

    package var double: Double? {
        switch self {
        case .text(let s): return Double(s)
        case .integer(let i): return Double(i)
        case .real(let d): return d
        case .null: return nil
        }
    }

    package var integer: Int64? {
        switch self {
        case .text(let s): return Int64(s)
        case .integer(let i): return i
        case .real(let d): return Int64(exactly: d)
        case .null: return nil
        }
    }

    package init(_ text: String?) { self = text.map { .text($0) } ?? .null }
    package init(_ number: Double?) { self = number.map { .real($0) } ?? .null }
    package init(_ number: Int?) { self = number.map { .integer(Int64($0)) } ?? .null }
}

/// A database that failed, refused or dropped the connection: a one-line error naming it, exit 3.
/// The results files are never touched by the history commands, so nothing measured is lost.
public struct DatabaseError: Error, CustomStringConvertible {
    public let message: String
    /// The client library's own words, without the database's name.
    package let reason: String
    package init(_ message: String, reason: String = "") {
        self.message = oneLine(message)
        self.reason = oneLine(reason)
    }
    public var description: String { message }
}

/// Which SQL dialect a database speaks, where the two differ (the types of the schema's columns).
package enum DatabaseKind {
    case sqlite, postgresql
}

/// The history database, SQLite or PostgreSQL, through each one's own client library. Statements
/// use `?` for their parameters; nothing is ever pasted into SQL text.
package protocol HistoryDatabase: AnyObject {
    /// How messages name it: the SQLite file's path, or the URL without its password.
    var name: String { get }
    var kind: DatabaseKind { get }
    func execute(_ sql: String, _ parameters: [SQLValue]) throws
    func query(_ sql: String, _ parameters: [SQLValue]) throws -> [[SQLValue]]
    /// Starts a transaction that writes (SQLite takes its write lock now, so that two importers queue).
    func beginWriting() throws
    func close()
}

extension HistoryDatabase {
    package func execute(_ sql: String) throws { try execute(sql, []) }

    /// Inserts `rows` into `table` a hundred at a time (one statement each: fewer round trips to a server).
    package func insert(_ table: String, _ columns: [String], _ rows: [[SQLValue]]) throws {
        var start = 0
        while start < rows.count {
            let batch = rows[start..<min(start + 100, rows.count)]
            let one = "(" + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
            let sql = "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES "
                + Array(repeating: one, count: batch.count).joined(separator: ", ")
            try execute(sql, batch.flatMap { $0 })
            start += batch.count
        }
    }

    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws.
    package func writing<T>(_ body: () throws -> T) throws -> T {
        try beginWriting()
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }
}

/// Where the history database is when `--db` is not given: `IPCBENCH_DB`, or results/history.sqlite.
public func defaultHistoryDatabase() -> String {
    if let value = environmentValue("IPCBENCH_DB"), !value.isEmpty { return value }
    return "results/history.sqlite"
}

/// True for a PostgreSQL connection URL (libpq's URL form); anything else is a SQLite file's path.
package func isPostgresURL(_ location: String) -> Bool {
    location.hasPrefix("postgresql://") || location.hasPrefix("postgres://")
}

/// Opens the database at `location` (a path or a `postgresql://` URL). `create`: a missing SQLite
/// file is made (import); otherwise a missing one is an input error (series, changes).
package func openHistoryDatabase(_ location: String, create: Bool) throws -> HistoryDatabase {
    if isPostgresURL(location) { return try PostgresDatabase(url: location) }
    guard !location.isEmpty else { throw InputError("--db: empty; give a SQLite file's path or a postgresql:// URL") }
    return try SQLiteDatabase(path: location, create: create)
}

/// The database as messages name it: a URL without its password.
public func historyDatabaseName(_ location: String) -> String {
    isPostgresURL(location) ? redactedURL(location) : location
}
