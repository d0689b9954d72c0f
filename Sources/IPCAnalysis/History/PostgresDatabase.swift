import CLibPQ
import Glibc
import IPCPlatform
import IPCModel

/// The history in a lab's PostgreSQL server, through libpq. Parameters travel apart from the SQL
/// (PQexecParams), as text; a refused or dropped connection is a `DatabaseError` naming the server.
package final class PostgresDatabase: HistoryDatabase {
    package let name: String
    package let kind = DatabaseKind.postgresql
    private var connection: OpaquePointer?

    package init(url: String) throws {
        name = redactedURL(url)
        connection = PQconnectdb(url)
        guard let connection, PQstatus(connection) == CONNECTION_OK else {
            let reason = connection.map { clientMessage(String(cString: PQerrorMessage($0))) } ?? "out of memory"
            close()
            throw DatabaseError("\(name): cannot connect to the PostgreSQL server: \(reason)", reason: reason)
        }
        // Notices (a table that already exists, and the like) are not the user's business.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
        try execute("SET application_name = 'ipcbench history'")
    }

    deinit { close() }

    package func close() {
        if let connection { PQfinish(connection) }
        connection = nil
    }

    package func beginWriting() throws { try execute("BEGIN") }

    package func execute(_ sql: String, _ parameters: [SQLValue]) throws {
        _ = try run(sql, parameters)
    }

    package func query(_ sql: String, _ parameters: [SQLValue]) throws -> [[SQLValue]] {
        try run(sql, parameters)
    }

    private func run(_ sql: String, _ parameters: [SQLValue]) throws -> [[SQLValue]] {
        guard let connection else { throw DatabaseError("\(name): the connection is closed") }
        // `?` to libpq's `$1`, `$2`, …: the statements ipcbench writes hold no `?` of their own.
        var numbered = "", n = 0
        for c in sql {
            if c == "?" { n += 1; numbered += "$\(n)" } else { numbered.append(c) }
        }
        var texts: [UnsafeMutablePointer<CChar>?] = parameters.map { value in value.string.map { strdup($0) } ?? nil }
        defer { texts.forEach { free($0) } }
        let result: OpaquePointer? = texts.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: max(buffer.count, 1)) { values in
                PQexecParams(connection, numbered, Int32(parameters.count), nil, parameters.isEmpty ? nil : values, nil, nil, 0)
            }
        }
        defer { PQclear(result) }
        let status = result.map(PQresultStatus) ?? PGRES_FATAL_ERROR
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else {
            let reason = clientMessage(String(cString: PQerrorMessage(connection)))
            if PQstatus(connection) != CONNECTION_OK {
                throw DatabaseError("\(name): the PostgreSQL server dropped the connection: \(reason)", reason: reason)
            }
            throw DatabaseError("\(name): a statement failed: \(reason)", reason: reason)
        }
        let rows = PQntuples(result), columns = PQnfields(result)
        return (0..<rows).map { r in
            (0..<columns).map { c in
                PQgetisnull(result, r, c) != 0 ? .null : .text(String(cString: PQgetvalue(result, r, c)))
            }
        }
    }
}

/// The first line of a client library's message, without its trailing line break.
package func clientMessage(_ text: String) -> String {
    String(text.split(whereSeparator: { $0 == "\n" }).first ?? "").trimmingSpaces()
}

extension String {
    package func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return String(s)
    }
}

/// A connection URL as messages show it: any password replaced by `***`.
package func redactedURL(_ url: String) -> String {
    let parts = url.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
    var base = String(parts[0])
    if let schemeEnd = base.firstIndex(of: "/").map({ base.index($0, offsetBy: 2, limitedBy: base.endIndex) ?? base.endIndex }) {
        let authority = base[schemeEnd...].prefix { $0 != "/" }
        if let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") {
            base = String(base[..<colon]) + ":***" + String(base[at...])
        }
    }
    guard parts.count == 2 else { return base }
    // A password given as a parameter is hidden too.
    let query = parts[1].split(separator: "&", omittingEmptySubsequences: false).map { item in
        item.hasPrefix("password=") ? "password=***" : String(item)
    }
    return base + "?" + query.joined(separator: "&")
}
