import IPCPlatform

/// A TOML value with the line it stood on, so that config errors can name the line.
public indirect enum TOMLValue: Equatable, Sendable {
    case string(String)
    case integer(Int)
    case float(Double)
    case boolean(Bool)
    case array([TOMLValue])
    case table(TOMLTable)
    case tableArray([TOMLTable])

    package var typeName: String {
        switch self {
        case .string: return "a string"
        case .integer: return "an integer"
        case .float: return "a float"
        case .boolean: return "a boolean"
        case .array: return "an array"
        case .table: return "a table"
        case .tableArray: return "an array of tables"
        }
    }
}

/// Keys in the order written, each with its value and line.
public struct TOMLTable: Equatable, Sendable {
    public struct Entry: Equatable, Sendable {
        public var value: TOMLValue
        public var line: Int
    }
    public var line: Int
    public private(set) var keys: [String] = []
    public private(set) var entries: [String: Entry] = [:]

    package init(line: Int) { self.line = line }

    public subscript(key: String) -> Entry? { entries[key] }

    package mutating func set(_ key: String, _ value: TOMLValue, line: Int) {
        if entries[key] == nil { keys.append(key) }
        entries[key] = Entry(value: value, line: line)
    }
}

/// An error in a TOML file, with its line (1-based).
public struct TOMLError: Error, Equatable, CustomStringConvertible {
    public let line: Int
    public let message: String
    /// For an integer too large for Int: the key it was set to and the digits as written, so that
    /// the config reader can name the key's own limit.
    public var key: String? = nil
    public var digits: String? = nil
    public var description: String { "line \(line): \(message)" }
}

/// A parser for the TOML that configs need: comments, `[table]`, `[[array of tables]]`, bare and
/// quoted keys, basic and literal strings, integers, floats, booleans and (multi-line) arrays.
/// Anything else is an error naming the line, never a silent misreading.
public struct TOMLParser {
    private let text: [UInt8]
    private var i = 0
    private var line = 1
    /// The key whose value is being read, for the message about an integer too large for Int.
    private var currentKey = ""

    /// Arrays nest at most this deep; recursion stays bounded on any input.
    public static let maxArrayDepth = 4

    public static func parse(_ source: String) throws -> TOMLTable {
        var parser = TOMLParser(text: Array(source.utf8))
        return try parser.document()
    }

    private init(text: [UInt8]) { self.text = text }

    private var atEnd: Bool { i >= text.count }
    private var current: UInt8 { text[i] }

    private func fail(_ message: String) -> TOMLError { TOMLError(line: line, message: message) }

    private mutating func skipSpaces() {
        while !atEnd, current == UInt8(ascii: " ") || current == UInt8(ascii: "\t") { i += 1 }
    }

    /// Skips spaces, newlines and comments (inside arrays).
    private mutating func skipBlank() {
        while !atEnd {
            switch current {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"): i += 1
            case UInt8(ascii: "\n"): i += 1; line += 1
            case UInt8(ascii: "#"): while !atEnd, current != UInt8(ascii: "\n") { i += 1 }
            default: return
            }
        }
    }

    /// After a statement: only spaces and a comment may follow before the newline.
    private mutating func endOfLine() throws {
        skipSpaces()
        if !atEnd, current == UInt8(ascii: "#") { while !atEnd, current != UInt8(ascii: "\n") { i += 1 } }
        if !atEnd, current == UInt8(ascii: "\r") { i += 1 }
        if atEnd { return }
        guard current == UInt8(ascii: "\n") else { throw fail("unexpected '\(Character(Unicode.Scalar(current)))' after the value; one key = value per line") }
        i += 1
        line += 1
    }

    private mutating func document() throws -> TOMLTable {
        var root = TOMLTable(line: 1)
        // Where `key = value` lines go: the root, a [table], or the last element of a [[table]].
        var target: (name: String, isArray: Bool)? = nil
        var tables: [String: TOMLTable] = [:]
        var tableArrays: [String: [TOMLTable]] = [:]
        var order: [String] = []

        while true {
            skipBlank()
            if atEnd { break }
            if current == UInt8(ascii: "[") {
                let headerLine = line
                i += 1
                let isArray = !atEnd && current == UInt8(ascii: "[")
                if isArray { i += 1 }
                skipSpaces()
                let name = try key()
                skipSpaces()
                guard !atEnd, current == UInt8(ascii: "]") else { throw fail("expected ']' to close the table header") }
                i += 1
                if isArray {
                    guard !atEnd, current == UInt8(ascii: "]") else { throw fail("expected ']]' to close the table header") }
                    i += 1
                }
                try endOfLine()
                if root[name] != nil || (isArray ? tables[name] != nil : (tables[name] != nil || tableArrays[name] != nil)) {
                    throw TOMLError(line: headerLine, message: "[\(excerpt(name))] is defined twice")
                }
                if isArray {
                    if tableArrays[name] == nil { order.append(name) }
                    tableArrays[name, default: []].append(TOMLTable(line: headerLine))
                } else {
                    order.append(name)
                    tables[name] = TOMLTable(line: headerLine)
                }
                target = (name, isArray)
                continue
            }
            let keyLine = line
            let name = try key()
            skipSpaces()
            guard !atEnd, current == UInt8(ascii: "=") else { throw fail("expected '=' after key '\(excerpt(name))'") }
            i += 1
            skipSpaces()
            currentKey = name
            let value = try self.value(depth: 0)
            try endOfLine()
            func put(_ table: inout TOMLTable) throws {
                if table[name] != nil { throw TOMLError(line: keyLine, message: "key '\(excerpt(name))' is set twice") }
                table.set(name, value, line: keyLine)
            }
            switch target {
            case nil:
                try put(&root)
            case let (tableName, false)?:
                try put(&tables[tableName]!)
            case let (tableName, true)?:
                try put(&tableArrays[tableName]![tableArrays[tableName]!.count - 1])
            }
        }
        for name in order {
            if let table = tables[name] {
                root.set(name, .table(table), line: table.line)
            } else if let array = tableArrays[name] {
                root.set(name, .tableArray(array), line: array[0].line)
            }
        }
        return root
    }

    private mutating func key() throws -> String {
        guard !atEnd else { throw fail("expected a key") }
        if current == UInt8(ascii: "\"") || current == UInt8(ascii: "'") {
            return try string()
        }
        let start = i
        while !atEnd, isBareKeyByte(current) { i += 1 }
        guard i > start else { throw fail("expected a key, found '\(Character(Unicode.Scalar(current)))'") }
        if !atEnd, current == UInt8(ascii: ".") { throw fail("dotted keys are not supported; use a [table] header") }
        return String(decoding: text[start..<i], as: UTF8.self)
    }

    private func isBareKeyByte(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
            || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "_") || b == UInt8(ascii: "-")
    }

    private mutating func value(depth: Int) throws -> TOMLValue {
        guard !atEnd, current != UInt8(ascii: "\n") else { throw fail("expected a value after '='") }
        switch current {
        case UInt8(ascii: "\""), UInt8(ascii: "'"):
            return .string(try string())
        case UInt8(ascii: "["):
            guard depth < Self.maxArrayDepth else {
                throw fail("arrays nested more than \(Self.maxArrayDepth) deep; a config needs 1")
            }
            return try array(depth: depth + 1)
        case UInt8(ascii: "{"):
            throw fail("inline tables are not supported; use a [table] header")
        default:
            return try scalar()
        }
    }

    private mutating func string() throws -> String {
        let quote = current
        if i + 2 < text.count, text[i + 1] == quote, text[i + 2] == quote {
            throw fail("multi-line strings are not supported")
        }
        i += 1
        var bytes: [UInt8] = []
        while true {
            guard !atEnd, current != UInt8(ascii: "\n") else { throw fail("unterminated string") }
            let b = current
            i += 1
            if b == quote { break }
            if b == UInt8(ascii: "\\") && quote == UInt8(ascii: "\"") {
                guard !atEnd else { throw fail("unterminated string") }
                let e = current
                i += 1
                switch e {
                case UInt8(ascii: "\""): bytes.append(e)
                case UInt8(ascii: "\\"): bytes.append(e)
                case UInt8(ascii: "n"): bytes.append(UInt8(ascii: "\n"))
                case UInt8(ascii: "t"): bytes.append(UInt8(ascii: "\t"))
                default: throw fail("unsupported escape '\\\(Character(Unicode.Scalar(e)))' in a string")
                }
            } else {
                bytes.append(b)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private mutating func array(depth: Int) throws -> TOMLValue {
        i += 1  // [
        var items: [TOMLValue] = []
        while true {
            skipBlank()
            guard !atEnd else { throw fail("unterminated array: expected ']'") }
            if current == UInt8(ascii: "]") { i += 1; return .array(items) }
            items.append(try value(depth: depth))
            skipBlank()
            guard !atEnd else { throw fail("unterminated array: expected ']'") }
            if current == UInt8(ascii: ",") { i += 1; continue }
            guard current == UInt8(ascii: "]") else { throw fail("expected ',' or ']' in an array") }
        }
    }

    private mutating func scalar() throws -> TOMLValue {
        let start = i
        while !atEnd, ![UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"), UInt8(ascii: "\n"),
                        UInt8(ascii: ","), UInt8(ascii: "]"), UInt8(ascii: "#")].contains(current) { i += 1 }
        let word = String(decoding: text[start..<i], as: UTF8.self)
        if word == "true" { return .boolean(true) }
        if word == "false" { return .boolean(false) }
        let digits = word.replacingUnderscores()
        if let n = Int(digits) { return .integer(n) }
        let unsigned = digits.hasPrefix("-") || digits.hasPrefix("+") ? digits.dropFirst() : Substring(digits)
        if !unsigned.isEmpty, unsigned.allSatisfy({ $0.isASCII && $0.isNumber }) {
            var error = fail("\(currentKey) \(excerpt(word)) does not fit a 64-bit integer; use a smaller number")
            error.key = currentKey
            error.digits = word
            throw error
        }
        if digits.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }), let d = Double(digits) { return .float(d) }
        throw fail("'\(excerpt(word))' is not a TOML value; put text in quotes, for example \"\(excerpt(word))\"")
    }
}

extension String {
    package func replacingUnderscores() -> String { String(filter { $0 != "_" }) }
}
